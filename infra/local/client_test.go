package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	mfaclient "github.com/mfa-service/mfa/pkg/client"
	"github.com/mfa-service/mfa/pkg/policy"
)

// countingTransport counts the requests that reach the network, per "METHOD path".
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// apiClient is a pkg/client client of the local stack with the given token source.
func apiClient(t *testing.T, base string, ts mfaclient.TokenSource, rt http.RoundTripper) *mfaclient.Client {
	t.Helper()
	opts := []mfaclient.Option{mfaclient.WithRetry(mfaclient.RetryPolicy{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: 2 * time.Second})}
	if ts != nil {
		opts = append(opts, mfaclient.WithTokenSource(ts))
	}
	if rt != nil {
		opts = append(opts, mfaclient.WithHTTPClient(&http.Client{Transport: rt, Timeout: 15 * time.Second}))
	}
	c, err := mfaclient.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantProblem asserts that err is a *client.Problem with this status and code.
func wantProblem(t *testing.T, what string, err error, status int, code string) *mfaclient.Problem {
	t.Helper()
	var p *mfaclient.Problem
	if !errors.As(err, &p) {
		t.Fatalf("%s: want a *client.Problem %d %s, got %v", what, status, code, err)
	}
	if p.Status != status || p.Code != code {
		t.Fatalf("%s: got problem %d %q (%v), want %d %q", what, p.Status, p.Code, p, status, code)
	}
	if code != "" && !mfaclient.IsCode(err, code) {
		t.Fatalf("%s: IsCode(%q) is false", what, code)
	}
	return p
}

// wrongCode is a 6-digit code that no step of secret's ±1 window around now accepts.
func wrongCode(secret []byte) string {
	valid := []string{code(secret, time.Now(), -1), code(secret, time.Now(), 0), code(secret, time.Now(), 1), code(secret, time.Now(), 2)}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123457+i*7919)%1_000_000)
		if !slices.Contains(valid, c) {
			return c
		}
	}
}

// TestClientJourney drives the local stack with pkg/client only: enroll, sign in, step-up,
// problems, lock-out, admin and policy.
func TestClientJourney(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()

	userTok := s.client(t, "cl-alice").token
	var tokenCalls atomic.Int32
	userRT := &countingTransport{}
	user := apiClient(t, s.URL, func(context.Context) (string, error) {
		tokenCalls.Add(1)
		return userTok, nil
	}, userRT)
	adminTok := s.client(t, "cl-admin", "mfa/admin").token
	admin := apiClient(t, s.URL, func(context.Context) (string, error) { return adminTok, nil }, nil)
	svcTok := s.client(t, "cl-backend", "mfa/service").token
	svc := apiClient(t, s.URL, func(context.Context) (string, error) { return svcTok, nil }, nil)

	// A new user has no factors.
	list, err := user.ListFactors(ctx, "me")
	if err != nil || len(list.Factors) != 0 {
		t.Fatalf("fresh factors: %v %+v", err, list)
	}

	// Enroll TOTP: a wrong code first (400 on an enrollment), then the right one.
	enr, err := user.StartEnrollment(ctx, "me", mfaclient.StartEnrollmentRequest{Type: mfaclient.TypeTOTP, Label: "Phone"})
	if err != nil {
		t.Fatal(err)
	}
	if enr.Status != "pending" || enr.TOTP == nil || !strings.HasPrefix(enr.TOTP.OTPAuthURI, "otpauth://totp/") || enr.TOTP.QRPNG == "" {
		t.Fatalf("totp enrollment: %+v", enr)
	}
	secret := decodeB32(t, enr.TOTP.Secret)
	_, err = user.CompleteEnrollment(ctx, "me", enr.EnrollmentID, mfaclient.CompleteEnrollmentRequest{Code: wrongCode(secret)})
	p := wantProblem(t, "wrong enrollment code", err, 400, "verification_failed")
	if p.Field != "code" {
		t.Errorf("wrong enrollment code: field %q", p.Field)
	}
	act, err := user.CompleteEnrollment(ctx, "me", enr.EnrollmentID, mfaclient.CompleteEnrollmentRequest{Code: code(secret, time.Now(), -1)})
	if err != nil {
		t.Fatal(err)
	}
	totpID := act.Factor.ID
	if act.Factor.Type != "totp" || len(act.BackupCodes) != 10 {
		t.Fatalf("activation: %+v", act)
	}
	if f, err := user.RenameFactor(ctx, "me", totpID, "Work phone"); err != nil || f.Label != "Work phone" || f.ID != totpID {
		t.Fatalf("rename: %v %+v", err, f)
	}

	// Sign in: a challenge, a wrong code (401, counted), the right code → mfaToken.
	ch, err := user.CreateChallenge(ctx, "me", mfaclient.ChallengeRequest{Purpose: mfaclient.PurposeSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if !ch.MFARequired || ch.DefaultFactorID != totpID || ch.Reason != "user_has_factors" {
		t.Fatalf("challenge: %+v", ch)
	}
	verifyPath := "POST /v1/users/me/challenges/" + ch.ChallengeID + "/verifications"
	_, err = user.Verify(ctx, "me", ch.ChallengeID, mfaclient.VerifyRequest{Type: "totp", FactorID: totpID, Code: wrongCode(secret)})
	p = wantProblem(t, "wrong code", err, 401, "verification_failed")
	if n, ok := p.AttemptsRemaining(); !ok || n != 4 {
		t.Errorf("attemptsRemaining: %d %v", n, ok)
	}
	ver, err := user.Verify(ctx, "me", ch.ChallengeID, mfaclient.VerifyRequest{Type: "totp", FactorID: totpID, Code: code(secret, time.Now(), 0)})
	if err != nil {
		t.Fatal(err)
	}
	if !ver.Verified || ver.MFAToken == "" || ver.Factor.ID != totpID || ver.Factor.Type != "totp" {
		t.Fatalf("verification: %+v", ver)
	}
	if n := userRT.count(verifyPath); n != 2 {
		t.Errorf("verification requests: %d, want 2 (one per call)", n)
	}

	// The mfaToken verifies against the JWKS the client fetched.
	raw, err := user.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v %s", err, raw)
	}
	tok, err := josejwt.ParseSigned(ver.MFAToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	var claims josejwt.Claims
	if len(keys) != 1 || tok.Claims(keys[0].Key, &claims) != nil || claims.Subject != "cl-alice" {
		t.Fatalf("mfaToken does not verify with the JWKS: %d keys, %+v", len(keys), claims)
	}

	// Step-up: a second factor needs the mfaToken. Email, completed with the emailed code.
	const email = "cl-alice@example.com"
	_, err = user.StartEnrollment(ctx, "me", mfaclient.StartEnrollmentRequest{Type: "email", Email: email})
	wantProblem(t, "second factor without step-up", err, 403, "step_up_required")
	stepUp := mfaclient.WithMFAToken(ver.MFAToken)
	enr, err = user.StartEnrollment(ctx, "me", mfaclient.StartEnrollmentRequest{Type: "email", Email: email}, stepUp)
	if err != nil {
		t.Fatal(err)
	}
	if enr.Status != "pending" || enr.Delivery == nil || enr.Delivery.Channel != "email" || strings.Contains(enr.Delivery.MaskedDestination, "cl-alice") {
		t.Fatalf("email enrollment: %+v %+v", enr, enr.Delivery)
	}
	act, err = user.CompleteEnrollment(ctx, "me", enr.EnrollmentID, mfaclient.CompleteEnrollmentRequest{Code: lastOutboxCode(t, s, email)}, stepUp)
	if err != nil {
		t.Fatal(err)
	}
	emailID := act.Factor.ID
	if act.Factor.Type != "email" || len(act.BackupCodes) != 0 {
		t.Fatalf("email activation: %+v", act)
	}
	list, err = user.ListFactors(ctx, "me")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range list.Factors {
		types = append(types, f.Type)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"backup_codes", "email", "totp"}) || list.BackupCodesRemaining != 10 {
		t.Fatalf("factors: %v, %d backup codes", types, list.BackupCodesRemaining)
	}

	// Sign in by email: a delivery, a refused resend (not retried), the code.
	ch, err = user.CreateChallenge(ctx, "me", mfaclient.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := user.SendCode(ctx, "me", ch.ChallengeID, emailID)
	if err != nil || d.Channel != "email" || d.MaskedDestination == "" || !d.ResendAfter.After(time.Now().Add(-time.Second)) {
		t.Fatalf("delivery: %v %+v", err, d)
	}
	_, err = user.SendCode(ctx, "me", ch.ChallengeID, emailID)
	p = wantProblem(t, "resend inside the cool-down", err, 429, "send_limited")
	if p.RetryAfter <= 0 || p.Extra["limit"] != "cooldown" {
		t.Errorf("send_limited: retryAfter %v, extra %v", p.RetryAfter, p.Extra)
	}
	if n := userRT.count("POST /v1/users/me/challenges/" + ch.ChallengeID + "/deliveries"); n != 2 {
		t.Errorf("deliveries requests: %d, want 2 (a 429 delivery is not retried)", n)
	}
	byEmail, err := user.Verify(ctx, "me", ch.ChallengeID, mfaclient.VerifyRequest{Type: "email", FactorID: emailID, Code: lastOutboxCode(t, s, email)})
	if err != nil || byEmail.MFAToken == "" {
		t.Fatalf("verify by email: %v %+v", err, byEmail)
	}

	// Backup codes, devices and removal under step-up.
	_, err = user.RegenerateBackupCodes(ctx, "me")
	wantProblem(t, "regenerate without step-up", err, 403, "step_up_required")
	// The first step-up authorized the email enrollment: one token, one change.
	_, err = user.RegenerateBackupCodes(ctx, "me", stepUp)
	wantProblem(t, "regenerate with a used step-up", err, 403, "step_up_required")
	bc, err := user.RegenerateBackupCodes(ctx, "me", mfaclient.WithMFAToken(byEmail.MFAToken))
	if err != nil || len(bc.BackupCodes) != 10 || bc.Remaining != 10 {
		t.Fatalf("regenerate: %v %+v", err, bc)
	}
	ch, err = user.CreateChallenge(ctx, "me", mfaclient.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byBackup, err := user.Verify(ctx, "me", ch.ChallengeID, mfaclient.VerifyRequest{Type: "backup_codes", Code: bc.BackupCodes[0]})
	if err != nil || byBackup.MFAToken == "" {
		t.Fatalf("verify by backup code: %v %+v", err, byBackup)
	}
	stepUp = mfaclient.WithMFAToken(byBackup.MFAToken)
	if devs, err := user.ListDevices(ctx, "me"); err != nil || len(devs) != 0 {
		t.Fatalf("devices: %v %v", err, devs)
	}
	if err := user.DeleteFactor(ctx, "me", emailID, stepUp); err != nil {
		t.Fatal(err)
	}
	err = user.DeleteFactor(ctx, "me", emailID, stepUp)
	wantProblem(t, "delete again", err, 404, "factor_not_found")

	// Problems: another user's id, an admin route, no token, bad input, an unknown challenge.
	_, err = user.ListFactors(ctx, "cl-bob")
	wantProblem(t, "another user's factors", err, 403, "forbidden")
	_, err = user.AdminStatus(ctx, "cl-alice")
	wantProblem(t, "admin route with a user token (refused by the authorizer)", err, 403, "")
	anon := apiClient(t, s.URL, nil, nil)
	_, err = anon.ListFactors(ctx, "me")
	wantProblem(t, "no token", err, 401, "")
	_, err = user.CreateChallenge(ctx, "me", mfaclient.ChallengeRequest{Purpose: "sometimes"})
	if p := wantProblem(t, "bad purpose", err, 400, "invalid_request"); p.Field != "purpose" || !strings.HasPrefix(p.Instance, "urn:request:") {
		t.Errorf("bad purpose: field %q instance %q", p.Field, p.Instance)
	}
	_, err = user.Verify(ctx, "me", "c"+strings.Repeat("a", 40)+"."+strings.Repeat("b", 22), mfaclient.VerifyRequest{Type: "totp", Code: "123456"})
	wantProblem(t, "unknown challenge", err, 404, "challenge_not_found")
	_, err = user.Verify(ctx, "me", strings.Repeat("a", 26), mfaclient.VerifyRequest{Type: "totp", Code: "123456"})
	wantProblem(t, "malformed challenge id", err, 400, "invalid_request")
	before := userRT.total()
	if _, err := user.Verify(ctx, "me", "", mfaclient.VerifyRequest{Type: "totp", Code: "123456"}); err == nil || mfaclient.IsStatus(err, 404) || strings.Contains(err.Error(), "123456") {
		t.Fatalf("empty challenge id: %v", err)
	}
	if userRT.total() != before {
		t.Errorf("an empty id still sent a request")
	}
	if tokenCalls.Load() == 0 {
		t.Errorf("the token source was never asked")
	}
	boom := errors.New("identity provider down")
	broken := apiClient(t, s.URL, func(context.Context) (string, error) { return "", boom }, nil)
	if _, err := broken.ListFactors(ctx, "me"); !errors.Is(err, boom) {
		t.Fatalf("token source error: %v", err)
	}

	// Lock-out: five wrong answers lock the user; a right code is then refused with 429 and
	// Retry-After, once (not retried); an admin unlocks.
	enr, err = svc.StartEnrollment(ctx, "cl-carol", mfaclient.StartEnrollmentRequest{Type: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	carolSecret := decodeB32(t, enr.TOTP.Secret)
	if _, err := svc.CompleteEnrollment(ctx, "cl-carol", enr.EnrollmentID, mfaclient.CompleteEnrollmentRequest{Code: code(carolSecret, time.Now(), -1)}); err != nil {
		t.Fatal(err)
	}
	carolRT := &countingTransport{}
	carol := apiClient(t, s.URL, func(context.Context) (string, error) { return svcTok, nil }, carolRT)
	ch, err = carol.CreateChallenge(ctx, "cl-carol", mfaclient.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := carol.Verify(ctx, "cl-carol", ch.ChallengeID, mfaclient.VerifyRequest{Type: "totp", Code: wrongCode(carolSecret)})
		if !mfaclient.IsCode(err, "verification_failed", "too_many_attempts") {
			t.Fatalf("wrong answer %d: %v", i+1, err)
		}
	}
	ch, err = carol.CreateChallenge(ctx, "cl-carol", mfaclient.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = carol.Verify(ctx, "cl-carol", ch.ChallengeID, mfaclient.VerifyRequest{Type: "totp", Code: code(carolSecret, time.Now(), 0)})
	p = wantProblem(t, "right code while locked", err, 429, "too_many_attempts")
	if until, ok := p.LockedUntil(); p.RetryAfter <= 0 || !ok || !until.After(time.Now()) {
		t.Errorf("lock: retryAfter %v, lockedUntil %v %v", p.RetryAfter, until, ok)
	}
	if n := carolRT.count("POST /v1/users/cl-carol/challenges/" + ch.ChallengeID + "/verifications"); n != 1 {
		t.Errorf("a 429 verification was sent %d times, want 1", n)
	}
	st, err := admin.AdminStatus(ctx, "cl-carol")
	if err != nil || st.LockedUntil.IsZero() || st.FailedAttempts < 5 || len(st.Factors) == 0 {
		t.Fatalf("locked status: %v %+v", err, st)
	}
	if err := admin.AdminUnlock(ctx, "cl-carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Verify(ctx, "cl-carol", ch.ChallengeID, mfaclient.VerifyRequest{Type: "totp", Code: code(carolSecret, time.Now(), 0)}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}

	// Admin: bind email for bob with Logto's name; twice is a conflict; status.
	b, err := admin.AdminBind(ctx, "cl-bob", mfaclient.BindRequest{Type: "EmailVerificationCode", Email: "cl-bob@example.com"})
	if err != nil || b.Factor == nil || b.Factor.Type != "email" || b.TOTP != nil {
		t.Fatalf("admin bind: %v %+v", err, b)
	}
	_, err = admin.AdminBind(ctx, "cl-bob", mfaclient.BindRequest{Type: "email", Email: "cl-bob@example.com"})
	wantProblem(t, "bind twice", err, 409, "factor_exists")
	// The directory finds bob by that address, and walks every cl- user once.
	found, err := admin.AdminListUsers(ctx, mfaclient.DirectoryRequest{Query: "CL-Bob@example.com"})
	if err != nil || len(found.Users) != 1 || found.Users[0].UserID != "cl-bob" || !slices.Contains(found.Users[0].FactorTypes, "email") {
		t.Fatalf("directory by email: %v %+v", err, found)
	}
	walkedUsers := map[string]int{}
	for u, err := range admin.AdminAllUsers(ctx, mfaclient.DirectoryRequest{Query: "cl-", Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		walkedUsers[u.UserID]++
	}
	if walkedUsers["cl-bob"] != 1 || walkedUsers["cl-carol"] != 1 || walkedUsers["cl-alice"] != 1 {
		t.Fatalf("directory walk: %v", walkedUsers)
	}
	_, err = carol.AdminListUsers(ctx, mfaclient.DirectoryRequest{})
	wantProblem(t, "directory with a user token", err, 403, "")
	b, err = admin.AdminBind(ctx, "cl-bob", mfaclient.BindRequest{Type: "Totp"})
	if err != nil || b.TOTP == nil || b.TOTP.Secret == "" || b.Factor == nil {
		t.Fatalf("admin totp bind: %v %+v", err, b)
	}
	st, err = admin.AdminStatus(ctx, "cl-bob")
	if err != nil || st.UserID != "cl-bob" || len(st.Factors) != 2 || !st.LockedUntil.IsZero() {
		t.Fatalf("bob's status: %v %+v", err, st)
	}
	if devs, err := admin.AdminListDevices(ctx, "cl-bob"); err != nil || len(devs) != 0 {
		t.Fatalf("admin devices: %v %v", err, devs)
	}
	if err := admin.AdminRevokeAllDevices(ctx, "cl-bob"); err != nil {
		t.Fatal(err)
	}
	if err := admin.AdminDeleteFactor(ctx, "cl-bob", b.Factor.ID); err != nil {
		t.Fatal(err)
	}

	// Events, paged by two, equal the iterator's walk, newest first.
	var paged []mfaclient.Event
	req := mfaclient.EventsRequest{Limit: 2}
	pages := 0
	for {
		page, err := admin.AdminEvents(ctx, "cl-alice", req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 2 {
			t.Fatalf("page of %d events with limit 2", len(page.Events))
		}
		pages++
		paged = append(paged, page.Events...)
		if page.NextCursor == "" {
			break
		}
		req.Cursor = page.NextCursor
	}
	if len(paged) < 10 || pages < 5 {
		t.Fatalf("events: %d in %d pages", len(paged), pages)
	}
	var walked []mfaclient.Event
	for ev, err := range admin.AdminAllEvents(ctx, "cl-alice", 3) {
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, ev)
	}
	if len(walked) != len(paged) {
		t.Fatalf("iterator walked %d events, pages held %d", len(walked), len(paged))
	}
	for i := range paged {
		a, b := paged[i], walked[i]
		if !a.At.Equal(b.At) {
			t.Fatalf("event %d differs: %+v vs %+v", i, a, b)
		}
		a.At, b.At = time.Time{}, time.Time{}
		if a != b {
			t.Fatalf("event %d differs: %+v vs %+v", i, paged[i], walked[i])
		}
		if i > 0 && paged[i].At.After(paged[i-1].At) {
			t.Fatalf("events not newest first at %d", i)
		}
	}
	actions := map[string]bool{}
	for _, e := range paged {
		actions[e.Action] = true
	}
	if !actions["factor.activated"] {
		t.Errorf("no factor.activated among %v", actions)
	}
	_, err = admin.AdminEvents(ctx, "cl-alice", mfaclient.EventsRequest{Cursor: "not-a-cursor"})
	wantProblem(t, "forged cursor", err, 400, "invalid_cursor")

	// Reset: alice is back to no MFA.
	if err := admin.AdminReset(ctx, "cl-alice"); err != nil {
		t.Fatal(err)
	}
	if list, err := user.ListFactors(ctx, "me"); err != nil || len(list.Factors) != 0 {
		t.Fatalf("after reset: %v %+v", err, list)
	}
	if ch, err := user.CreateChallenge(ctx, "me", mfaclient.ChallengeRequest{}); err != nil || ch.MFARequired {
		t.Fatalf("challenge after reset: %v %+v", err, ch)
	}

	// Policy: default, put, get, a bad field, an organization's put/get/delete.
	sp, err := admin.AdminGetPolicy(ctx)
	if err != nil || sp.Stored || sp.Effective.Mode != policy.ModeOptional || sp.Scope != "global" || sp.Policy != (policy.Overlay{}) || sp.Sources["mode"] != "default" {
		t.Fatalf("default policy: %v %+v", err, sp)
	}
	pol := policy.Overlay{Mode: policy.Ptr(policy.ModeRequired), GracePeriodDays: policy.Ptr(7)}
	sp, err = admin.AdminPutPolicy(ctx, pol)
	if err != nil || !sp.Stored || sp.Version != 1 || sp.UpdatedBy != "admin:cl-admin" || sp.UpdatedAt.IsZero() {
		t.Fatalf("put policy: %v %+v", err, sp)
	}
	sp, err = admin.AdminGetPolicy(ctx)
	if err != nil || sp.Effective.Mode != policy.ModeRequired || sp.Effective.GracePeriodDays != 7 || sp.Version != 1 ||
		!slices.Equal(sp.Effective.Factors, policy.Default().Factors) || !reflect.DeepEqual(sp.Policy, pol) ||
		sp.Sources["mode"] != "global" || sp.Sources["factors"] != "default" {
		t.Fatalf("get policy: %v %+v", err, sp)
	}
	bad := pol
	bad.Mode = policy.Ptr(policy.Mode("sometimes"))
	_, err = admin.AdminPutPolicy(ctx, bad)
	if p := wantProblem(t, "bad policy", err, 400, "invalid_policy"); p.Field != "mode" {
		t.Errorf("bad policy field: %q", p.Field)
	}
	_, err = admin.AdminGetOrgPolicy(ctx, "acme")
	wantProblem(t, "no org policy", err, 404, "policy_not_found")
	org := policy.Overlay{Factors: &[]string{"webauthn", "totp"}}
	sp, err = admin.AdminPutOrgPolicy(ctx, "acme", org)
	if err != nil || sp.Scope != "organization:acme" || !sp.Stored || !reflect.DeepEqual(sp.Policy, org) {
		t.Fatalf("put org policy: %v %+v", err, sp)
	}
	if sp, err := admin.AdminGetOrgPolicy(ctx, "acme"); err != nil || !slices.Equal(*sp.Policy.Factors, []string{"webauthn", "totp"}) ||
		!slices.Equal(sp.Effective.Factors, []string{"webauthn", "totp"}) || sp.Effective.Mode != policy.ModeRequired || sp.Effective.GracePeriodDays != 7 ||
		sp.Sources["mode"] != "global" || sp.Sources["factors"] != "default+organization" {
		t.Fatalf("get org policy: %v %+v", err, sp)
	}
	if err := admin.AdminDeleteOrgPolicy(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = admin.AdminGetOrgPolicy(ctx, "acme")
	wantProblem(t, "deleted org policy", err, 404, "policy_not_found")
	// The deletion is the newest policy event, then the organization's put.
	pe, err := admin.AdminPolicyEvents(ctx, mfaclient.EventsRequest{Limit: 2})
	if err != nil || len(pe.Events) != 2 || pe.NextCursor == "" ||
		pe.Events[0].Action != "policy.deleted" || pe.Events[0].Reason != "organization:acme" || pe.Events[0].Actor != "admin:cl-admin" ||
		pe.Events[1].Action != "policy.changed" || pe.Events[1].Reason != "organization:acme" {
		t.Fatalf("policy events: %v %+v", err, pe)
	}
	// Put the default back: policies are cached per container for a minute.
	if _, err := admin.AdminPutPolicy(ctx, policy.Overlay{}); err != nil {
		t.Fatal(err)
	}
}

// TestClientRetries checks the retry rule against a scripted server: a GET is retried after
// the Retry-After of a 503; a verification POST never is; a Retry-After beyond the client's
// bound, a deadline or a cancellation end the call at once.
func TestClientRetries(t *testing.T) {
	const token, mfaToken, answer = "tok-secret-123", "mfa-secret-456", "987654"
	var mu sync.Mutex
	calls := map[string]int{}
	var bodies []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method+" "+r.URL.Path]++
		n := calls[r.Method+" "+r.URL.Path]
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"message":"Unauthorized"}`, 401)
			return
		}
		problem := func(status int, code, retryAfter string) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"type":"urn:mfa:problem:%s","title":%q,"status":%d,"code":%q,"detail":"try later"}`, code, http.StatusText(status), status, code)
		}
		switch {
		case r.URL.Path == "/v1/users/u1/factors" && n == 1:
			problem(503, "unavailable", "1")
		case r.URL.Path == "/v1/users/u1/factors":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"factors":[{"id":"f1","type":"totp","label":"Phone"}],"backupCodesRemaining":0}`)
		case strings.HasSuffix(r.URL.Path, "/verifications"):
			raw := make([]byte, 512)
			k, _ := r.Body.Read(raw)
			mu.Lock()
			bodies = append(bodies, string(raw[:k]))
			mu.Unlock()
			if r.Header.Get("X-MFA-Token") != mfaToken {
				problem(400, "missing_header", "")
				return
			}
			problem(503, "unavailable", "1")
		case r.URL.Path == "/v1/users/long/factors":
			problem(429, "too_many_attempts", "3600")
		case r.URL.Path == "/v1/users/gw/factors":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(502)
			fmt.Fprint(w, `{"message":"Internal Server Error"}`)
		default: // always unavailable, a second at a time
			problem(503, "unavailable", "1")
		}
	})
	srv := httptest.NewUnstartedServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	count := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[key]
	}

	c, err := mfaclient.New(srv.URL, mfaclient.WithToken(token),
		mfaclient.WithRetry(mfaclient.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// GET: 503 with Retry-After: 1, then 200. Retried once, after at least a second.
	start := time.Now()
	list, err := c.ListFactors(ctx, "u1")
	if err != nil || len(list.Factors) != 1 || list.Factors[0].ID != "f1" {
		t.Fatalf("retried GET: %v %+v", err, list)
	}
	if n := count("GET /v1/users/u1/factors"); n != 2 {
		t.Fatalf("GET attempts: %d, want 2", n)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("Retry-After not honoured: retried after %v", el)
	}

	// A verification POST answered 503 is not retried; the problem carries Retry-After and no
	// secret of the request.
	cid := strings.Repeat("b", 26)
	start = time.Now()
	_, err = c.Verify(ctx, "u1", cid, mfaclient.VerifyRequest{Type: "totp", Code: answer}, mfaclient.WithMFAToken(mfaToken))
	p := wantProblem(t, "verification 503", err, 503, "unavailable")
	if p.RetryAfter != time.Second || p.Detail != "try later" || p.Type != "urn:mfa:problem:unavailable" {
		t.Errorf("problem: %+v", p)
	}
	if n := count("POST /v1/users/u1/challenges/" + cid + "/verifications"); n != 1 {
		t.Fatalf("verification attempts: %d, want 1", n)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("the verification waited: %v", time.Since(start))
	}
	for _, secret := range []string{token, mfaToken, answer} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds a secret", err)
		}
	}
	mu.Lock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], answer) {
		t.Errorf("verification body: %q", bodies)
	}
	mu.Unlock()

	// Neither are deliveries or enrollment completion.
	_, err = c.SendCode(ctx, "u1", cid, strings.Repeat("c", 26))
	wantProblem(t, "delivery 503", err, 503, "unavailable")
	_, err = c.CompleteEnrollment(ctx, "u1", cid, mfaclient.CompleteEnrollmentRequest{Code: answer})
	wantProblem(t, "complete 503", err, 503, "unavailable")
	if a, b := count("POST /v1/users/u1/challenges/"+cid+"/deliveries"), count("POST /v1/users/u1/enrollments/"+cid+"/complete"); a != 1 || b != 1 {
		t.Fatalf("delivery attempts %d, completion attempts %d; want 1 each", a, b)
	}

	// A Retry-After beyond MaxDelay is not waited for.
	start = time.Now()
	_, err = c.ListFactors(ctx, "long")
	if p := wantProblem(t, "long Retry-After", err, 429, "too_many_attempts"); p.RetryAfter != time.Hour || count("GET /v1/users/long/factors") != 1 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("long Retry-After: %v, %d calls, %v", p.RetryAfter, count("GET /v1/users/long/factors"), time.Since(start))
	}

	// The gateway's own 502 (no problem body) is retried up to MaxAttempts, then returned.
	_, err = c.ListFactors(ctx, "gw")
	if p := wantProblem(t, "gateway 502", err, 502, ""); p.Detail != "Internal Server Error" || count("GET /v1/users/gw/factors") != 3 {
		t.Fatalf("gateway 502: %+v after %d calls", p, count("GET /v1/users/gw/factors"))
	}

	// A deadline shorter than the Retry-After ends the call at once, with both errors.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start = time.Now()
	_, err = c.ListFactors(dctx, "deadline")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !mfaclient.IsStatus(err, 503) || count("GET /v1/users/deadline/factors") != 1 || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("deadline: %v, %d calls, %v", err, count("GET /v1/users/deadline/factors"), time.Since(start))
	}

	// A cancellation during the wait ends it.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = c.ListFactors(cctx, "cancelled")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 800*time.Millisecond || count("GET /v1/users/cancelled/factors") != 1 {
		t.Fatalf("cancel: %v after %v", err, time.Since(start))
	}

	// A connection that fails is a plain error, without the token.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	dc, err := mfaclient.New("http://"+addr, mfaclient.WithToken(token), mfaclient.WithRetry(mfaclient.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.ListFactors(ctx, "u1")
	if _, isProblem := mfaclient.AsProblem(err); err == nil || isProblem || strings.Contains(err.Error(), token) {
		t.Fatalf("dead server: %v", err)
	}
}
