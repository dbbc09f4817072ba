package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

func TestTokenEndpointStrictness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		body   string
		want   int
	}{
		{"minimal", "POST", `{"sub":"u1"}`, 200},
		{"all fields", "POST", `{"sub":"u1","scope":"mfa/admin","email":"a@example.com","email_verified":true}`, 200},
		{"unknown field", "POST", `{"sub":"u1","scopes":"mfa/admin"}`, 400},
		{"missing sub", "POST", `{"scope":"mfa/admin"}`, 400},
		{"blank sub", "POST", `{"sub":"  "}`, 400},
		{"wrong type", "POST", `{"sub":42}`, 400},
		{"not json", "POST", `sub=u1`, 400},
		{"empty", "POST", ``, 400},
		{"two objects", "POST", `{"sub":"u1"}{"sub":"u2"}`, 400},
		{"over 64 KiB", "POST", `{"sub":"` + strings.Repeat("a", maxTokenBody) + `"}`, 413},
		{"GET", "GET", ``, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			rec := s.do(newRequest(tc.method, "/local/token", strings.NewReader(tc.body), "Content-Type", "application/json"))
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want != http.StatusOK {
				return
			}
			var got tokenResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.AccessToken == "" || got.TokenType != "Bearer" || got.ExpiresIn != 3600 {
				t.Errorf("response = %+v", got)
			}
			if _, err := s.g.issuer.verify(got.AccessToken, testNow); err != nil {
				t.Errorf("issued token does not verify: %v", err)
			}
		})
	}
}

// TestTokenVerifiesAgainstJWKS checks the dev issuer with go-jose, an implementation
// independent of the one that signs, over a real loopback server.
func TestTokenVerifiesAgainstJWKS(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	srv := httptest.NewServer(s.g)
	t.Cleanup(srv.Close)

	var tr tokenResponse
	getJSON(t, srv.Client(), http.MethodPost, srv.URL+"/local/token",
		`{"sub":"u1","scope":"mfa/service openid","email":"a@example.com","email_verified":true}`, &tr)
	var jwks jose.JSONWebKeySet
	getJSON(t, srv.Client(), http.MethodGet, srv.URL+"/local/jwks.json", "", &jwks)

	tok, err := josejwt.ParseSigned(tr.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	kid := tok.Headers[0].KeyID
	keys := jwks.Key(kid)
	if kid == "" || len(keys) != 1 || keys[0].Algorithm != "ES256" || keys[0].Use != "sig" || !keys[0].IsPublic() {
		t.Fatalf("kid %q → keys %+v, want one public ES256 signing key", kid, keys)
	}
	var std josejwt.Claims
	var extra struct {
		TokenUse      string `json:"token_use"`
		Scope         string `json:"scope"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	err = std.ValidateWithLeeway(josejwt.Expected{
		Issuer:      testIssuer,
		Subject:     "u1",
		AnyAudience: josejwt.Audience{testAudience},
		Time:        testNow,
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if std.ID == "" || std.NotBefore == nil || std.Expiry.Time().Sub(std.IssuedAt.Time()) != time.Hour {
		t.Errorf("claims = %+v, want jti, nbf and a one-hour life", std)
	}
	if extra.TokenUse != "access" || extra.Scope != "mfa/service openid" || extra.Email != "a@example.com" || !extra.EmailVerified {
		t.Errorf("extra claims = %+v", extra)
	}

	// A token signed by another run's key must not verify against this JWKS.
	other := newStack(t).token(t, TokenRequest{Sub: "u1"})
	otherTok, err := josejwt.ParseSigned(other, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if err := otherTok.Claims(keys[0].Key, &std); err == nil {
		t.Error("a token from another dev issuer verified")
	}
}

// TestOverTCP serves through a real loopback listener: sourceIp is the TCP peer
// whatever X-Forwarded-For says.
func TestOverTCP(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	srv := httptest.NewServer(s.g)
	t.Cleanup(srv.Close)

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/users/u1/factors/f1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token(t, TokenRequest{Sub: "u1"}))
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Apigw-Requestid") == "" {
		t.Fatalf("status = %d, apigw-requestid %q", resp.StatusCode, resp.Header.Get("Apigw-Requestid"))
	}
	ev := s.funcs["Factor"].only(t)
	if ev.RequestContext.HTTP.SourceIP != "127.0.0.1" {
		t.Errorf("sourceIp = %q, want the TCP peer 127.0.0.1", ev.RequestContext.HTTP.SourceIP)
	}
	if port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]; ev.Headers["x-forwarded-port"] != port {
		t.Errorf("x-forwarded-port = %q, want %q", ev.Headers["x-forwarded-port"], port)
	}
	if ev.RequestContext.DomainPrefix != "127.0.0.1" {
		t.Errorf("domainPrefix = %q", ev.RequestContext.DomainPrefix)
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	sent := []Message{{Channel: "email", Destination: "a@example.com", Subject: "Code", Body: "123456", SentAt: testNow}}
	tests := []struct {
		name   string
		outbox func(context.Context) ([]Message, error)
		want   int
		body   string
	}{
		{"no outbox", nil, 200, `{"messages":[]}`},
		{"empty outbox", func(context.Context) ([]Message, error) { return nil, nil }, 200, `{"messages":[]}`},
		{"messages", func(context.Context) ([]Message, error) { return sent, nil }, 200,
			`{"messages":[{"channel":"email","destination":"a@example.com","subject":"Code","body":"123456","sentAt":"2025-12-31T23:00:00Z"}]}`},
		{"failing outbox", func(context.Context) ([]Message, error) { return nil, errBoom }, 500, `{"message":"Internal Server Error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, func(o *Options) { o.Outbox = tc.outbox })
			rec := s.do(newRequest(http.MethodGet, "/local/outbox", nil))
			if rec.Code != tc.want || rec.Body.String() != tc.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tc.want, tc.body)
			}
		})
	}
}

// TestRequestLogLine: one line per request, in one key style. A request the gateway
// answers itself is logged by the gateway; a request handed to a function is logged by the
// function alone (as in Lambda), so the gateway adds no second line.
func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tok := s.token(t, TokenRequest{Sub: "u1"})
	s.logs.Reset()

	// Refused by the authorizer: the gateway's own answer, one line.
	rec := s.do(newRequest(http.MethodPost, "/v1/users/u1/enrollments", strings.NewReader(`{"secret":"JBSWY3DPEHPK3PXP"}`),
		"Authorization", "Bearer "+tok+"x", "Content-Type", "application/json"))
	var line struct {
		Msg        string   `json:"msg"`
		Route      string   `json:"route"`
		Status     int      `json:"status"`
		DurationMS *float64 `json:"durationMs"`
		RequestID  string   `json:"requestId"`
	}
	logs := s.logs.String()
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs)), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q: %v", logs, err)
	}
	if line.Msg != "request" || line.Route != "POST /v1/users/{userId}/enrollments" ||
		line.Status != 401 || line.DurationMS == nil || line.RequestID != rec.Header().Get("Apigw-Requestid") {
		t.Errorf("log line = %+v", line)
	}
	for _, key := range []string{`"duration_ms"`, `"request_id"`} {
		if strings.Contains(logs, key) {
			t.Errorf("log line uses the other key style %s: %s", key, logs)
		}
	}

	// Handed to the function: the function logs it; the gateway writes nothing.
	s.logs.Reset()
	rec = s.do(newRequest(http.MethodPost, "/v1/users/u1/enrollments", strings.NewReader(`{"secret":"JBSWY3DPEHPK3PXP"}`),
		append(bearer(tok), "Content-Type", "application/json")...))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if got := s.logs.String(); got != "" {
		t.Errorf("gateway logged a request a function answered: %q", got)
	}
	for _, secret := range []string{tok, "JBSWY3DPEHPK3PXP", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	h := map[string]Handler{"Fn": (&fakeFunc{}).handle}
	tests := []struct {
		name   string
		routes []samtemplate.Route
		issuer string
	}{
		{"function without handler", []samtemplate.Route{{FunctionID: "Missing", Method: "GET", Path: "/x"}}, testIssuer},
		{"variable inside a segment", []samtemplate.Route{{FunctionID: "Fn", Method: "GET", Path: "/x/a{id}"}}, testIssuer},
		{"greedy not last", []samtemplate.Route{{FunctionID: "Fn", Method: "GET", Path: "/x/{p+}/y"}}, testIssuer},
		{"empty variable", []samtemplate.Route{{FunctionID: "Fn", Method: "GET", Path: "/x/{}"}}, testIssuer},
		{"reserved local path", []samtemplate.Route{{FunctionID: "Fn", Method: "POST", Path: "/local/token"}}, testIssuer},
		{"duplicate route", []samtemplate.Route{{FunctionID: "Fn", Method: "GET", Path: "/x"}, {FunctionID: "Fn", Method: "GET", Path: "/x"}}, testIssuer},
		{"no issuer", nil, ""},
	}
	for _, tc := range tests {
		if _, err := New(Options{Routes: tc.routes, Handlers: h, Issuer: tc.issuer, Audience: testAudience}); err == nil {
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
}

func TestRoutesFromProjectTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]Handler{}
	for _, fn := range tpl.Functions() {
		handlers[fn] = (&fakeFunc{}).handle
	}
	g, err := New(Options{Routes: routes, Handlers: handlers, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("public jwks route: status %d", rec.Code)
	}
}

func getJSON(t *testing.T, c *http.Client, method, url, body string, into any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !slices.Contains(resp.Header.Values("Content-Type"), "application/json") {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatal(errors.Join(err, errors.New(string(raw))))
	}
}
