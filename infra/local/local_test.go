package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
	"github.com/mfa-service/mfa/pkg/webui"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var stackSeq atomic.Int32

// newStack runs the local stack against the harness moto on a free loopback port.
func newStack(t *testing.T) *stack {
	t.Helper()
	n := stackSeq.Add(1)
	s, err := startStack(context.Background(), stackOptions{
		MotoEndpoint: awstest.Endpoint(),
		Names:        localaws.Names{Table: fmt.Sprintf("local-e2e-%d", n), KeyAlias: fmt.Sprintf("alias/local-e2e-%d", n), SenderEmail: "mfa@example.com"},
		Log:          httpapi.NewLogger(io.Discard, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

type client struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
	stack *stack // the stack base is served by, when known
}

// auditSettled waits until the stack's audit writer has copied every answer's event written
// so far into the audit log (Lambda's does it from the table's stream within about a second).
func (s *stack) auditSettled(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.audit.settled(ctx); err != nil {
		t.Fatalf("audit writer: %v", err)
	}
}

func (c *client) call(method, path string, body any, headers ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (s *stack) client(t *testing.T, sub string, scope ...string) *client {
	c := &client{t: t, base: s.URL, hc: &http.Client{Timeout: 10 * time.Second}}
	req := map[string]any{"sub": sub}
	if len(scope) > 0 {
		req["scope"] = strings.Join(scope, " ")
	}
	status, out, _ := c.call("POST", "/local/token", req)
	if status != 200 {
		t.Fatalf("dev token: %d %v", status, out)
	}
	c.token = out["access_token"].(string)
	return c
}

func decodeB32(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func code(secret []byte, at time.Time, steps int64) string {
	m := hmac.New(sha1.New, secret)
	_ = binary.Write(m, binary.BigEndian, at.Unix()/30+steps)
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

func TestEveryTemplateRouteIsServed(t *testing.T) {
	s := newStack(t)
	user := s.client(t, "alice")
	admin := s.client(t, "root", "mfa/admin")
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil || len(routes) == 0 {
		t.Fatalf("routes: %v", err)
	}
	fill := strings.NewReplacer("{userId}", "alice", "{enrollmentId}", strings.Repeat("a", 26), "{factorId}", strings.Repeat("a", 26), "{challengeId}", strings.Repeat("a", 26))
	for _, r := range routes {
		c := user
		if len(r.Scopes) > 0 {
			c = admin
			// And a token without the route's scope is refused by the authorizer.
			if status, _, _ := user.call(r.Method, fill.Replace(r.Path), map[string]any{}); status != 403 {
				t.Errorf("%s without its scope: %d, want 403", r.RouteKey(), status)
			}
		}
		status, body, hdr := c.call(r.Method, fill.Replace(r.Path), map[string]any{})
		// The gateway's own "no route" answer is {"message":"Not Found"}; a handler answers
		// with JSON or a problem carrying a code.
		if body["message"] == "Not Found" || status >= 500 {
			t.Errorf("%s is not served: %d %v", r.RouteKey(), status, body)
		}
		if status >= 400 && hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s answered %d without a problem: %v", r.RouteKey(), status, body)
		}
	}
	// And the handlers serve exactly the template's routes.
	served := map[string]bool{}
	for fn, keys := range s.App.API.RouteKeys() {
		for _, k := range keys {
			served[fn+" "+k] = true
		}
	}
	for _, k := range webui.RouteKeys() {
		served["UiFunction "+k] = true
	}
	for _, r := range routes {
		if !served[r.FunctionID+" "+r.RouteKey()] {
			t.Errorf("template route %s of %s has no handler route", r.RouteKey(), r.FunctionID)
		}
		delete(served, r.FunctionID+" "+r.RouteKey())
	}
	for k := range served {
		t.Errorf("handler route %s is not in template.yaml", k)
	}
}

func TestWalkthroughThroughTheLocalGateway(t *testing.T) {
	s := newStack(t)
	anon := &client{t: t, base: s.URL, hc: &http.Client{Timeout: 10 * time.Second}}
	if status, _, _ := anon.call("GET", "/v1/users/me/factors", nil); status != 401 {
		t.Fatalf("no token: %d", status)
	}
	c := s.client(t, "alice")

	status, enr, _ := c.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp", "label": "Phone"})
	if status != 201 {
		t.Fatalf("enroll: %d %v", status, enr)
	}
	b32 := enr["totp"].(map[string]any)["secret"].(string)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b32)
	if err != nil {
		t.Fatal(err)
	}
	// Use the previous step for enrollment so the current one is free for sign-in.
	status, out, _ := c.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, time.Now(), -1)})
	if status != 200 {
		t.Fatalf("complete: %d %v", status, out)
	}
	factorID := out["factor"].(map[string]any)["id"].(string)

	status, ch, _ := c.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "sign_in"})
	if status != 201 || ch["mfaRequired"] != true || ch["defaultFactorId"] != factorID {
		t.Fatalf("challenge: %d %v", status, ch)
	}
	now := code(secret, time.Now(), 0)
	status, ver, _ := c.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": factorID, "code": now})
	if status != 200 {
		t.Fatalf("verify: %d %v", status, ver)
	}
	mfaToken := ver["mfaToken"].(string)

	// An app checks the mfaToken against the JWKS, independently of this service's code.
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, err := josejwt.ParseSigned(mfaToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not published", tok.Headers[0].KeyID)
	}
	var claims josejwt.Claims
	var extra struct {
		AMR        []string `json:"amr"`
		FactorType string   `json:"factor_type"`
	}
	if err := tok.Claims(keys[0].Key, &claims, &extra); err != nil {
		t.Fatalf("mfaToken does not verify with the JWKS: %v", err)
	}
	if err := claims.Validate(josejwt.Expected{Issuer: s.App.Config.MFATokenIssuer, AnyAudience: []string{s.App.Config.MFATokenAudience}, Subject: "alice", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if extra.FactorType != "totp" || len(extra.AMR) == 0 || extra.AMR[0] != "otp" {
		t.Errorf("claims: %+v", extra)
	}

	// The replayed code on a fresh challenge is refused with problem+json 401.
	_, ch2, _ := c.call("POST", "/v1/users/me/challenges", map[string]any{})
	status, prob, hdr := c.call("POST", "/v1/users/me/challenges/"+ch2["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": factorID, "code": now})
	if status != 401 || prob["code"] != "verification_failed" || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("replay: %d %v %v", status, prob, hdr)
	}

	// The outbox endpoint exists and lists nothing yet.
	if status, box, _ := anon.call("GET", "/local/outbox", nil); status != 200 || box["messages"] == nil {
		t.Errorf("outbox: %d %v", status, box)
	}
}
