package main

// Named attacks on the service through the local gateway (issue 9, part 1). Each test drives
// the real handlers over HTTP, asserts the refusal, and asserts that nothing changed.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mfa-service/mfa/pkg/dynamoclient/dynamoclienttest"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/samtemplate"
	"github.com/mfa-service/mfa/pkg/token"
)

// ---- helpers (prefixed atk: other files of this package are edited concurrently) ----

// atkHTTP is shared by the clients of these tests: the concurrency attacks open hundreds of
// requests at once.
var atkHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// atkResp is one HTTP answer. Err is a transport failure; it is returned, not fatal, so that
// goroutines can use it.
type atkResp struct {
	Status int
	Body   map[string]any
	Header http.Header
	Raw    string
	Err    error
}

func (r atkResp) code() string          { c, _ := r.Body["code"].(string); return c }
func (r atkResp) str(key string) string { v, _ := r.Body[key].(string); return v }
func (r atkResp) String() string {
	raw := r.Raw
	if len(raw) > 300 {
		raw = raw[:300] + "…"
	}
	if r.Err != nil {
		return "transport error: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %s", r.Status, raw)
}

// isProblem reports whether r is an RFC 9457 problem with a code, as the handlers write them.
func (r atkResp) isProblem() bool {
	return r.Header.Get("Content-Type") == "application/problem+json" && r.code() != ""
}

// atkSend sends body as is (nil: no body) with the client's token, if any. Headers come in
// name, value pairs; a Content-Type among them replaces the default application/json.
func atkSend(c *client, method, path string, body []byte, headers ...string) atkResp {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return atkResp{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return atkResp{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := atkResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw), Err: err}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// atkJSON sends v as JSON (nil: no body).
func atkJSON(c *client, method, path string, v any, headers ...string) atkResp {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return atkResp{Err: err}
		}
	}
	return atkSend(c, method, path, body, headers...)
}

// atkCall is atkJSON for the test goroutine: a transport failure ends the test.
func atkCall(t *testing.T, c *client, method, path string, v any, headers ...string) atkResp {
	t.Helper()
	r := atkJSON(c, method, path, v, headers...)
	if r.Err != nil {
		t.Fatalf("%s %s: %v", method, path, r.Err)
	}
	return r
}

// atkClient is a client with a dev token issued directly by the gateway.
func atkClient(t *testing.T, s *stack, req localapi.TokenRequest) *client {
	t.Helper()
	tok, err := s.Gateway.IssueToken(req, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: s.URL, token: tok, hc: atkHTTP, stack: s}
}

func atkUser(t *testing.T, s *stack, sub string, scope ...string) *client {
	return atkClient(t, s, localapi.TokenRequest{Sub: sub, Scope: strings.Join(scope, " ")})
}

func atkAnon(s *stack) *client { return &client{base: s.URL, hc: atkHTTP} }

// atkClock is a settable clock for the service (Service.Now).
type atkClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *atkClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *atkClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// atkClockedStack is a stack whose service runs on a frozen clock, set before its first
// request. The gateway (token expiry) keeps real time.
func atkClockedStack(t *testing.T) (*stack, *atkClock) {
	s := newStack(t)
	clk := &atkClock{t: time.Now().UTC().Truncate(time.Second)}
	s.App.Core.Now = clk.Now
	return s, clk
}

type atkTOTP struct {
	id, b32    string
	secret     []byte
	enrollCode string
	backup     []string
}

// atkEnrollTOTP enrolls an authenticator app for the client's own user, completing with the
// code of the given step relative to at.
func atkEnrollTOTP(t *testing.T, c *client, at time.Time, steps int64, headers ...string) atkTOTP {
	t.Helper()
	began := time.Now()
	r := atkCall(t, c, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"}, headers...)
	if r.Status != 201 {
		t.Fatalf("start totp enrollment: %v", r)
	}
	var out atkTOTP
	out.b32 = r.Body["totp"].(map[string]any)["secret"].(string)
	out.secret = decodeB32(t, out.b32)
	// at moves on with the clock while the start request runs: on a loaded machine a slow
	// start must not age the code out of the ±1-step window.
	out.enrollCode = code(out.secret, at.Add(time.Since(began)), steps)
	done := atkCall(t, c, "POST", "/v1/users/me/enrollments/"+r.str("enrollmentId")+"/complete", map[string]any{"code": out.enrollCode}, headers...)
	if done.Status != 200 {
		t.Fatalf("complete totp enrollment: %v", done)
	}
	out.id = done.Body["factor"].(map[string]any)["id"].(string)
	for _, b := range asList(done.Body["backupCodes"]) {
		out.backup = append(out.backup, b.(string))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// atkOpen opens a challenge for user ("me" for a user token) and returns its id.
func atkOpen(t *testing.T, c *client, user string, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	r := atkCall(t, c, "POST", "/v1/users/"+user+"/challenges", body)
	if r.Status != 201 || r.str("challengeId") == "" {
		t.Fatalf("open challenge for %s: %v", user, r)
	}
	return r.str("challengeId")
}

func atkVerify(c *client, user, cid string, body map[string]any, headers ...string) atkResp {
	return atkJSON(c, "POST", "/v1/users/"+user+"/challenges/"+cid+"/verifications", body, headers...)
}

// atkStatus is the admin view of a user.
func atkStatus(t *testing.T, admin *client, user string) map[string]any {
	t.Helper()
	r := atkCall(t, admin, "GET", "/v1/admin/users/"+user, nil)
	if r.Status != 200 {
		t.Fatalf("admin status of %s: %v", user, r)
	}
	return r.Body
}

func atkEvents(t *testing.T, admin *client, user string) []map[string]any {
	t.Helper()
	admin.stack.auditSettled(t)
	r := atkCall(t, admin, "GET", "/v1/admin/users/"+user+"/events?limit=200", nil)
	if r.Status != 200 {
		t.Fatalf("events of %s: %v", user, r)
	}
	var out []map[string]any
	for _, e := range asList(r.Body["events"]) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// atkSnapshot is everything an attack on users could change, as the admin API shows it.
func atkSnapshot(t *testing.T, admin *client, users ...string) string {
	t.Helper()
	all := map[string]any{}
	for _, u := range users {
		all[u+" status"] = atkStatus(t, admin, u)
		all[u+" events"] = atkEvents(t, admin, u)
	}
	raw, _ := json.MarshalIndent(all, "", " ")
	return string(raw)
}

// atkWrongCode is a 6-digit code that none of the steps near at accepts.
func atkWrongCode(secret []byte, at time.Time, salt int) string {
	valid := map[string]bool{}
	for st := int64(-3); st <= 3; st++ {
		valid[code(secret, at, st)] = true
	}
	for i := salt; ; i++ {
		c := fmt.Sprintf("%06d", (i*7919+104729)%1_000_000)
		if !valid[c] {
			return c
		}
	}
}

func atkFactorID(t *testing.T, c *client, typ string) string {
	t.Helper()
	r := atkCall(t, c, "GET", "/v1/users/me/factors", nil)
	for _, f := range asList(r.Body["factors"]) {
		if m := f.(map[string]any); m["type"] == typ {
			return m["id"].(string)
		}
	}
	t.Fatalf("no %s factor: %v", typ, r)
	return ""
}

func atkJWKS(t *testing.T, s *stack) jose.JSONWebKeySet {
	t.Helper()
	r := atkCall(t, atkAnon(s), "GET", "/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if r.Status != 200 || json.Unmarshal([]byte(r.Raw), &set) != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", r)
	}
	return set
}

// atkAppVerify checks an mfaToken the way an integrating app does: go-jose, ES256 only, the
// key named by kid from the published JWKS, then iss, aud, sub and time.
func atkAppVerify(set jose.JSONWebKeySet, raw, issuer, audience, sub string, now time.Time) error {
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return fmt.Errorf("kid %q is not published", tok.Headers[0].KeyID)
	}
	var claims josejwt.Claims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	return claims.ValidateWithLeeway(josejwt.Expected{Issuer: issuer, AnyAudience: []string{audience}, Subject: sub, Time: now}, 5*time.Second)
}

// atkLogBuffer collects log lines written by concurrent handlers.
type atkLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *atkLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *atkLogBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func atkFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func atkNames(prefix string) localaws.Names {
	n := stackSeq.Add(1)
	return localaws.Names{Table: fmt.Sprintf("local-%s-%d", prefix, n), KeyAlias: fmt.Sprintf("alias/local-%s-%d", prefix, n), SenderEmail: "mfa@example.com"}
}

// ---- the attacks ----

// TestAttackSkipChallenge: a first-factor-only session (an access token, no mfaToken) tries to
// get past the second factor or take over the account's factors.
func TestAttackSkipChallenge(t *testing.T) {
	s := newStack(t)
	admin := atkUser(t, s, "skip-admin", "mfa/admin")
	victim := atkUser(t, s, "skip-victim")
	verified := true
	victimWithEmail := atkClient(t, s, localapi.TokenRequest{Sub: "skip-victim", Email: "skip-victim@example.com", EmailVerified: &verified})
	other := atkUser(t, s, "skip-other")

	// An enrollment started while the user had no factor (no step-up needed then), left pending.
	pending := atkCall(t, victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
	if pending.Status != 201 {
		t.Fatalf("pending enrollment: %v", pending)
	}
	pendingSecret := decodeB32(t, pending.Body["totp"].(map[string]any)["secret"].(string))
	f := atkEnrollTOTP(t, victim, time.Now(), -1)
	backupID := atkFactorID(t, victim, "backup_codes")
	otherTOTP := atkEnrollTOTP(t, other, time.Now(), -1)
	otherCID := atkOpen(t, other, "me", nil)

	before := atkSnapshot(t, admin, "skip-victim", "skip-other")
	for _, a := range []struct {
		name         string
		c            *client
		method, path string
		body         any
		status       int
		code         string // "" for the authorizer's own refusal
	}{
		{"add a second authenticator", victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"}, 403, "step_up_required"},
		{"add the attacker's email", victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "email", "email": "attacker@example.net"}, 403, "step_up_required"},
		{"add the token's own verified email (bound at once otherwise)", victimWithEmail, "POST", "/v1/users/me/enrollments", map[string]any{"type": "email", "email": "skip-victim@example.com"}, 403, "step_up_required"},
		{"add a passkey", victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "webauthn"}, 403, "step_up_required"},
		{"claim preVerified like a service", victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "email", "email": "attacker@example.net", "preVerified": true}, 403, "forbidden"},
		{"complete an enrollment started before the first factor", victim, "POST", "/v1/users/me/enrollments/" + pending.str("enrollmentId") + "/complete", map[string]any{"code": code(pendingSecret, time.Now(), 0)}, 403, "step_up_required"},
		{"remove the authenticator", victim, "DELETE", "/v1/users/me/factors/" + f.id, nil, 403, "step_up_required"},
		{"remove the backup codes", victim, "DELETE", "/v1/users/me/factors/" + backupID, nil, 403, "step_up_required"},
		{"regenerate backup codes", victim, "POST", "/v1/users/me/backup-codes", map[string]any{}, 403, "step_up_required"},
		{"regenerate backup codes (no body)", victim, "POST", "/v1/users/me/backup-codes", nil, 403, "step_up_required"},
		{"list another user's factors", victim, "GET", "/v1/users/skip-other/factors", nil, 403, "forbidden"},
		{"list another user's devices", victim, "GET", "/v1/users/skip-other/devices", nil, 403, "forbidden"},
		{"open a challenge for another user", victim, "POST", "/v1/users/skip-other/challenges", map[string]any{}, 403, "forbidden"},
		{"answer another user's challenge", victim, "POST", "/v1/users/skip-other/challenges/" + otherCID + "/verifications", map[string]any{"type": "totp", "code": code(otherTOTP.secret, time.Now(), 0)}, 403, "forbidden"},
		{"remove another user's factor", victim, "DELETE", "/v1/users/skip-other/factors/" + otherTOTP.id, nil, 403, "forbidden"},
		{"another user's id in other case", victim, "GET", "/v1/users/SKIP-OTHER/factors", nil, 403, "forbidden"},
		{"admin status of another user", victim, "GET", "/v1/admin/users/skip-other", nil, 403, ""},
		{"admin events of another user", victim, "GET", "/v1/admin/users/skip-other/events", nil, 403, ""},
		{"admin reset of itself", victim, "DELETE", "/v1/admin/users/skip-victim/factors", nil, 403, ""},
		{"admin unlock of itself", victim, "POST", "/v1/admin/users/skip-victim/unlock", nil, 403, ""},
	} {
		r := atkCall(t, a.c, a.method, a.path, a.body)
		if r.Status != a.status || r.code() != a.code || r.Body["mfaToken"] != nil || r.Body["backupCodes"] != nil {
			t.Errorf("%s: %v, want %d %q", a.name, r, a.status, a.code)
		}
	}
	// A path that smuggles another user's id past the route: never that user's data.
	for _, p := range []string{"/v1/users/skip-victim%2F..%2Fskip-other/factors", "/v1/users/me/../skip-other/factors", "/v1/users/skip-victim/../skip-other/factors"} {
		r := atkCall(t, victim, "GET", p, nil)
		if r.Status < 400 || r.Status >= 500 || strings.Contains(r.Raw, otherTOTP.id) {
			t.Errorf("GET %s: %v", p, r)
		}
	}
	if after := atkSnapshot(t, admin, "skip-victim", "skip-other"); after != before {
		t.Errorf("a refused request changed state:\nbefore %s\nafter  %s", before, after)
	}

	// No mfaToken without the second factor, whatever the first-factor session sends.
	cid := atkOpen(t, victim, "me", map[string]any{"deviceToken": base64.RawURLEncoding.EncodeToString(make([]byte, 32))})
	forgedMFA := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"skip-victim","auth_time":9999999999}`)) + "."
	for _, a := range []struct {
		name    string
		body    map[string]any
		headers []string
		status  int
		code    string
	}{
		{"no code", map[string]any{"type": "totp", "factorId": f.id}, nil, 400, "invalid_code"},
		{"empty code", map[string]any{"type": "totp", "factorId": f.id, "code": ""}, nil, 400, "invalid_code"},
		{"wrong code", map[string]any{"type": "totp", "factorId": f.id, "code": atkWrongCode(f.secret, time.Now(), 1)}, nil, 401, "verification_failed"},
		{"the enrollment code again", map[string]any{"type": "totp", "factorId": f.id, "code": f.enrollCode}, nil, 401, "verification_failed"},
		{"another user's factor", map[string]any{"type": "totp", "factorId": otherTOTP.id, "code": code(otherTOTP.secret, time.Now(), 0)}, nil, 404, "factor_not_found"},
		{"a made-up backup code", map[string]any{"type": "backup_codes", "code": "aaaa-bbbb-cccc-dddd"}, nil, 401, "verification_failed"},
		{"a factor type the user lacks", map[string]any{"type": "email", "code": "123456"}, nil, 404, "factor_not_found"},
		{"an empty passkey assertion", map[string]any{"type": "webauthn", "credential": map[string]any{}}, nil, 404, "factor_not_found"},
		{"a forged mfaToken header", map[string]any{"type": "totp", "factorId": f.id, "code": "123456"}, []string{"X-MFA-Token", forgedMFA}, 401, "invalid_mfa_token"},
	} {
		r := atkVerify(victim, "me", cid, a.body, a.headers...)
		if r.Err != nil || r.Status != a.status || r.code() != a.code || r.Body["mfaToken"] != nil {
			t.Errorf("verify with %s: %v, want %d %q", a.name, r, a.status, a.code)
		}
	}
	// Another user's open challenge, named under the attacker's own id: not found.
	if r := atkVerify(victim, "me", otherCID, map[string]any{"type": "totp", "code": code(otherTOTP.secret, time.Now(), 0)}); r.Status != 404 || r.code() != "challenge_not_found" {
		t.Errorf("another user's challenge under my id: %v", r)
	}
	// A user with no factor is not asked; nothing there mints a token either.
	fresh := atkUser(t, s, "skip-fresh")
	nocid := atkOpen(t, fresh, "me", nil)
	if r := atkVerify(fresh, "me", nocid, map[string]any{"type": "totp", "code": "123456"}); r.Status != 404 || r.Body["mfaToken"] != nil {
		t.Errorf("verify without factors: %v", r)
	}
	st := atkStatus(t, admin, "skip-victim")
	if st["lastVerifiedAt"] != nil || len(asList(st["factors"])) != 2 || st["backupCodesRemaining"] != float64(10) {
		t.Errorf("victim after the attempts: %v", st)
	}
	for _, e := range atkEvents(t, admin, "skip-victim") {
		if e["action"] == mfa.ActionVerificationSuccess || e["action"] == mfa.ActionFactorRemoved || e["action"] == mfa.ActionBackupCodesRenewed {
			t.Errorf("event after refused attempts: %v", e)
		}
	}
}

// TestAttackIDORMatrix runs every route of template.yaml with every kind of caller and checks
// the answer against the authorization table of DESIGN §3.
func TestAttackIDORMatrix(t *testing.T) {
	s := newStack(t)
	const victimID, adminID = "idor-victim", "idor-admin"
	// Expired tokens are issued first: the authorizer allows 5 s of clock skew, so they are
	// refused as expired from about 6 s on; the rest of the set-up runs meanwhile.
	issued := time.Now()
	expiredUser, err := s.Gateway.IssueToken(localapi.TokenRequest{Sub: victimID}, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	expiredAdmin, _ := s.Gateway.IssueToken(localapi.TokenRequest{Sub: adminID, Scope: "mfa/admin"}, time.Nanosecond)
	// Wrong audience: the gateway's key is private to pkg/localapi and IssueToken always
	// writes its own audience, so these come from a second dev issuer with the same issuer
	// URL and aud=other-app — signed by another key. (pkg/localapi's authorizer tests cover
	// aud=other with the right key.)
	otherIssuer, err := localapi.New(localapi.Options{Issuer: s.Issuer, Audience: "other-app"})
	if err != nil {
		t.Fatal(err)
	}
	wrongAudUser, _ := otherIssuer.IssueToken(localapi.TokenRequest{Sub: victimID}, time.Hour)
	wrongAudAdmin, _ := otherIssuer.IssueToken(localapi.TokenRequest{Sub: adminID, Scope: "mfa/admin"}, time.Hour)

	admin := atkUser(t, s, adminID, "mfa/admin")
	victim := atkUser(t, s, victimID)
	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "rememberDeviceDays": 30})
	putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "optional"})
	// The victim's real ids: a pending enrollment, a factor, a trusted device, an open challenge.
	pending := atkCall(t, victim, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
	f := atkEnrollTOTP(t, victim, time.Now(), -1)
	cid := atkOpen(t, victim, "me", nil)
	ver := atkVerify(victim, "me", cid, map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0), "rememberDevice": true})
	if ver.Status != 200 || ver.str("deviceToken") == "" {
		t.Fatalf("victim sign-in: %v", ver)
	}
	devs := atkCall(t, victim, "GET", "/v1/users/me/devices", nil)
	deviceID := asList(devs.Body["devices"])[0].(map[string]any)["id"].(string)
	cid = atkOpen(t, victim, "me", nil)

	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("{userId}", victimID, "{enrollmentId}", pending.str("enrollmentId"), "{factorId}", f.id,
		"{challengeId}", cid, "{deviceId}", deviceID, "{orgId}", "acme", "{page}", "challenge")
	bodies := map[string]any{
		"POST /v1/users/{userId}/enrollments":                            map[string]any{"type": "totp"},
		"POST /v1/users/{userId}/enrollments/{enrollmentId}/complete":    map[string]any{"code": "000000"},
		"PATCH /v1/users/{userId}/factors/{factorId}":                    map[string]any{"label": "renamed"},
		"POST /v1/users/{userId}/backup-codes":                           map[string]any{},
		"POST /v1/users/{userId}/challenges":                             map[string]any{},
		"POST /v1/users/{userId}/enrollment-prompt/skip":                 map[string]any{},
		"POST /v1/users/{userId}/challenges/{challengeId}/deliveries":    map[string]any{"factorId": f.id},
		"POST /v1/users/{userId}/challenges/{challengeId}/verifications": map[string]any{"type": "totp", "factorId": f.id, "code": "000000"},
		"POST /v1/admin/users/{userId}/factors":                          map[string]any{"type": "email", "email": "idor-victim@example.com"},
		"PUT /v1/admin/policy":                                           map[string]any{"mode": "optional", "rememberDeviceDays": 30},
		"PUT /v1/admin/organizations/{orgId}/policy":                     map[string]any{"mode": "optional"},
	}

	type column struct {
		name        string
		user, admin string // the token for user routes and for admin routes ("" = none)
	}
	attacker := atkUser(t, s, "idor-attacker").token
	service := atkUser(t, s, "idor-backend", "mfa/service").token
	cols := []column{
		{"no token", "", ""},
		{"expired", expiredUser, expiredAdmin},
		{"wrong aud", wrongAudUser, wrongAudAdmin},
		{"other user", attacker, attacker},
		{"service", service, service},
		{"admin", admin.token, admin.token},
	}
	kind := func(r samtemplate.Route) string {
		switch {
		case r.NoAuth:
			return "public"
		case strings.HasPrefix(r.Path, "/v1/admin/"):
			return "admin"
		}
		return "user"
	}
	// expect says what each column must get on each kind of route; "allowed" is any answer
	// of the handler but 403 and the authorizer's 401 (2xx, or a 4xx about the request). Public
	// routes (Authorizer: NONE) ignore the token: the same answer for every column.
	expect := map[string]map[string]string{
		"no token":   {"user": "401", "admin": "401", "public": "public"},
		"expired":    {"user": "401", "admin": "401", "public": "public"},
		"wrong aud":  {"user": "401", "admin": "401", "public": "public"},
		"other user": {"user": "403 forbidden", "admin": "403 gateway", "public": "public"},
		"service":    {"user": "allowed", "admin": "403 gateway", "public": "public"},
		"admin":      {"user": "403 forbidden", "admin": "allowed", "public": "public"},
	}
	public := map[string]string{} // route → the answer it gave the first column
	call := func(r samtemplate.Route, tok string) atkResp {
		c := &client{t: t, base: s.URL, token: tok, hc: atkHTTP}
		return atkCall(t, c, r.Method, fill.Replace(r.Path), bodies[r.RouteKey()])
	}
	check := func(col column, r samtemplate.Route) string {
		tok := col.user
		if kind(r) == "admin" {
			tok = col.admin
		}
		res := call(r, tok)
		want := expect[col.name][kind(r)]
		ok := res.Status < 500
		switch want {
		case "401":
			ok = ok && res.Status == 401 && res.Body["message"] == "Unauthorized"
		case "403 forbidden":
			ok = ok && res.Status == 403 && res.code() == "forbidden"
		case "403 gateway":
			ok = ok && res.Status == 403 && res.Body["message"] == "Forbidden"
		case "allowed":
			// A 401 is allowed only as the handler's verdict on a code it checked.
			ok = ok && res.Status != 403 && (res.Status != 401 || res.code() == "verification_failed") && (res.Status < 400 || res.isProblem())
		case "public":
			got := fmt.Sprint(res.Status, " ", res.code())
			if public[r.RouteKey()] == "" {
				public[r.RouteKey()] = got
			}
			ok = ok && res.Status != 401 && res.Status != 403 && public[r.RouteKey()] == got
		}
		if !ok {
			t.Errorf("%s × %s: %v, want %s", r.RouteKey(), col.name, res, want)
		}
		got := fmt.Sprint(res.Status)
		if c := res.code(); c != "" {
			got += " " + c
		}
		return got
	}

	table := map[string]map[string]string{}
	record := func(r samtemplate.Route, col string, got string) {
		if table[r.RouteKey()] == nil {
			table[r.RouteKey()] = map[string]string{}
		}
		table[r.RouteKey()][col] = got
	}
	// Refusals first, over a snapshot: none of them may change anything.
	users := []string{victimID, "idor-attacker", "idor-backend", adminID}
	snapshot := func() string {
		snap := atkSnapshot(t, admin, users...)
		g := atkCall(t, admin, "GET", "/v1/admin/policy", nil)
		o := atkCall(t, admin, "GET", "/v1/admin/organizations/acme/policy", nil)
		fl := atkCall(t, victim, "GET", "/v1/users/me/factors", nil)
		dv := atkCall(t, victim, "GET", "/v1/users/me/devices", nil)
		return snap + g.Raw + o.Raw + fl.Raw + dv.Raw
	}
	before := snapshot()
	refusing := []column{cols[0], cols[2], cols[3]}
	for _, col := range refusing {
		for _, r := range routes {
			record(r, col.name, check(col, r))
		}
	}
	// The refusing halves of the service and admin columns.
	for _, r := range routes {
		if k := kind(r); k == "admin" {
			record(r, "service", check(cols[4], r))
		} else if k == "user" {
			record(r, "admin", check(cols[5], r))
		}
	}
	// exp is the issue second; refused once now > exp + 5 s.
	time.Sleep(time.Until(issued.Truncate(time.Second).Add(6 * time.Second)))
	for _, r := range routes {
		record(r, "expired", check(cols[1], r))
	}
	if after := snapshot(); after != before {
		t.Errorf("a refused request changed state:\nbefore %s\nafter  %s", before, after)
	}
	// Then the allowed halves: a service on user routes, then an admin on admin routes (which
	// end with a reset of the victim).
	for _, r := range routes {
		if k := kind(r); k == "user" || k == "public" {
			record(r, "service", check(cols[4], r))
		}
	}
	for _, r := range routes {
		if k := kind(r); k == "admin" || k == "public" {
			record(r, "admin", check(cols[5], r))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n| route | no token | expired | wrong aud | other user | service | admin |\n|---|---|---|---|---|---|---|\n")
	for _, r := range routes {
		row := table[r.RouteKey()]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.RouteKey(), row["no token"], row["expired"], row["wrong aud"], row["other user"], row["service"], row["admin"])
	}
	t.Log(b.String())
}

// TestAttackTamperedMFAToken: an app verifies mfaTokens against the JWKS; forged, expired,
// misaddressed or borrowed tokens fail there, and fail as X-MFA-Token at the service too.
func TestAttackTamperedMFAToken(t *testing.T) {
	s := newStack(t)
	cfg := s.App.Config
	admin := atkUser(t, s, "jwt-admin", "mfa/admin")
	alice := atkUser(t, s, "jwt-alice")
	bob := atkUser(t, s, "jwt-bob")
	fa := atkEnrollTOTP(t, alice, time.Now(), -1)
	fb := atkEnrollTOTP(t, bob, time.Now(), -1)
	signIn := func(c *client, f atkTOTP) string {
		r := atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)})
		if r.Status != 200 || r.str("mfaToken") == "" {
			t.Fatalf("sign-in: %v", r)
		}
		return r.str("mfaToken")
	}
	genuine := signIn(alice, fa)
	bobs := signIn(bob, fb)
	set := atkJWKS(t, s)
	if err := atkAppVerify(set, genuine, cfg.MFATokenIssuer, cfg.MFATokenAudience, "jwt-alice", time.Now()); err != nil {
		t.Fatalf("the genuine token does not verify: %v", err)
	}

	parts := strings.Split(genuine, ".")
	var header, payload map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &payload) != nil {
		t.Fatal("mfaToken is not a JWS")
	}
	kid := header["kid"].(string)
	enc := func(v any) string { raw, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(raw) }
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range payload {
			out[kk] = vv
		}
		out[k] = v
		return out
	}

	// Signed by another key, published kid copied.
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: otherKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	otherKeyTok, err := josejwt.Signed(signer).Claims(payload).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	// With the service's own key (loaded from the stack's table the way a container loads it)
	// but a clock 20 minutes back, or another audience: genuine signatures, wrong claims.
	past := func() time.Time { return time.Now().Add(-20 * time.Minute) }
	oldSigner, err := token.Load(context.Background(), s.App.Store, s.App.Keyring, token.Config{Issuer: cfg.MFATokenIssuer, Audience: cfg.MFATokenAudience, TTL: 5 * time.Minute, Now: past})
	if err != nil {
		t.Fatal(err)
	}
	claims := mfa.MFATokenClaims{Subject: "jwt-alice", AuthTime: past(), AMR: []string{"otp", "mfa"}, ACR: "otp", FactorType: mfa.TypeTOTP, FactorID: fa.id}
	expired, err := oldSigner.IssueMFAToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	audSigner, err := token.Load(context.Background(), s.App.Store, s.App.Keyring, token.Config{Issuer: cfg.MFATokenIssuer, Audience: "another-app", TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	claims.AuthTime = time.Now()
	otherAud, err := audSigner.IssueMFAToken(claims)
	if err != nil {
		t.Fatal(err)
	}

	backupBefore := atkStatus(t, admin, "jwt-alice")
	eventsBefore := len(atkEvents(t, admin, "jwt-alice"))
	for _, a := range []struct {
		name, raw string
		service   int // status at the service as X-MFA-Token on a step-up route
		code      string
	}{
		{"signed by another key", otherKeyTok, 401, "invalid_mfa_token"},
		{"alg none", enc(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + ".", 401, "invalid_mfa_token"},
		{"alg none, signature kept", enc(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2], 401, "invalid_mfa_token"},
		{"HS256 with the public key as secret", enc(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2], 401, "invalid_mfa_token"},
		{"expired (genuine key)", expired, 401, "invalid_mfa_token"},
		{"other sub (bob's genuine token)", bobs, 403, "step_up_required"},
		{"sub rewritten, signature kept", parts[0] + "." + enc(with("sub", "jwt-bob")) + "." + parts[2], 401, "invalid_mfa_token"},
		{"other aud (genuine key)", otherAud, 401, "invalid_mfa_token"},
		{"aud rewritten, signature kept", parts[0] + "." + enc(with("aud", "another-app")) + "." + parts[2], 401, "invalid_mfa_token"},
		{"exp pushed out, signature kept", parts[0] + "." + enc(with("exp", time.Now().Add(24*time.Hour).Unix())) + "." + parts[2], 401, "invalid_mfa_token"},
	} {
		if err := atkAppVerify(set, a.raw, cfg.MFATokenIssuer, cfg.MFATokenAudience, "jwt-alice", time.Now()); err == nil {
			t.Errorf("%s: an app would accept it", a.name)
		} else {
			t.Logf("%s: app refuses: %v", a.name, err)
		}
		if r := atkCall(t, alice, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", a.raw); r.Status != a.service || r.code() != a.code || r.Body["backupCodes"] != nil {
			t.Errorf("%s as X-MFA-Token (regenerate backup codes): %v, want %d %s", a.name, r, a.service, a.code)
		}
		if r := atkCall(t, alice, "DELETE", "/v1/users/me/factors/"+fa.id, nil, "X-MFA-Token", a.raw); r.Status != a.service || r.code() != a.code {
			t.Errorf("%s as X-MFA-Token (remove factor): %v, want %d %s", a.name, r, a.service, a.code)
		}
	}
	// An app verifying bob's token for alice, or alice's after it expired, refuses it too.
	if err := atkAppVerify(set, genuine, cfg.MFATokenIssuer, cfg.MFATokenAudience, "jwt-alice", time.Now().Add(cfg.MFATokenTTL+time.Minute)); err == nil {
		t.Error("an app accepts the genuine token after its lifetime")
	}
	if err := atkAppVerify(set, genuine, cfg.MFATokenIssuer, "another-app", "jwt-alice", time.Now()); err == nil {
		t.Error("an app with another audience accepts the token")
	}
	if after := atkStatus(t, admin, "jwt-alice"); !reflect.DeepEqual(after, backupBefore) || len(atkEvents(t, admin, "jwt-alice")) != eventsBefore {
		t.Errorf("refused step-ups changed state: %v → %v", backupBefore, after)
	}
	// The genuine token does the step-up.
	if r := atkCall(t, alice, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", genuine); r.Status != 201 {
		t.Errorf("genuine step-up: %v", r)
	}
}

// TestAttackCodes: codes used where they do not belong, too late, or twice.
func TestAttackCodes(t *testing.T) {
	s, clk := atkClockedStack(t)
	// Challenges outlive the code here so that the code's own 10-minute limit is what is
	// tested (both are 10 minutes by default; the challenge would expire first).
	s.App.Core.ChallengeTTL = 30 * time.Minute
	admin := atkUser(t, s, "codes-admin", "mfa/admin")
	a := atkUser(t, s, "codes-a")
	b := atkUser(t, s, "codes-b")
	bind := func(user, email string) string {
		r := atkCall(t, admin, "POST", "/v1/admin/users/"+user+"/factors", map[string]any{"type": "email", "email": email})
		if r.Status != 201 {
			t.Fatalf("bind %s: %v", email, r)
		}
		return r.Body["factor"].(map[string]any)["id"].(string)
	}
	aEmail := bind("codes-a", "codes-a@example.com")
	bEmail := bind("codes-b", "codes-b@example.com")
	deliver := func(c *client, cid, fid, dest string) string {
		t.Helper()
		if r := atkCall(t, c, "POST", "/v1/users/me/challenges/"+cid+"/deliveries", map[string]any{"factorId": fid}); r.Status != 202 {
			t.Fatalf("delivery: %v", r)
		}
		return lastOutboxCode(t, s, dest)
	}
	email := func(fid, c string) map[string]any { return map[string]any{"type": "email", "factorId": fid, "code": c} }
	expectStatus := func(what string, r atkResp, status int, code string) {
		t.Helper()
		if r.Err != nil || r.Status != status || (code != "" && r.code() != code) {
			t.Errorf("%s: %v, want %d %s", what, r, status, code)
		}
	}

	t.Run("A's email code on B's challenge", func(t *testing.T) {
		ca := atkOpen(t, a, "me", nil)
		codeA := deliver(a, ca, aEmail, "codes-a@example.com")
		cb := atkOpen(t, b, "me", nil)
		codeB := deliver(b, cb, bEmail, "codes-b@example.com")
		if codeA == codeB {
			t.Fatalf("two users got the same code %s (1 in a million)", codeA)
		}
		expectStatus("B answers with A's code", atkVerify(b, "me", cb, email(bEmail, codeA)), 401, "verification_failed")
		expectStatus("B names A's factor", atkVerify(b, "me", cb, email(aEmail, codeA)), 404, "factor_not_found")
		expectStatus("A answers on B's challenge", atkVerify(a, "codes-b", cb, email(bEmail, codeA)), 403, "forbidden")
		expectStatus("A's code still works for A", atkVerify(a, "me", ca, email(aEmail, codeA)), 200, "")
		expectStatus("B's code still works for B", atkVerify(b, "me", cb, email(bEmail, codeB)), 200, "")
	})

	t.Run("one challenge's code on another", func(t *testing.T) {
		c1 := atkOpen(t, b, "me", nil)
		code1 := deliver(b, c1, bEmail, "codes-b@example.com")
		c2 := atkOpen(t, b, "me", nil)
		code2 := deliver(b, c2, bEmail, "codes-b@example.com")
		if code1 == code2 {
			t.Fatalf("two challenges got the same code %s (1 in a million)", code1)
		}
		expectStatus("challenge 2 answered with challenge 1's code", atkVerify(b, "me", c2, email(bEmail, code1)), 401, "verification_failed")
		expectStatus("challenge 2 with its own", atkVerify(b, "me", c2, email(bEmail, code2)), 200, "")
		expectStatus("challenge 1 with its own", atkVerify(b, "me", c1, email(bEmail, code1)), 200, "")
		expectStatus("challenge 1's code again, on a new challenge", atkVerify(b, "me", atkOpen(t, b, "me", nil), email(bEmail, code1)), 400, "code_not_sent")
		// A resend replaces the code: the first one is dead.
		c3 := atkOpen(t, b, "me", nil)
		old := deliver(b, c3, bEmail, "codes-b@example.com")
		clk.Advance(31 * time.Second)
		fresh := deliver(b, c3, bEmail, "codes-b@example.com")
		if old != fresh {
			expectStatus("the replaced code", atkVerify(b, "me", c3, email(bEmail, old)), 401, "verification_failed")
		}
		expectStatus("the resent code", atkVerify(b, "me", c3, email(bEmail, fresh)), 200, "")
		expectStatus("the resent code twice", atkVerify(b, "me", c3, email(bEmail, fresh)), 410, "challenge_closed")
	})

	t.Run("email code after 10 minutes and 1 second", func(t *testing.T) {
		late := atkOpen(t, a, "me", nil)
		inTime := atkOpen(t, a, "me", nil)
		lateCode := deliver(a, late, aEmail, "codes-a@example.com")
		inTimeCode := deliver(a, inTime, aEmail, "codes-a@example.com")
		clk.Advance(10*time.Minute - time.Second)
		expectStatus("at 9:59", atkVerify(a, "me", inTime, email(aEmail, inTimeCode)), 200, "")
		clk.Advance(2 * time.Second)
		expectStatus("at 10:01", atkVerify(a, "me", late, email(aEmail, lateCode)), 410, "code_expired")
	})

	c := atkUser(t, s, "codes-c")
	f := atkEnrollTOTP(t, c, clk.Now(), 0)
	if len(f.backup) != 10 {
		t.Fatalf("backup codes: %v", f.backup)
	}

	t.Run("enrollment code reused for sign-in", func(t *testing.T) {
		expectStatus("the code that completed the enrollment", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": f.enrollCode}), 401, "verification_failed")
	})

	t.Run("backup code reuse", func(t *testing.T) {
		r := atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "backup_codes", "code": f.backup[0]})
		if r.Status != 200 || r.Body["backupCodesRemaining"] != float64(9) {
			t.Fatalf("first use: %v", r)
		}
		expectStatus("the same code again", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "backup_codes", "code": f.backup[0]}), 401, "verification_failed")
		squashed := strings.ToUpper(strings.ReplaceAll(f.backup[0], "-", ""))
		expectStatus("the same code in upper case without dashes", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "backup_codes", "code": squashed}), 401, "verification_failed")
		expectStatus("another code, upper case without dashes", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "backup_codes", "code": strings.ToUpper(strings.ReplaceAll(f.backup[1], "-", ""))}), 200, "")
		if st := atkStatus(t, admin, "codes-c"); st["backupCodesRemaining"] != float64(8) {
			t.Errorf("backup codes left: %v", st["backupCodesRemaining"])
		}
	})

	t.Run("TOTP two steps off", func(t *testing.T) {
		clk.Advance(10 * time.Minute) // far from the enrollment's step
		cid := atkOpen(t, c, "me", nil)
		for _, steps := range []int64{2, -2} {
			expectStatus(fmt.Sprintf("step %+d", steps), atkVerify(c, "me", cid, map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), steps)}), 401, "verification_failed")
		}
		expectStatus("step -1", atkVerify(c, "me", cid, map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), -1)}), 200, "")
		expectStatus("step +1", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 1)}), 200, "")
		expectStatus("step 0 after step +1 was used", atkVerify(c, "me", atkOpen(t, c, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 0)}), 401, "verification_failed")
	})
}

// TestAttackConcurrency: racing one code, and flooding wrong ones.
func TestAttackConcurrency(t *testing.T) {
	s := newStack(t)
	admin := atkUser(t, s, "race-admin", "mfa/admin")
	parallel := func(n int, do func(i int) atkResp) []atkResp {
		out := make([]atkResp, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				out[i] = do(i)
			})
		}
		close(start)
		wg.Wait()
		return out
	}
	tally := func(rs []atkResp) (map[int]int, []string) {
		by := map[int]int{}
		var errs []string
		for _, r := range rs {
			if r.Err != nil {
				errs = append(errs, r.Err.Error())
				continue
			}
			by[r.Status]++
			if r.Status != 200 && !r.isProblem() {
				errs = append(errs, r.String())
			}
		}
		return by, errs
	}
	openN := func(c *client, n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = atkOpen(t, c, "me", nil)
		}
		return ids
	}

	t.Run("30 parallel uses of one backup code", func(t *testing.T) {
		u := atkUser(t, s, "race-backup")
		f := atkEnrollTOTP(t, u, time.Now(), -1)
		ids := openN(u, 30)
		rs := parallel(30, func(i int) atkResp {
			return atkVerify(u, "me", ids[i], map[string]any{"type": "backup_codes", "code": f.backup[0]})
		})
		by, errs := tally(rs)
		t.Logf("statuses: %v", by)
		if by[200] != 1 || len(errs) > 0 || by[500]+by[502]+by[503] > 0 {
			t.Fatalf("want exactly one success: %v %v", by, errs)
		}
		if st := atkStatus(t, admin, "race-backup"); st["backupCodesRemaining"] != float64(9) {
			t.Errorf("backup codes left: %v", st["backupCodesRemaining"])
		}
	})

	t.Run("20 parallel submissions of one TOTP code", func(t *testing.T) {
		u := atkUser(t, s, "race-totp")
		f := atkEnrollTOTP(t, u, time.Now(), -1)
		ids := openN(u, 20)
		now := code(f.secret, time.Now(), 0)
		rs := parallel(20, func(i int) atkResp {
			return atkVerify(u, "me", ids[i], map[string]any{"type": "totp", "factorId": f.id, "code": now})
		})
		by, errs := tally(rs)
		t.Logf("statuses: %v", by)
		if by[200] != 1 || len(errs) > 0 || by[500]+by[502]+by[503] > 0 {
			t.Fatalf("want exactly one success: %v %v", by, errs)
		}
	})

	t.Run("200 parallel wrong codes", func(t *testing.T) {
		const n, perChallenge = 200, 5
		u := atkUser(t, s, "race-flood")
		f := atkEnrollTOTP(t, u, time.Now(), -1)
		ids := openN(u, n/perChallenge)
		wrong := atkWrongCode(f.secret, time.Now(), 42)
		rs := parallel(n, func(i int) atkResp {
			return atkVerify(u, "me", ids[i/perChallenge], map[string]any{"type": "totp", "factorId": f.id, "code": wrong})
		})
		by, errs := tally(rs)
		st := atkStatus(t, admin, "race-flood")
		t.Logf("statuses: %v; failedAttempts %v, lockedUntil %v, lockedPermanently %v", by, st["failedAttempts"], st["lockedUntil"], st["lockedPermanently"])
		if len(errs) > 0 || by[401]+by[429] != n {
			t.Fatalf("every answer must be a counted failure (401) or refused under the lock (429): %v %v", by, errs)
		}
		// All 200 were read before any lock, but whether the user is locked is decided again
		// in the write: exactly the 5 that start the lock count, the rest are refused unchecked
		// and uncounted (DESIGN §6.4), so a burst brings the permanent lock no closer.
		if st["failedAttempts"] != float64(5) || by[401] != 5 || by[429] != n-5 {
			t.Fatalf("failedAttempts %v, want exactly 5 (401s %d, 429s %d)", st["failedAttempts"], by[401], by[429])
		}
		events, refusals := 0, 0
		for _, e := range atkEvents(t, admin, "race-flood") {
			switch e["action"] {
			case mfa.ActionVerificationFailure:
				events++
			case mfa.ActionVerificationRefused:
				refusals++
			}
		}
		if events != 5 {
			t.Errorf("%d failure events for 5 counted failures", events)
		}
		// 195 refusals, audited at most once a minute: the audit log is not flooded.
		if refusals < 1 || refusals > 2 {
			t.Errorf("%d refusal events for %d refusals: want them audited, rate-limited", refusals, by[429])
		}
		if st["lockedUntil"] == nil && st["lockedPermanently"] != true {
			t.Fatalf("not locked after %d failures: %v", by[401], st)
		}
		// The lock holds: the right code on a fresh challenge is refused.
		r := atkVerify(u, "me", atkOpen(t, u, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)})
		if r.Status != 429 || r.code() != "too_many_attempts" || r.Header.Get("Retry-After") == "" || r.Body["mfaToken"] != nil {
			t.Fatalf("right code during the lock: %v", r)
		}
		if again := atkStatus(t, admin, "race-flood"); again["failedAttempts"] != st["failedAttempts"] {
			t.Errorf("an answer during the lock must not count: %v → %v", st["failedAttempts"], again["failedAttempts"])
		}
	})

	t.Run("a right code hidden in a burst of wrong ones", func(t *testing.T) {
		// A burst has more answers checked than the limits allow (all read the state before
		// any failure lands). What must hold: failures count only while the user is not locked,
		// and the right one succeeds only if the user was not locked at its write (both decided
		// in the write), so a burst is worth no more than answering in turn.
		const n, perChallenge = 40, 5
		u := atkUser(t, s, "race-hidden")
		f := atkEnrollTOTP(t, u, time.Now(), -1)
		ids := openN(u, n/perChallenge+1)
		wrong := atkWrongCode(f.secret, time.Now(), 99)
		right := code(f.secret, time.Now(), 0)
		rs := parallel(n+1, func(i int) atkResp {
			c := wrong
			if i == n {
				c = right
			}
			return atkVerify(u, "me", ids[i/perChallenge], map[string]any{"type": "totp", "factorId": f.id, "code": c})
		})
		by, errs := tally(rs)
		st := atkStatus(t, admin, "race-hidden")
		t.Logf("statuses: %v; the right code got %v; failedAttempts %v", by, rs[n], st["failedAttempts"])
		// A right code that loses the race to the lock is refused like every answer that
		// meets the lock (429): no 409 tells the attacker it was right.
		if len(errs) > 0 || by[200] > 1 || by[409] != 0 || by[200]+by[401]+by[429] != n+1 {
			t.Fatalf("statuses %v %v", by, errs)
		}
		if rs[n].Status != 200 && (rs[n].Body["mfaToken"] != nil || (rs[n].Status != 429 && rs[n].Status != 401)) {
			t.Fatalf("the right code refused unlike a wrong one: %v", rs[n])
		}
		// Failures count until the lock (5); a success resets the count, so only the failures
		// after it remain, and it can only have landed while fewer than 5 were counted.
		failures := int(st["failedAttempts"].(float64))
		switch by[200] {
		case 0:
			if failures != 5 || by[401] != 5 {
				t.Fatalf("failedAttempts %v, 401s %d: want exactly the 5 that lock", failures, by[401])
			}
		case 1:
			if before := by[401] - failures; before >= 5 || failures > 5 {
				t.Fatalf("the right code succeeded after %d counted failures (%d after it)", before, failures)
			}
		}
	})
}

// TestAttackLockout: the per-user lock counts across factors, survives resends and new
// challenges, and does not care which address a request claims to come from.
func TestAttackLockout(t *testing.T) {
	s, clk := atkClockedStack(t)
	admin := atkUser(t, s, "lock-admin", "mfa/admin")
	u := atkUser(t, s, "lock-user")
	f := atkEnrollTOTP(t, u, clk.Now(), 0)
	clk.Advance(time.Minute)
	bound := atkCall(t, admin, "POST", "/v1/admin/users/lock-user/factors", map[string]any{"type": "email", "email": "lock-user@example.com"})
	if bound.Status != 201 {
		t.Fatalf("bind email: %v", bound)
	}
	emailID := bound.Body["factor"].(map[string]any)["id"].(string)
	spoof := []string{"X-Forwarded-For", "203.0.113.77", "X-Real-IP", "203.0.113.77", "Forwarded", "for=203.0.113.77", "True-Client-IP", "203.0.113.77"}
	failed := func(what string, r atkResp, remaining int) {
		t.Helper()
		if r.Status != 401 || r.code() != "verification_failed" || r.Body["attemptsRemaining"] != float64(remaining) {
			t.Fatalf("%s: %v, want 401 with %d attempts left", what, r, remaining)
		}
	}
	count := func() float64 { return atkStatus(t, admin, "lock-user")["failedAttempts"].(float64) }
	wrongTOTP := map[string]any{"type": "totp", "factorId": f.id, "code": atkWrongCode(f.secret, clk.Now(), 7)}

	c1 := atkOpen(t, u, "me", nil)
	failed("TOTP wrong 1", atkVerify(u, "me", c1, wrongTOTP), 4)
	failed("TOTP wrong 2", atkVerify(u, "me", c1, wrongTOTP), 3)
	if r := atkCall(t, u, "POST", "/v1/users/me/challenges/"+c1+"/deliveries", map[string]any{"factorId": emailID}); r.Status != 202 {
		t.Fatalf("delivery: %v", r)
	}
	sent := lastOutboxCode(t, s, "lock-user@example.com")
	wrongEmail := map[string]any{"type": "email", "factorId": emailID, "code": fmt.Sprintf("%06d", (atkAtoi(sent)+1)%1_000_000)}
	failed("email wrong 1 (counts with the TOTP ones)", atkVerify(u, "me", c1, wrongEmail), 2)
	if got := count(); got != 3 {
		t.Fatalf("failures across factors: %v, want 3", got)
	}
	// A resend does not reset the challenge's count or the user's.
	clk.Advance(31 * time.Second)
	if r := atkCall(t, u, "POST", "/v1/users/me/challenges/"+c1+"/deliveries", map[string]any{"factorId": emailID}); r.Status != 202 {
		t.Fatalf("resend: %v", r)
	}
	resent := lastOutboxCode(t, s, "lock-user@example.com")
	if got := count(); got != 3 {
		t.Fatalf("after a resend: %v, want 3", got)
	}
	wrongEmail["code"] = fmt.Sprintf("%06d", (atkAtoi(resent)+1)%1_000_000)
	failed("email wrong 2, after the resend", atkVerify(u, "me", c1, wrongEmail, spoof...), 1)
	// A new challenge does not reset the user's count; a spoofed source address changes nothing.
	c2 := atkOpen(t, u, "me", nil)
	if got := count(); got != 4 {
		t.Fatalf("after a new challenge: %v, want 4", got)
	}
	failed("TOTP wrong on a new challenge, spoofed address", atkVerify(u, "me", c2, wrongTOTP, spoof...), 4)
	st := atkStatus(t, admin, "lock-user")
	if st["failedAttempts"] != float64(5) || st["lockedUntil"] == nil {
		t.Fatalf("not locked after 5 failures across factors: %v", st)
	}
	locked := func(what string, r atkResp) {
		t.Helper()
		if r.Status != 429 || r.code() != "too_many_attempts" || r.Header.Get("Retry-After") == "" || r.Body["mfaToken"] != nil {
			t.Errorf("%s: %v, want 429 too_many_attempts", what, r)
		}
	}
	rightTOTP := map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 0)}
	locked("right TOTP code, new challenge", atkVerify(u, "me", atkOpen(t, u, "me", nil), rightTOTP))
	locked("right TOTP code, new challenge, spoofed address", atkVerify(u, "me", atkOpen(t, u, "me", nil), rightTOTP, spoof...))
	locked("right email code, spoofed address", atkVerify(u, "me", c1, map[string]any{"type": "email", "factorId": emailID, "code": resent}, spoof...))
	// A service token naming another source address is no way out either.
	svc := atkUser(t, s, "lock-backend", "mfa/service")
	sc := atkOpen(t, svc, "lock-user", map[string]any{"context": map[string]any{"ip": "198.51.100.23"}})
	locked("right code through a service, other context.ip", atkVerify(svc, "lock-user", sc, rightTOTP, spoof...))
	// Answers during the lock are refused unchecked and not counted (DESIGN §6.4): hammering
	// neither lengthens the lock nor brings the permanent lock closer.
	if got := count(); got != 5 {
		t.Errorf("answers during the lock: count %v, want 5", got)
	}
	// The audit trail records the connection's address, never the claimed one. The four
	// refusals are audited once (rate-limited: one a minute per user).
	ips, refusedIPs := map[string]int{}, map[string]int{}
	for _, e := range atkEvents(t, admin, "lock-user") {
		switch e["action"] {
		case mfa.ActionVerificationFailure:
			ips[fmt.Sprint(e["ip"])]++
		case mfa.ActionVerificationRefused:
			refusedIPs[fmt.Sprint(e["ip"])]++
		}
	}
	if ips["127.0.0.1"] != 5 || len(ips) != 1 {
		t.Errorf("source addresses of the failures: %v, want 5 × 127.0.0.1", ips)
	}
	if refusedIPs["127.0.0.1"] != 1 || len(refusedIPs) != 1 {
		t.Errorf("audited refusals: %v, want 1 × 127.0.0.1", refusedIPs)
	}
	// The lock ends after its back-off (5 failures: 1 minute from the last), not before.
	clk.Advance(59 * time.Second)
	rightTOTP["code"] = code(f.secret, clk.Now(), 0)
	locked("right code after 59 s", atkVerify(u, "me", atkOpen(t, u, "me", nil), rightTOTP))
	clk.Advance(2 * time.Second)
	if r := atkVerify(u, "me", atkOpen(t, u, "me", nil), map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 0)}); r.Status != 200 {
		t.Errorf("right code after the back-off: %v", r)
	}
}

func atkAtoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestAttackFailClosed stops moto under a running stack: nothing verifies while the store is
// gone, and the same stack recovers on its own once moto is back on the same port.
//
// moto_server has no persistence option (5.x: -H, -p, -r, -s, -c, -k). It does have a
// request recorder (MOTO_ENABLE_RECORDING, /moto-api/recorder/…): the first moto records
// every request to a file, and after the restart the recording is replayed into the new
// moto, which rebuilds the table's items from the same writes. That stands in for
// DynamoDB's durability; nothing is done to the service.
func TestAttackFailClosed(t *testing.T) {
	dir := t.TempDir()
	recording := filepath.Join(dir, "moto-recording.jsonl")
	// startStack points the process environment at its moto; restore it for later tests.
	for _, k := range []string{"AWS_ENDPOINT_URL", "TABLE_NAME", "KMS_KEY_ID", "EMAIL_SENDER", "WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"} {
		t.Setenv(k, os.Getenv(k))
	}
	t.Setenv("MOTO_ENABLE_RECORDING", "true")
	t.Setenv("MOTO_RECORDER_FILEPATH", recording)
	port := atkFreePort(t)
	s, err := startStack(context.Background(), stackOptions{MotoPort: port, Names: atkNames("failclosed"), Log: httpapi.NewLogger(io.Discard, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() }) // s.moto is replaced by the restart below
	os.Unsetenv("MOTO_ENABLE_RECORDING")
	endpoint := s.moto.Endpoint()

	admin := atkUser(t, s, "fc-admin", "mfa/admin")
	u := atkUser(t, s, "fc-user")
	f := atkEnrollTOTP(t, u, time.Now(), -1)
	bound := atkCall(t, admin, "POST", "/v1/admin/users/fc-user/factors", map[string]any{"type": "email", "email": "fc-user@example.com"})
	if bound.Status != 201 {
		t.Fatalf("bind email: %v", bound)
	}
	emailID := bound.Body["factor"].(map[string]any)["id"].(string)
	cid := atkOpen(t, u, "me", nil)
	set := atkJWKS(t, s)

	// Outage.
	if err := s.moto.Stop(); err != nil {
		t.Fatal(err)
	}
	type probe struct {
		name         string
		c            *client
		method, path string
		body         any
	}
	right := func() map[string]any {
		return map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)}
	}
	verifyPath := "/v1/users/me/challenges/" + cid + "/verifications"
	probes := []probe{
		{"right TOTP code", u, "POST", verifyPath, right()},
		{"wrong TOTP code", u, "POST", verifyPath, map[string]any{"type": "totp", "factorId": f.id, "code": atkWrongCode(f.secret, time.Now(), 3)}},
		{"backup code", u, "POST", verifyPath, map[string]any{"type": "backup_codes", "code": f.backup[0]}},
		{"email delivery", u, "POST", "/v1/users/me/challenges/" + cid + "/deliveries", map[string]any{"factorId": emailID}},
		{"new challenge", u, "POST", "/v1/users/me/challenges", map[string]any{}},
		{"list factors", u, "GET", "/v1/users/me/factors", nil},
		{"start enrollment", u, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"}},
		{"admin status", admin, "GET", "/v1/admin/users/fc-user", nil},
		{"admin bind", admin, "POST", "/v1/admin/users/fc-user/factors", map[string]any{"type": "email", "email": "fc-other@example.com"}},
		{"admin unlock", admin, "POST", "/v1/admin/users/fc-user/unlock", nil},
	}
	run := func(phase string) map[string]int {
		phaseStart := time.Now()
		out := make([]atkResp, len(probes))
		var wg sync.WaitGroup
		for i, p := range probes {
			wg.Go(func() { out[i] = atkJSON(p.c, p.method, p.path, p.body) })
		}
		wg.Wait()
		kinds := map[string]int{}
		for i, r := range out {
			switch {
			case r.Err != nil:
				t.Errorf("%s, %s: %v", phase, probes[i].name, r.Err)
			case r.Status == 503 && r.code() == "unavailable" && r.isProblem():
				kinds["503 unavailable (handler)"]++
			case r.Status == 500 && r.Body["message"] == "Internal Server Error":
				kinds["500 (gateway: handler error)"]++
			default:
				kinds[fmt.Sprint(r.Status, " ", r.code())]++
				t.Errorf("%s, %s: %v, want a 5xx", phase, probes[i].name, r)
			}
			if r.Body["mfaToken"] != nil {
				t.Errorf("%s, %s: a token was issued", phase, probes[i].name)
			}
		}
		t.Logf("%s: %v (%v)", phase, kinds, time.Since(phaseStart))
		return kinds
	}
	run("moto down")
	// The public keys are served from memory: apps can still check tokens issued before.
	if r := atkCall(t, atkAnon(s), "GET", "/.well-known/jwks.json", nil); r.Status != 200 {
		t.Errorf("jwks while moto is down: %v", r)
	}

	// moto back on the same port, empty: still closed, never a success.
	t.Setenv("MOTO_RECORDER_FILEPATH", filepath.Join(dir, "moto-recording-2.jsonl"))
	m, err := localaws.StartMoto(context.Background(), "127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	s.moto = m
	if m.Endpoint() != endpoint {
		t.Fatalf("moto came back at %s, not %s", m.Endpoint(), endpoint)
	}
	run("moto back, state lost")

	// Replay the recording: the table is back with every item the service wrote.
	rec, err := os.ReadFile(recording)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		path string
		body []byte
	}{{"/moto-api/recorder/upload-recording", rec}, {"/moto-api/recorder/replay-recording", nil}} {
		resp, err := http.Post(endpoint+step.path, "application/octet-stream", bytes.NewReader(step.body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", step.path, resp.StatusCode)
		}
	}

	// Recovered, with the same stack, its clients and keys: the open challenge is answered.
	r := atkVerify(u, "me", cid, right())
	if r.Status != 200 || r.str("mfaToken") == "" {
		t.Fatalf("after recovery: %v", r)
	}
	if err := atkAppVerify(set, r.str("mfaToken"), s.App.Config.MFATokenIssuer, s.App.Config.MFATokenAudience, "fc-user", time.Now()); err != nil {
		t.Errorf("token after recovery does not verify with the JWKS fetched before the outage: %v", err)
	}
	// Email works again, and nothing was counted during the outage.
	c2 := atkOpen(t, u, "me", nil)
	if d := atkCall(t, u, "POST", "/v1/users/me/challenges/"+c2+"/deliveries", map[string]any{"factorId": emailID}); d.Status != 202 {
		t.Fatalf("delivery after recovery: %v", d)
	}
	if v := atkVerify(u, "me", c2, map[string]any{"type": "email", "factorId": emailID, "code": lastOutboxCode(t, s, "fc-user@example.com")}); v.Status != 200 {
		t.Errorf("email after recovery: %v", v)
	}
	if st := atkStatus(t, admin, "fc-user"); st["failedAttempts"] != float64(0) || len(asList(st["factors"])) != 3 {
		t.Errorf("state after recovery: %v", st)
	}
}

// TestAttackInput: malformed requests get a 4xx problem with a stable code, never a 500.
func TestAttackInput(t *testing.T) {
	s := newStack(t)
	admin := atkUser(t, s, "input-admin", "mfa/admin")
	u := atkUser(t, s, "input-user")
	f := atkEnrollTOTP(t, u, time.Now(), -1)
	cid := atkOpen(t, u, "me", nil)
	fresh := atkUser(t, s, "input-fresh") // no factor yet: enrollment input is checked, not step-up
	wa := atkCall(t, fresh, "POST", "/v1/users/me/enrollments", map[string]any{"type": "webauthn"})
	if wa.Status != 201 {
		t.Fatalf("passkey enrollment: %v", wa)
	}
	totpEnr := atkCall(t, fresh, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
	before := atkSnapshot(t, admin, "input-user", "input-fresh")

	big := func(n int) string { return strings.Repeat("x", n) }
	verifyPath := "/v1/users/me/challenges/" + cid + "/verifications"
	enrollPath := "/v1/users/me/enrollments"
	js := func(v any) []byte { raw, _ := json.Marshal(v); return raw }
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	badCred := map[string]any{"id": "@@@", "rawId": "%%%", "type": "public-key", "response": map[string]any{"clientDataJSON": "***", "attestationObject": "!!"}}
	long := strings.Repeat("a", 129)

	cases := []struct {
		name         string
		c            *client
		method, path string
		body         []byte
		ctype        string
		status       int
		code         string // "" = the gateway's own answer
	}{
		// Size.
		{"body over 64 KiB (enrollment)", fresh, "POST", enrollPath, js(map[string]any{"type": "totp", "label": big(70 << 10)}), "", 413, "body_too_large"},
		{"body over 64 KiB (verify)", u, "POST", verifyPath, js(map[string]any{"type": "totp", "code": big(70 << 10)}), "", 413, "body_too_large"},
		{"body over 64 KiB (policy)", admin, "PUT", "/v1/admin/policy", js(map[string]any{"mode": "optional", "factors": strings.Split(big(35<<10), "")}), "", 413, "body_too_large"},
		{"body over the gateway's 10 MiB", u, "POST", verifyPath, []byte(`{"type":"totp","code":"` + big(10<<20) + `"}`), "", 413, ""},
		// Unknown fields.
		{"unknown field (enrollment)", fresh, "POST", enrollPath, []byte(`{"type":"totp","admin":true}`), "", 400, "unknown_field"},
		{"unknown field (verify)", u, "POST", verifyPath, []byte(`{"type":"totp","code":"123456","skipMfa":true}`), "", 400, "unknown_field"},
		{"unknown field (challenge)", u, "POST", "/v1/users/me/challenges", []byte(`{"purpose":"sign_in","mfaRequired":false}`), "", 400, "unknown_field"},
		{"unknown field (admin bind)", admin, "POST", "/v1/admin/users/input-user/factors", []byte(`{"type":"email","email":"x@example.com","verified":true}`), "", 400, "unknown_field"},
		{"unknown field (policy)", admin, "PUT", "/v1/admin/policy", []byte(`{"mode":"off","bypass":1}`), "", 400, "unknown_field"},
		{"unknown field, huge name", u, "POST", verifyPath, []byte(`{"` + big(5000) + `":1}`), "", 400, "unknown_field"},
		// Wrong dynamoclient.
		{"code as a number", u, "POST", verifyPath, []byte(`{"type":"totp","code":123456}`), "", 400, "invalid_json"},
		{"type as a list", u, "POST", verifyPath, []byte(`{"type":["totp"],"code":"123456"}`), "", 400, "invalid_json"},
		{"rememberDevice as a string", u, "POST", verifyPath, []byte(`{"type":"totp","code":"123456","rememberDevice":"yes"}`), "", 400, "invalid_json"},
		{"purpose as a number", u, "POST", "/v1/users/me/challenges", []byte(`{"purpose":1}`), "", 400, "invalid_json"},
		{"registeredAt not a time", u, "POST", "/v1/users/me/challenges", []byte(`{"registeredAt":"yesterday"}`), "", 400, "invalid_json"},
		{"gracePeriodDays as a string", admin, "PUT", "/v1/admin/policy", []byte(`{"mode":"required","gracePeriodDays":"7"}`), "", 400, "invalid_json"},
		{"a list, not an object", u, "POST", verifyPath, []byte(`[]`), "", 400, "invalid_json"},
		{"a string, not an object", u, "POST", verifyPath, []byte(`"totp"`), "", 400, "invalid_json"},
		{"two objects", u, "POST", verifyPath, []byte(`{"type":"totp"}{"type":"totp"}`), "", 400, "invalid_json"},
		{"empty body", u, "POST", verifyPath, []byte(``), "", 400, "invalid_json"},
		{"truncated JSON", u, "POST", verifyPath, []byte(`{"type":"totp","code":"12`), "", 400, "invalid_json"},
		{"nesting 20000 deep", fresh, "POST", enrollPath, []byte(`{"type":"totp","label":` + deep + `}`), "", 400, "invalid_json"},
		{"text/plain", u, "POST", verifyPath, []byte(`{"type":"totp","code":"123456"}`), "text/plain", 415, "unsupported_media_type"},
		{"form encoded", u, "POST", verifyPath, []byte(`type=totp&code=123456`), "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		// Invalid UTF-8.
		{"invalid UTF-8 in a label", fresh, "POST", enrollPath, []byte("{\"type\":\"totp\",\"label\":\"\xff\xfe\"}"), "", 400, "invalid_json"},
		{"invalid UTF-8 in a code", u, "POST", verifyPath, []byte("{\"type\":\"totp\",\"code\":\"12345\xc3\"}"), "", 400, "invalid_json"},
		{"invalid UTF-8 in a policy", admin, "PUT", "/v1/admin/policy", []byte("{\"mode\":\"opt\xe2\x82ional\"}"), "", 400, "invalid_json"},
		// Labels.
		{"label of 10000 characters", fresh, "POST", enrollPath, js(map[string]any{"type": "totp", "label": big(10000)}), "", 400, "invalid_request"},
		{"label of 65 characters", fresh, "POST", enrollPath, js(map[string]any{"type": "totp", "label": big(65)}), "", 400, "invalid_request"},
		{"label with a control character", fresh, "POST", enrollPath, js(map[string]any{"type": "totp", "label": "Phone\u0007\u001b[2J"}), "", 400, "invalid_request"},
		{"rename to 10000 characters", u, "PATCH", "/v1/users/me/factors/" + f.id, js(map[string]any{"label": big(10000)}), "", 400, "invalid_request"},
		{"admin bind with a huge label", admin, "POST", "/v1/admin/users/input-user/factors", js(map[string]any{"type": "email", "email": "input@example.com", "label": big(10000)}), "", 400, "invalid_request"},
		// Malformed ids.
		{"challengeId upper case", u, "POST", "/v1/users/me/challenges/" + strings.ToUpper(cid) + "/verifications", js(map[string]any{"type": "totp", "code": "123456"}), "", 400, "invalid_request"},
		{"challengeId too short", u, "POST", "/v1/users/me/challenges/abc/verifications", js(map[string]any{"type": "totp", "code": "123456"}), "", 400, "invalid_request"},
		{"challengeId too long", u, "POST", "/v1/users/me/challenges/" + cid + "a/verifications", js(map[string]any{"type": "totp", "code": "123456"}), "", 400, "invalid_request"},
		{"challengeId with a NUL", u, "POST", "/v1/users/me/challenges/" + cid[:25] + "%00/verifications", js(map[string]any{"type": "totp", "code": "123456"}), "", 400, "invalid_request"},
		{"factorId with a path", u, "POST", verifyPath, js(map[string]any{"type": "totp", "factorId": "../../U#STATE", "code": "123456"}), "", 400, "invalid_request"},
		{"factorId to delete", u, "DELETE", "/v1/users/me/factors/U%23STATE", nil, "", 400, "invalid_request"},
		{"enrollmentId malformed", fresh, "POST", "/v1/users/me/enrollments/x%27%20OR%201=1/complete", js(map[string]any{"code": "123456"}), "", 400, "invalid_request"},
		{"deliveries factorId malformed", u, "POST", "/v1/users/me/challenges/" + cid + "/deliveries", js(map[string]any{"factorId": "*"}), "", 400, "invalid_request"},
		{"deviceId malformed", u, "DELETE", "/v1/users/me/devices/%2A", nil, "", 400, "invalid_request"},
		{"userId of 129 characters", admin, "GET", "/v1/admin/users/" + long, nil, "", 400, "invalid_request"},
		{"userId with #", admin, "GET", "/v1/admin/users/input-user%23STATE", nil, "", 400, "invalid_request"},
		{"userId with a space", admin, "GET", "/v1/admin/users/input%20user", nil, "", 400, "invalid_request"},
		{"orgId malformed", admin, "PUT", "/v1/admin/organizations/acme%20corp/policy", js(map[string]any{"mode": "optional"}), "", 400, "invalid_request"},
		{"organizationId malformed", u, "POST", "/v1/users/me/challenges", js(map[string]any{"organizationId": "a/b#c"}), "", 400, "invalid_request"},
		{"context.ip not an address", u, "POST", "/v1/users/me/challenges", js(map[string]any{"context": map[string]any{"ip": "999.1.1.1"}}), "", 400, "invalid_request"},
		{"context.deviceId of 200 characters", u, "POST", "/v1/users/me/challenges", js(map[string]any{"context": map[string]any{"deviceId": big(200)}}), "", 400, "invalid_request"},
		// Malformed base64 and encodings.
		{"passkey attestation with broken base64", fresh, "POST", "/v1/users/me/enrollments/" + wa.str("enrollmentId") + "/complete", js(map[string]any{"credential": badCred}), "", 400, "invalid_credential"},
		{"passkey attestation not an object", fresh, "POST", "/v1/users/me/enrollments/" + wa.str("enrollmentId") + "/complete", []byte(`{"credential":"AAAA"}`), "", 400, "invalid_credential"},
		{"TOTP admin secret not base32", admin, "POST", "/v1/admin/users/input-user/factors", js(map[string]any{"type": "totp", "secret": "not base32!!"}), "", 400, "invalid_request"},
		{"TOTP code with letters", fresh, "POST", "/v1/users/me/enrollments/" + totpEnr.str("enrollmentId") + "/complete", js(map[string]any{"code": "12a456"}), "", 400, "invalid_code"},
		{"backup code with symbols", u, "POST", verifyPath, js(map[string]any{"type": "backup_codes", "code": "!!!!-????-****-&&&&"}), "", 400, "invalid_code"},
		{"X-MFA-Token not a JWT", u, "GET", "/v1/users/me/factors", nil, "", 401, "invalid_mfa_token"},
		{"events cursor not base64", admin, "GET", "/v1/admin/users/input-user/events?cursor=%25%25%25", nil, "", 400, "invalid_cursor"},
		{"events cursor not issued here", admin, "GET", "/v1/admin/users/input-user/events?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"USER#someone-else","sk":"x"}`)), nil, "", 400, "invalid_cursor"},
		{"events limit not a number", admin, "GET", "/v1/admin/users/input-user/events?limit=abc", nil, "", 400, "invalid_request"},
		// Addresses.
		{"email not an address", fresh, "POST", enrollPath, js(map[string]any{"type": "email", "email": "not-an-email"}), "", 400, "invalid_request"},
		{"email with a newline (header injection)", fresh, "POST", enrollPath, js(map[string]any{"type": "email", "email": "a@example.com\r\nBcc: victim@example.net"}), "", 400, "invalid_request"},
		{"phone not E.164", fresh, "POST", enrollPath, js(map[string]any{"type": "sms", "phone": "+1abc"}), "", 400, "invalid_request"},
		{"factor type unknown", fresh, "POST", enrollPath, js(map[string]any{"type": "carrier_pigeon"}), "", 400, "unsupported_factor_type"},
	}
	for _, tc := range cases {
		headers := []string{}
		if tc.ctype != "" {
			headers = append(headers, "Content-Type", tc.ctype)
		}
		if tc.name == "X-MFA-Token not a JWT" {
			headers = append(headers, "X-MFA-Token", "%%%.@@@.***")
		}
		r := atkSend(tc.c, tc.method, tc.path, tc.body, headers...)
		if r.Err != nil {
			t.Errorf("%s: %v", tc.name, r.Err)
			continue
		}
		ok := r.Status == tc.status && r.Status < 500
		if tc.code != "" {
			ok = ok && r.isProblem() && r.code() == tc.code
		}
		if len(r.Raw) > 2048 {
			ok = false // the input is never echoed back
		}
		if !ok {
			t.Errorf("%s: %v, want %d %s", tc.name, r, tc.status, tc.code)
		}
	}
	if after := atkSnapshot(t, admin, "input-user", "input-fresh"); after != before {
		t.Errorf("refused input changed state:\nbefore %s\nafter  %s", before, after)
	}
	// A garbage device token is no trusted device, and no error.
	for _, tok := range []string{"%%%not base64%%%", big(4000), "\u0000", base64.RawURLEncoding.EncodeToString(make([]byte, 32))} {
		r := atkCall(t, u, "POST", "/v1/users/me/challenges", map[string]any{"deviceToken": tok})
		if r.Status >= 500 || (r.Status == 201 && r.Body["mfaRequired"] != true) || (r.Status != 201 && !r.isProblem()) {
			t.Errorf("device token %.20q: %v", tok, r)
		}
	}
}

// TestAttackSecretsNeverLogged runs a whole journey with every log line captured, then looks
// for every code, secret and token that went over the wire in the logs and in the table.
func TestAttackSecretsNeverLogged(t *testing.T) {
	logs := &atkLogBuffer{}
	logger := httpapi.NewLogger(logs, slog.LevelDebug)
	s, err := startStack(context.Background(), stackOptions{MotoEndpoint: awstest.Endpoint(), Names: atkNames("logs"), Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	s.App.Log, s.App.API.Log, s.App.Core.Log = logger, logger, logger

	verified := true
	admin := atkUser(t, s, "log-admin", "mfa/admin")
	u := atkClient(t, s, localapi.TokenRequest{Sub: "log-user", Email: "log-user@example.com", EmailVerified: &verified})
	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "rememberDeviceDays": 30})

	var secrets, codes []string // codes are matched as whole 6-digit numbers
	secret := func(v ...string) {
		for _, x := range v {
			if x != "" {
				secrets = append(secrets, x)
			}
		}
	}
	backup := func(list []string) {
		for _, b := range list {
			secret(b, strings.ReplaceAll(b, "-", ""))
		}
	}
	secret(u.token, admin.token)

	// TOTP enrollment (secret, QR, enrollment code, backup codes).
	enr := atkCall(t, u, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp", "label": "Phone"})
	totp1 := enr.Body["totp"].(map[string]any)
	secret(totp1["secret"].(string), totp1["otpauthUri"].(string), totp1["qrPng"].(string))
	sec1 := decodeB32(t, totp1["secret"].(string))
	secret(string(sec1))
	c1 := code(sec1, time.Now(), -1)
	codes = append(codes, c1)
	done := atkCall(t, u, "POST", "/v1/users/me/enrollments/"+enr.str("enrollmentId")+"/complete", map[string]any{"code": c1})
	if done.Status != 200 {
		t.Fatalf("enroll: %v", done)
	}
	fid := done.Body["factor"].(map[string]any)["id"].(string)
	var set1 []string
	for _, b := range asList(done.Body["backupCodes"]) {
		set1 = append(set1, b.(string))
	}
	backup(set1)

	// TOTP sign-in, remembering the device; a wrong code on the way.
	cid := atkOpen(t, u, "me", nil)
	wrong := atkWrongCode(sec1, time.Now(), 11)
	if r := atkVerify(u, "me", cid, map[string]any{"type": "totp", "factorId": fid, "code": wrong}); r.Status != 401 {
		t.Fatalf("wrong code: %v", r)
	}
	c2 := code(sec1, time.Now(), 0)
	codes = append(codes, c2)
	v1 := atkVerify(u, "me", cid, map[string]any{"type": "totp", "factorId": fid, "code": c2, "rememberDevice": true})
	if v1.Status != 200 || v1.str("deviceToken") == "" {
		t.Fatalf("totp sign-in: %v", v1)
	}
	mfa1, device := v1.str("mfaToken"), v1.str("deviceToken")
	secret(mfa1, device)
	if r := atkCall(t, u, "POST", "/v1/users/me/challenges", map[string]any{"deviceToken": device}); r.Body["mfaRequired"] != false {
		t.Fatalf("trusted device: %v", r)
	}

	// Step-up: the token's own verified email is bound at once.
	em := atkCall(t, u, "POST", "/v1/users/me/enrollments", map[string]any{"type": "email", "email": "log-user@example.com"}, "X-MFA-Token", mfa1)
	if em.Status != 201 || em.Body["factor"] == nil {
		t.Fatalf("email with step-up: %v", em)
	}
	emailID := em.Body["factor"].(map[string]any)["id"].(string)

	// Email sign-in.
	cid = atkOpen(t, u, "me", nil)
	if r := atkCall(t, u, "POST", "/v1/users/me/challenges/"+cid+"/deliveries", map[string]any{"factorId": emailID}); r.Status != 202 {
		t.Fatalf("delivery: %v", r)
	}
	e1 := lastOutboxCode(t, s, "log-user@example.com")
	codes = append(codes, e1)
	v2 := atkVerify(u, "me", cid, map[string]any{"type": "email", "factorId": emailID, "code": e1})
	if v2.Status != 200 {
		t.Fatalf("email sign-in: %v", v2)
	}
	secret(v2.str("mfaToken"))

	// Backup code sign-in, then regeneration with step-up.
	v3 := atkVerify(u, "me", atkOpen(t, u, "me", nil), map[string]any{"type": "backup_codes", "code": set1[0]})
	if v3.Status != 200 {
		t.Fatalf("backup sign-in: %v", v3)
	}
	secret(v3.str("mfaToken"))
	regen := atkCall(t, u, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", v3.str("mfaToken"))
	if regen.Status != 201 {
		t.Fatalf("regenerate: %v", regen)
	}
	var set2 []string
	for _, b := range asList(regen.Body["backupCodes"]) {
		set2 = append(set2, b.(string))
	}
	backup(set2)

	// A second authenticator with step-up, then removed with step-up; a TOTP bound by an admin.
	f2 := atkEnrollTOTP(t, u, time.Now(), -1, "X-MFA-Token", v2.str("mfaToken"))
	secret(f2.b32, string(f2.secret))
	codes = append(codes, f2.enrollCode)
	// That step-up was used by the enrollment (one token, one change): another sign-in for the removal.
	v4 := atkVerify(u, "me", atkOpen(t, u, "me", nil), map[string]any{"type": "backup_codes", "code": set2[0]})
	if v4.Status != 200 {
		t.Fatalf("backup sign-in: %v", v4)
	}
	secret(v4.str("mfaToken"))
	if r := atkCall(t, u, "DELETE", "/v1/users/me/factors/"+f2.id, nil, "X-MFA-Token", v2.str("mfaToken")); r.Status != 403 || r.code() != "step_up_required" {
		t.Fatalf("remove with the used step-up: %v", r)
	}
	if r := atkCall(t, u, "DELETE", "/v1/users/me/factors/"+f2.id, nil, "X-MFA-Token", v4.str("mfaToken")); r.Status != 204 {
		t.Fatalf("remove: %v", r)
	}
	ab := atkCall(t, admin, "POST", "/v1/admin/users/log-user/factors", map[string]any{"type": "totp"})
	if ab.Status != 201 {
		t.Fatalf("admin totp: %v", ab)
	}
	totp3 := ab.Body["totp"].(map[string]any)
	secret(totp3["secret"].(string), totp3["otpauthUri"].(string))
	// A stale or forged token and a bad device token go through the error paths too.
	atkCall(t, u, "GET", "/v1/users/me/factors", nil, "X-MFA-Token", mfa1+"x")
	atkCall(t, u, "POST", "/v1/users/me/challenges", map[string]any{"deviceToken": device + "x"})
	// And a store failure is logged (with its error) without the request's secrets.
	atkVerify(u, "me", "aaaaaaaaaaaaaaaaaaaaaaaaaa", map[string]any{"type": "totp", "factorId": fid, "code": c2})

	out := logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	gatewayLines, appLines := 0, 0
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		// One key style: every request line names its request as requestId.
		if _, ok := m["request_id"]; ok {
			t.Errorf("log line in the other key style: %q", l)
		}
		if _, ok := m["requestId"]; !ok {
			continue
		}
		// The API's functions log their own routes; the gateway logs the rest (its local
		// endpoints, unknown routes).
		if route, _ := m["route"].(string); strings.Contains(route, " /v1/") {
			appLines++
		} else {
			gatewayLines++
		}
	}
	if gatewayLines < 1 || appLines < 20 {
		t.Fatalf("the capture missed log lines: %d gateway, %d app lines", gatewayLines, appLines)
	}
	t.Logf("%d log lines captured (%d gateway, %d handler)", len(lines), gatewayLines, appLines)
	codeRE := func(c string) *regexp.Regexp { return regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`) }
	leaks := func(where, text string) {
		for _, x := range secrets {
			if strings.Contains(text, x) {
				t.Errorf("%s holds a secret or token: %.24q…", where, x)
			}
		}
		for _, c := range codes {
			if codeRE(c).MatchString(text) {
				t.Errorf("%s holds the code %s", where, c)
			}
		}
	}
	leaks("the log", out)

	// The table holds none of them either.
	cfg, err := localaws.AWSConfig(context.Background(), awstest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	var dump strings.Builder
	items := 0
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &s.App.Config.TableName})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			items++
			keys := make([]string, 0, len(it))
			for k := range it {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				dump.WriteString(k + "=")
				atkFlatten(&dump, dynamoclienttest.Value(it[k]))
				dump.WriteString("\n")
			}
		}
	}
	if items < 10 {
		t.Fatalf("the scan found only %d items", items)
	}
	leaks("the table", dump.String())
}

// atkFlatten writes every string, number and binary inside an attribute value.
func atkFlatten(b *strings.Builder, v dynamoclient.AttributeValue) {
	switch av := v.(type) {
	case *dynamoclient.AttributeValueMemberS:
		b.WriteString(av.Value)
	case *dynamoclient.AttributeValueMemberN:
		b.WriteString(av.Value)
	case *dynamoclient.AttributeValueMemberB:
		b.Write(av.Value)
		b.WriteString(" " + base64.StdEncoding.EncodeToString(av.Value))
	case *dynamoclient.AttributeValueMemberSS:
		b.WriteString(strings.Join(av.Value, " "))
	case *dynamoclient.AttributeValueMemberNS:
		b.WriteString(strings.Join(av.Value, " "))
	case *dynamoclient.AttributeValueMemberBS:
		for _, x := range av.Value {
			b.Write(x)
			b.WriteString(" ")
		}
	case *dynamoclient.AttributeValueMemberL:
		for _, x := range av.Value {
			atkFlatten(b, x)
			b.WriteString(" ")
		}
	case *dynamoclient.AttributeValueMemberM:
		for k, x := range av.Value {
			b.WriteString(k + ":")
			atkFlatten(b, x)
			b.WriteString(" ")
		}
	}
	b.WriteString(" ")
}
