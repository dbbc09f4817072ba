package main

// Lock-outs that stop guessing without handing attackers a kill switch (issue 13), through the
// local gateway: only answers compared against a factor count, a right answer losing a race to
// itself is no failure, a step-up mfaToken authorizes one change, and a hung store fails closed
// in time.

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// TestLockoutPermanentTakesHours: an attacker who answers as fast as the service lets them,
// waiting out each lock exactly and hammering during it, reaches the permanent lock no sooner
// than the sum of the back-off schedule (23 hours with the defaults), on an injected clock.
func TestLockoutPermanentTakesHours(t *testing.T) {
	s, clk := atkClockedStack(t)
	reg := s.App.Core.Regulation
	admin := atkUser(t, s, "perm-admin", "mfa/admin")
	u := atkUser(t, s, "perm-user")
	f := atkEnrollTOTP(t, u, clk.Now(), 0)
	start := clk.Now()
	counted, windows := 0, 0
	wrong := func(i int) map[string]any {
		return map[string]any{"type": "totp", "factorId": f.id, "code": atkWrongCode(f.secret, clk.Now(), i)}
	}
	for i := 0; ; i++ {
		if i > 3*reg.PermanentAfter {
			t.Fatalf("no permanent lock after %d answers (%d counted)", i, counted)
		}
		cid := atkOpen(t, u, "me", nil)
		r := atkVerify(u, "me", cid, wrong(i))
		if r.Status == 401 {
			counted++
			continue
		}
		if r.Status != 429 || r.code() != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("answer %d: %v", i, r)
		}
		if r.Body["lockedUntil"] == nil {
			break // permanent
		}
		windows++
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || retry <= 0 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		// Hammering during the lock is refused unchecked: it neither counts nor lengthens it.
		for j := range 3 {
			h := atkVerify(u, "me", cid, wrong(1000+j))
			if h.Status != 429 || h.Header.Get("Retry-After") != strconv.Itoa(retry) {
				t.Fatalf("hammering during the lock: %v, want 429 with Retry-After %d", h, retry)
			}
		}
		clk.Advance(time.Duration(retry) * time.Second)
	}
	elapsed := clk.Now().Sub(start)
	st := atkStatus(t, admin, "perm-user")
	t.Logf("permanent lock after %d counted failures, %d lock windows, %v of (injected) time", counted, windows, elapsed)
	if counted != reg.PermanentAfter || st["failedAttempts"] != float64(reg.PermanentAfter) || st["lockedPermanently"] != true {
		t.Fatalf("counted %d, status %v", counted, st)
	}
	if min := reg.MinTimeToPermanent(); elapsed < min || elapsed > min+time.Minute {
		t.Fatalf("permanent lock after %v, want the schedule's %v", elapsed, min)
	}
	if reg.MinTimeToPermanent() < 23*time.Hour {
		t.Fatalf("the schedule reaches the permanent lock in %v: hours, not seconds, is the point", reg.MinTimeToPermanent())
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "at least " + strconv.Itoa(int(reg.MinTimeToPermanent().Hours())) + " hours"; !strings.Contains(string(readme), want) {
		t.Errorf("README's lock schedule does not say %q", want)
	}
	// The permanent lock refuses the right code too, until an admin unlocks.
	clk.Advance(48 * time.Hour)
	right := map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 0)}
	if r := atkVerify(u, "me", atkOpen(t, u, "me", nil), right); r.Status != 429 || r.Body["mfaToken"] != nil {
		t.Fatalf("right code under the permanent lock: %v", r)
	}
	if r := atkCall(t, admin, "POST", "/v1/admin/users/perm-user/unlock", nil); r.Status != 204 && r.Status != 200 {
		t.Fatalf("unlock: %v", r)
	}
	if r := atkVerify(u, "me", atkOpen(t, u, "me", nil), right); r.Status != 200 {
		t.Fatalf("right code after the unlock: %v", r)
	}
}

// TestRefusedAnswersAreNotCounted: answers to a used, expired or dead challenge, and answers
// during a lock, are refused (410 / 429) without being compared or counted, and audited.
func TestRefusedAnswersAreNotCounted(t *testing.T) {
	s, clk := atkClockedStack(t)
	admin := atkUser(t, s, "refuse-admin", "mfa/admin")
	u := atkUser(t, s, "refuse-user")
	f := atkEnrollTOTP(t, u, clk.Now(), 0)
	count := func() any { return atkStatus(t, admin, "refuse-user")["failedAttempts"] }
	right := func() map[string]any {
		return map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 0)}
	}
	wrong := map[string]any{"type": "totp", "factorId": f.id, "code": atkWrongCode(f.secret, clk.Now(), 5)}
	expect := func(what string, r atkResp, status int, problem string) {
		t.Helper()
		if r.Status != status || r.code() != problem || (status != 200 && r.Body["mfaToken"] != nil) {
			t.Fatalf("%s: %v, want %d %s", what, r, status, problem)
		}
	}

	// A used challenge: the same right answer again, and a wrong one.
	clk.Advance(time.Minute)
	used := atkOpen(t, u, "me", nil)
	expect("right answer", atkVerify(u, "me", used, right()), 200, "")
	expect("the same answer again", atkVerify(u, "me", used, right()), 410, "challenge_closed")
	expect("a wrong answer to the used challenge", atkVerify(u, "me", used, wrong), 410, "challenge_closed")
	// An expired challenge.
	clk.Advance(time.Minute)
	expired := atkOpen(t, u, "me", nil)
	clk.Advance(10*time.Minute + time.Second)
	expect("a wrong answer to an expired challenge", atkVerify(u, "me", expired, wrong), 410, "challenge_expired")
	if n := count(); n != float64(0) {
		t.Fatalf("answers to used or expired challenges were counted: %v", n)
	}
	// A dead challenge: 5 wrong answers (which also lock the user for a minute).
	clk.Advance(time.Minute)
	dead := atkOpen(t, u, "me", nil)
	for i := range 5 {
		if r := atkVerify(u, "me", dead, wrong); r.Status != 401 {
			t.Fatalf("wrong answer %d: %v", i+1, r)
		}
	}
	expect("during the lock", atkVerify(u, "me", dead, wrong), 429, "too_many_attempts")
	clk.Advance(61 * time.Second)
	expect("the dead challenge after the lock", atkVerify(u, "me", dead, right()), 410, "challenge_closed")
	if n := count(); n != float64(5) {
		t.Fatalf("failures: %v, want the 5 compared ones", n)
	}
	// Each kind of refusal was audited (a minute apart, so none was rate-limited away), as a
	// refusal, never as a failure.
	reasons := map[string]int{}
	failures := 0
	for _, e := range atkEvents(t, admin, "refuse-user") {
		switch e["action"] {
		case mfa.ActionVerificationRefused:
			reasons[e["reason"].(string)]++
		case mfa.ActionVerificationFailure:
			failures++
		}
	}
	if failures != 5 || reasons["challenge_closed"] < 2 || reasons["challenge_expired"] != 1 || reasons["locked"] != 1 {
		t.Errorf("audit: %d failures, refusals %v", failures, reasons)
	}
}

// TestRaceToItselfIsNotAFailure: a double-click (one right answer sent many times at once to one
// challenge) gives one success and refusals like the winner's, none counted; the same TOTP step
// on another challenge is still a counted replay.
func TestRaceToItselfIsNotAFailure(t *testing.T) {
	s := newStack(t)
	admin := atkUser(t, s, "self-admin", "mfa/admin")
	u := atkUser(t, s, "self-user")
	f := atkEnrollTOTP(t, u, time.Now(), -1)
	race := func(n int, do func() atkResp) map[string]int {
		out := make([]atkResp, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() { <-start; out[i] = do() })
		}
		close(start)
		wg.Wait()
		by := map[string]int{}
		for _, r := range out {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Status != 200 && r.Body["mfaToken"] != nil {
				t.Fatalf("refused, yet a token: %v", r)
			}
			by[strconv.Itoa(r.Status)+" "+r.code()]++
		}
		return by
	}
	failures := func() any { return atkStatus(t, admin, "self-user")["failedAttempts"] }

	cid := atkOpen(t, u, "me", nil)
	right := map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)}
	by := race(20, func() atkResp { return atkVerify(u, "me", cid, right) })
	t.Logf("20 × one TOTP code, one challenge: %v", by)
	if by["200 "] != 1 || by["410 challenge_closed"] != 19 {
		t.Fatalf("double-click: %v, want 1 success and 19 × 410 challenge_closed", by)
	}
	if n := failures(); n != float64(0) {
		t.Fatalf("a right answer that lost to itself was counted: %v", n)
	}
	// The same step on another challenge is a replay, and counts.
	if r := atkVerify(u, "me", atkOpen(t, u, "me", nil), right); r.Status != 401 || r.code() != "verification_failed" {
		t.Fatalf("replay on another challenge: %v", r)
	}
	if n := failures(); n != float64(1) {
		t.Fatalf("the replay was not counted: %v", n)
	}

	// An email code, double-clicked.
	bound := atkCall(t, admin, "POST", "/v1/admin/users/self-user/factors", map[string]any{"type": "email", "email": "self-user@example.com"})
	if bound.Status != 201 {
		t.Fatalf("bind email: %v", bound)
	}
	emailID := bound.Body["factor"].(map[string]any)["id"].(string)
	cid = atkOpen(t, u, "me", nil)
	if r := atkCall(t, u, "POST", "/v1/users/me/challenges/"+cid+"/deliveries", map[string]any{"factorId": emailID}); r.Status != 202 {
		t.Fatalf("delivery: %v", r)
	}
	answer := map[string]any{"type": "email", "factorId": emailID, "code": lastOutboxCode(t, s, "self-user@example.com")}
	by = race(10, func() atkResp { return atkVerify(u, "me", cid, answer) })
	t.Logf("10 × one email code, one challenge: %v", by)
	if by["200 "] != 1 || by["410 challenge_closed"] != 9 {
		t.Fatalf("email double-click: %v", by)
	}
	// A backup code, double-clicked.
	cid = atkOpen(t, u, "me", nil)
	backup := map[string]any{"type": "backup_codes", "code": f.backup[0]}
	by = race(10, func() atkResp { return atkVerify(u, "me", cid, backup) })
	t.Logf("10 × one backup code, one challenge: %v", by)
	if by["200 "] != 1 || by["410 challenge_closed"] != 9 {
		t.Fatalf("backup double-click: %v", by)
	}
	if n := failures(); n != float64(0) {
		t.Fatalf("failures after successes: %v", n)
	}
}

// TestStepUpTokenAuthorizesOneChange: the change an X-MFA-Token authorizes consumes its jti; a
// replay of the token for another factor change is refused and changes nothing, however many
// race. The token itself stays what it was for the app that asked for it.
func TestStepUpTokenAuthorizesOneChange(t *testing.T) {
	s := newStack(t)
	admin := atkUser(t, s, "once-admin", "mfa/admin")
	u := atkUser(t, s, "once-user")
	f := atkEnrollTOTP(t, u, time.Now(), -1)
	signIn := func(answer map[string]any) string {
		t.Helper()
		r := atkVerify(u, "me", atkOpen(t, u, "me", nil), answer)
		if r.Status != 200 || r.str("mfaToken") == "" {
			t.Fatalf("sign-in: %v", r)
		}
		return r.str("mfaToken")
	}
	tok := signIn(map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)})

	regen := atkCall(t, u, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", tok)
	if regen.Status != 201 {
		t.Fatalf("the change the token authorizes: %v", regen)
	}
	newCodes := asList(regen.Body["backupCodes"])
	before := atkStatus(t, admin, "once-user")
	refused := func(what string, r atkResp) {
		t.Helper()
		if r.Status != 403 || r.code() != "step_up_required" {
			t.Errorf("%s with a used step-up: %v, want 403 step_up_required", what, r)
		}
	}
	refused("new backup codes again", atkCall(t, u, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", tok))
	refused("remove the authenticator", atkCall(t, u, "DELETE", "/v1/users/me/factors/"+f.id, nil, "X-MFA-Token", tok))
	// A spent step-up does not even start an enrollment: no new secret is shown.
	enr := atkCall(t, u, "POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"}, "X-MFA-Token", tok)
	refused("start adding an authenticator", enr)
	if enr.Body["totp"] != nil {
		t.Errorf("a refused enrollment showed a secret: %v", enr.Body)
	}
	if after := atkStatus(t, admin, "once-user"); len(asList(after["factors"])) != len(asList(before["factors"])) || after["backupCodesRemaining"] != before["backupCodesRemaining"] {
		t.Errorf("refused changes changed the factors: %v → %v", before, after)
	}
	// Apps still verify it against the JWKS: only its use as a step-up is spent.
	if err := atkAppVerify(atkJWKS(t, s), tok, s.App.Config.MFATokenIssuer, s.App.Config.MFATokenAudience, "once-user", time.Now()); err != nil {
		t.Errorf("the used step-up token no longer verifies for apps: %v", err)
	}

	// Ten changes racing with one fresh token: exactly one goes through.
	fresh := signIn(map[string]any{"type": "backup_codes", "code": newCodes[0]})
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = atkJSON(u, "POST", "/v1/users/me/backup-codes", map[string]any{}, "X-MFA-Token", fresh).Status
		})
	}
	wg.Wait()
	by := map[int]int{}
	for _, st := range statuses {
		by[st]++
	}
	if by[201] != 1 || by[403] != 9 {
		t.Fatalf("10 changes with one token: %v, want exactly one", by)
	}
}

// TestStoreHangFailsClosed freezes moto (SIGSTOP) under a running stack for one request: the
// request gets 503 unavailable, fail-closed, before the function's timeout; after SIGCONT the
// same stack answers normally.
func TestStoreHangFailsClosed(t *testing.T) {
	// startStack points the process environment at its moto; restore it for later tests.
	for _, k := range []string{"AWS_ENDPOINT_URL", "TABLE_NAME", "KMS_KEY_ID", "EMAIL_SENDER", "WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"} {
		t.Setenv(k, os.Getenv(k))
	}
	// Handlers get Lambda's deadline (the function's Timeout), as in AWS and `make run`.
	s, err := startStack(context.Background(), stackOptions{MotoPort: atkFreePort(t), Names: atkNames("frozen"), Log: httpapi.NewLogger(io.Discard, 0), Deadlines: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.moto.Thaw(); s.stop() })
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var timeout time.Duration
	for _, r := range routes {
		if r.RouteKey() == "POST /v1/users/{userId}/challenges/{challengeId}/verifications" {
			timeout = r.Timeout
		}
	}
	if timeout <= dynamostore.DeadlineReserve {
		t.Fatalf("the verify function's timeout %v leaves no time before the store's reserve %v", timeout, dynamostore.DeadlineReserve)
	}

	u := atkUser(t, s, "frozen-user")
	f := atkEnrollTOTP(t, u, time.Now(), -1)
	cid := atkOpen(t, u, "me", nil)
	right := map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, time.Now(), 0)}

	if err := s.moto.Freeze(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := atkVerify(u, "me", cid, right)
	took := time.Since(start)
	if err := s.moto.Thaw(); err != nil {
		t.Fatal(err)
	}
	t.Logf("store frozen: %d %s after %v (function timeout %v)", r.Status, r.code(), took, timeout)
	if r.Err != nil || r.Status != 503 || r.code() != "unavailable" || !r.isProblem() || r.Body["mfaToken"] != nil {
		t.Fatalf("verify with a hung store: %v, want 503 unavailable", r)
	}
	// The store's deadline is the function's less the reserve: the 503 comes before Lambda
	// would kill the function, not after some unrelated client timeout.
	if took >= timeout || took < timeout-dynamostore.DeadlineReserve-time.Second {
		t.Fatalf("answered after %v: want just before the function's timeout %v", took, timeout)
	}
	// Thawed: the same stack, the same challenge (nothing was written), answered.
	if r := atkVerify(u, "me", cid, right); r.Status != 200 || r.str("mfaToken") == "" {
		t.Fatalf("after SIGCONT: %v", r)
	}
}
