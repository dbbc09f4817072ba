package localapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

const (
	testIssuer   = "http://localhost:3000/local"
	testAudience = "mfa-local"
)

// testNow makes exp of a one-hour token 1767225600 (2026-01-01T00:00:00Z).
var testNow = time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)

// fakeFunc is a Lambda handler that records every event it receives.
type fakeFunc struct {
	mu      sync.Mutex
	events  []events.APIGatewayV2HTTPRequest
	ctxs    []context.Context
	respond func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

func (f *fakeFunc) handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.ctxs = append(f.ctxs, ctx)
	f.mu.Unlock()
	if f.respond != nil {
		return f.respond(ev)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: `{"ok":true}`}, nil
}

func (f *fakeFunc) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// only returns the single event the function received.
func (f *fakeFunc) only(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) != 1 {
		t.Fatalf("handler called %d times, want 1", len(f.events))
	}
	return f.events[0]
}

var testRoutes = []samtemplate.Route{
	{FunctionID: "Enrollment", Method: "POST", Path: "/v1/users/{userId}/enrollments"},
	{FunctionID: "Factor", Method: "GET", Path: "/v1/users/{userId}/factors/{factorId}"},
	{FunctionID: "Latest", Method: "GET", Path: "/v1/users/{userId}/factors/latest"},
	{FunctionID: "Admin", Method: "GET", Path: "/v1/admin/users/{userId}", Scopes: []string{"mfa/admin", "mfa/support"}},
	{FunctionID: "Jwks", Method: "GET", Path: "/.well-known/jwks.json", NoAuth: true},
	{FunctionID: "Files", Method: "ANY", Path: "/files/{path+}", NoAuth: true},
	{FunctionID: "Echo", Method: "POST", Path: "/echo", NoAuth: true},
}

// lockedBuffer lets the logger and the test share a buffer under -race.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testStack struct {
	g     *Gateway
	funcs map[string]*fakeFunc
	logs  *lockedBuffer
}

func newStack(t *testing.T, mutate ...func(*Options)) *testStack {
	t.Helper()
	s := &testStack{funcs: map[string]*fakeFunc{}, logs: &lockedBuffer{}}
	handlers := map[string]Handler{}
	for _, r := range testRoutes {
		if s.funcs[r.FunctionID] == nil {
			s.funcs[r.FunctionID] = &fakeFunc{}
			handlers[r.FunctionID] = s.funcs[r.FunctionID].handle
		}
	}
	opts := Options{
		Routes:   testRoutes,
		Handlers: handlers,
		Issuer:   testIssuer,
		Audience: testAudience,
		Logger:   slog.New(slog.NewJSONHandler(s.logs, nil)),
		Now:      func() time.Time { return testNow },
	}
	for _, m := range mutate {
		m(&opts)
	}
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.g = g
	return s
}

// do serves one request in-process.
func (s *testStack) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.g.ServeHTTP(rec, req)
	return rec
}

func (s *testStack) token(t *testing.T, c TokenRequest) string {
	t.Helper()
	tok, err := s.g.IssueToken(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claims are valid dev-token claims at testNow, to be altered by a test.
func (s *testStack) claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"sub": "user-1",
		"aud": testAudience,
		"iat": testNow.Unix(),
		"nbf": testNow.Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

// signDev signs claims with the gateway's own dev key.
func (s *testStack) signDev(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodES256, s.g.issuer.key, s.g.issuer.kid, claims)
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func otherKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRequest(method, target string, body io.Reader, header ...string) *http.Request {
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

var errBoom = errors.New("boom")

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
