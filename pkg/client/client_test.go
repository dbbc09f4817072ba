package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopbackServer is an httptest server bound to 127.0.0.1.
func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestNewChecksTheBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts []Option
		ok   bool
	}{
		{"https://mfa.example.com", nil, true},
		{"https://mfa.example.com/prod/", nil, true},
		{"http://localhost:3000", nil, true},
		{"http://127.0.0.1:3000", nil, true},
		{"http://[::1]:3000", nil, true},
		{"http://mfa.example.com", nil, false},
		{"http://mfa.example.com", []Option{AllowInsecureHTTP()}, true},
		{"ftp://mfa.example.com", nil, false},
		{"mfa.example.com", nil, false},
		{"https://user:pw@mfa.example.com", nil, false},
		{"https://mfa.example.com?x=1", nil, false},
	} {
		_, err := New(tc.url, tc.opts...)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q): %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New error holds the URL's password: %v", err)
		}
	}
}

func TestNewRequestEscapesIDs(t *testing.T) {
	r, err := newRequest("DELETE /v1/users/{userId}/factors/{factorId}", "a|b/c@d", "..")
	if err != nil {
		t.Fatal(err)
	}
	if r.method != "DELETE" || r.path != "/v1/users/a%7Cb%2Fc@d/factors/%2E%2E" || r.route != "/v1/users/{userId}/factors/{factorId}" {
		t.Fatalf("request: %+v", r)
	}
	if _, err := newRequest("GET /v1/users/{userId}/factors", ""); err == nil || !strings.Contains(err.Error(), "userId") {
		t.Fatalf("empty id: %v", err)
	}
}

func TestParseProblem(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	p := parseProblem(429, h, []byte(`{"type":"urn:mfa:problem:too_many_attempts","title":"Too Many Requests","status":429,"code":"too_many_attempts","detail":"locked","lockedUntil":"2026-01-02T03:05:35Z","instance":"urn:request:abc"}`), now)
	if p.Code != "too_many_attempts" || p.RetryAfter != 90*time.Second || p.Instance != "urn:request:abc" || p.Detail != "locked" {
		t.Fatalf("problem: %+v", p)
	}
	if until, ok := p.LockedUntil(); !ok || !until.Equal(now.Add(90*time.Second)) {
		t.Fatalf("lockedUntil: %v %v", until, ok)
	}
	if _, ok := p.Extra["status"]; ok || len(p.Extra) != 1 {
		t.Fatalf("extra: %v", p.Extra)
	}
	if got := p.Error(); got != "mfa: 429 too_many_attempts: locked" {
		t.Fatalf("Error() = %q", got)
	}

	p = parseProblem(401, http.Header{}, []byte(`{"code":"verification_failed","detail":"the code is not valid","attemptsRemaining":3,"field":"code"}`), now)
	if n, ok := p.AttemptsRemaining(); !ok || n != 3 || p.Field != "code" || p.Title != "Unauthorized" {
		t.Fatalf("verification problem: %+v", p)
	}
	p = parseProblem(403, http.Header{}, []byte(`{"message":"Forbidden"}`), now)
	if p.Code != "" || p.Detail != "Forbidden" || p.Extra != nil || p.Error() != "mfa: 403: Forbidden" {
		t.Fatalf("gateway problem: %+v %q", p, p.Error())
	}
	p = parseProblem(502, http.Header{"Retry-After": {"soon"}}, []byte("<html>bad gateway</html>"), now)
	if p.Status != 502 || p.Title != "Bad Gateway" || p.RetryAfter != 0 {
		t.Fatalf("non-JSON problem: %+v", p)
	}

	var err error = fmt.Errorf("wrapped: %w", &Problem{Status: 404, Code: "factor_not_found"})
	if !IsCode(err, "x", "factor_not_found") || IsCode(err, "x") || !IsStatus(err, 404) || IsCode(errors.New("no"), "") {
		t.Fatal("IsCode / IsStatus")
	}
}

func TestBackoffIsBoundedWithJitter(t *testing.T) {
	c, _ := New("https://x.example", WithRetry(RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}))
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 50 {
			if d := c.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

func TestHeadersBasePathAndRedirects(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		switch r.URL.Path {
		case "/prod/.well-known/jwks.json":
			fmt.Fprint(w, `{"keys":[]}`)
		case "/prod/v1/users/me/factors/" + strings.Repeat("a", 26):
			w.WriteHeader(204)
		case "/prod/v1/users/me/devices":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(404)
		}
	}))
	c, err := New(srv.URL+"/prod/", WithToken("source-token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if raw, err := c.JWKS(ctx); err != nil || string(raw) != `{"keys":[]}` {
		t.Fatalf("jwks: %v %s", err, raw)
	}
	if err := c.DeleteFactor(ctx, "me", strings.Repeat("a", 26), WithMFAToken("step-up"), WithAccessToken("call-token")); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListDevices(ctx, "me", WithMFAToken("step-up"))
	if !IsStatus(err, http.StatusFound) {
		t.Fatalf("redirect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if h := seen["/prod/.well-known/jwks.json"]; h.Get("Authorization") != "" || h.Get("X-MFA-Token") != "" {
		t.Errorf("the public JWKS got credentials: %v", h)
	}
	if h := seen["/prod/v1/users/me/factors/"+strings.Repeat("a", 26)]; h.Get("Authorization") != "Bearer call-token" || h.Get("X-MFA-Token") != "step-up" || h.Get("Content-Type") != "" {
		t.Errorf("delete headers: %v", h)
	}
	if _, followed := seen["/elsewhere"]; followed {
		t.Errorf("a redirect was followed with the tokens")
	}
}

func TestTokenSourceIsAskedPerAttempt(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		n := len(got)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"challengeId":"c","mfaRequired":false,"reason":"no_factors","factors":[]}`)
	}))
	i := 0
	c, _ := New(srv.URL, WithRetry(RetryPolicy{BaseDelay: time.Millisecond}), WithTokenSource(func(context.Context) (string, error) {
		i++
		return fmt.Sprintf("t%d", i), nil
	}))
	ch, err := c.CreateChallenge(t.Context(), "u", ChallengeRequest{})
	if err != nil || ch.Reason != "no_factors" {
		t.Fatalf("challenge: %v %+v", err, ch)
	}
	if len(got) != 2 || got[0] != "Bearer t1" || got[1] != "Bearer t2" {
		t.Fatalf("tokens: %v", got)
	}
}

// Opening a challenge is retried, unless it also sends a code: a send is capped.
func TestChallengeThatSendsACodeIsNotRetried(t *testing.T) {
	for _, sendCode := range []bool{false, true} {
		var calls atomic.Int32
		srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, `{"challengeId":"c","mfaRequired":true,"reason":"user_has_factors","factors":[]}`)
		}))
		c, _ := New(srv.URL, WithRetry(RetryPolicy{BaseDelay: time.Millisecond}), WithToken("t"))
		_, err := c.CreateChallenge(t.Context(), "u", ChallengeRequest{SendCode: sendCode})
		switch {
		case sendCode && (err == nil || calls.Load() != 1):
			t.Errorf("sendCode: %d calls, %v: want one call and its 503", calls.Load(), err)
		case !sendCode && (err != nil || calls.Load() != 2):
			t.Errorf("plain challenge: %d calls, %v: want a retry that succeeds", calls.Load(), err)
		}
	}
}
