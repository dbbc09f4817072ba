package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/policy"
)

var adminRouteKeys = []string{
	"GET /v1/admin/users/{userId}",
	"POST /v1/admin/users/{userId}/factors",
	"DELETE /v1/admin/users/{userId}/factors/{factorId}",
	"DELETE /v1/admin/users/{userId}/factors",
	"POST /v1/admin/users/{userId}/unlock",
	"GET /v1/admin/users/{userId}/devices",
	"DELETE /v1/admin/users/{userId}/devices",
	"DELETE /v1/admin/users/{userId}/devices/{deviceId}",
	"GET /v1/admin/users/{userId}/events",
	"GET /v1/admin/policy/events",
}

func TestEveryAdminRouteRefusesUserAndServiceTokens(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("bob"), "bob")
	params := map[string]string{"userId": "bob", "factorId": u.factorID, "deviceId": strings.Repeat("a", 26)}
	for _, route := range adminRouteKeys {
		for name, as := range map[string]who{"user (own id)": user("bob"), "service": service()} {
			r := e.do(as, route, params, map[string]any{"type": "email", "email": "x@example.com"})
			if r.status != 403 || r.str("code") != "admin_scope_required" {
				t.Errorf("%s with a %s token: %d %s", route, name, r.status, r.raw)
			}
		}
	}
	// Nothing changed: bob still has exactly his TOTP factor and its backup codes.
	list := e.do(service(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil)
	if n := len(list.body["factors"].([]any)); n != 2 || !strings.Contains(list.raw, u.factorID) {
		t.Fatalf("factors changed by refused calls: %s", list.raw)
	}
	// An admin token is no service token on the user routes.
	if r := e.do(admin(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil); r.status != 403 {
		t.Errorf("admin token on a user route: %d", r.status)
	}
}

func TestAdminBindsFactorsPerUser(t *testing.T) {
	e := newEnv(t)
	bind := func(uid string, body map[string]any) response {
		return e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": uid}, body)
	}
	// Logto's names are accepted; admin-bound email is pre-verified: active at once, no code.
	r := bind("bob", map[string]any{"type": "EmailVerificationCode", "email": "bob-admin@example.com"})
	if r.status != 201 || r.body["factor"].(map[string]any)["type"] != "email" || r.body["backupCodes"] != nil {
		t.Fatalf("bind email: %d %s", r.status, r.raw)
	}
	for _, m := range e.inbox("bob-admin@example.com") {
		if sixDigits.MatchString(m.Body) {
			t.Fatal("an admin-bound address was sent a code")
		}
	}
	if n := len(e.inbox("bob-admin@example.com")); n != 1 {
		t.Fatalf("bob was not told of the binding (%d messages)", n)
	}
	if r := bind("bob", map[string]any{"type": "email", "email": "BOB-ADMIN@example.com"}); r.status != 409 || r.str("code") != "factor_exists" {
		t.Fatalf("duplicate: %d %s", r.status, r.raw)
	}
	if r := bind("bob", map[string]any{"type": "PhoneVerificationCode", "phone": "+44 20 7946 0111"}); r.status != 201 || r.body["factor"].(map[string]any)["maskedDestination"] != "+44••••••0111" {
		t.Fatalf("bind sms: %d %s", r.status, r.raw)
	}
	if r := bind("bob", map[string]any{"type": "webauthn"}); r.status != 400 {
		t.Fatalf("bind passkey: %d", r.status)
	}

	// TOTP migrated with its secret: active at once and verifies with that secret.
	const migrated = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	r = bind("carol", map[string]any{"type": "Totp", "secret": migrated, "label": "Old app"})
	if r.status != 201 || r.body["totp"] != nil {
		t.Fatalf("bind totp with secret: %d %s", r.status, r.raw)
	}
	fid := r.body["factor"].(map[string]any)["id"].(string)
	ch := e.challenge(user("carol"), "carol")
	if v := e.verify(user("carol"), "carol", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": fid, "code": codeAt(decodeSecret(t, migrated), e.clock.Now(), 0)}); v.status != 200 {
		t.Fatalf("verify migrated totp: %d %s", v.status, v.raw)
	}
	// Without a secret one is generated and shown once.
	r = bind("dave", map[string]any{"type": "totp"})
	if r.status != 201 || !strings.HasPrefix(r.body["totp"].(map[string]any)["otpauthUri"].(string), "otpauth://totp/") {
		t.Fatalf("bind generated totp: %d %s", r.status, r.raw)
	}
	if r := bind("dave", map[string]any{"type": "totp", "secret": "not base32!"}); r.status != 400 {
		t.Fatalf("bad secret: %d", r.status)
	}
	// Backup codes: a set returned once; not for a user with no primary factor.
	if r := bind("erin", map[string]any{"type": "BackupCode"}); r.status != 409 {
		t.Fatalf("backup codes alone: %d %s", r.status, r.raw)
	}
	r = bind("dave", map[string]any{"type": "BackupCode"})
	if r.status != 201 || len(r.body["backupCodes"].([]any)) != 10 {
		t.Fatalf("bind backup codes: %d %s", r.status, r.raw)
	}
	// Nobody else is affected: a user who never enrolled is never prompted.
	if ch := e.challenge(user("frank"), "frank"); ch.body["mfaRequired"] != false {
		t.Fatal("a user without factors is prompted")
	}
}

func TestAdminStatusResetUnlockAndEvents(t *testing.T) {
	e := newEnv(t)
	audit := awstest.WithAuditLog(t, e.table)
	st := e.do(admin(), "GET /v1/admin/users/{userId}", map[string]string{"userId": "nobody"}, nil)
	if st.status != 200 || len(st.body["factors"].([]any)) != 0 || st.body["lockedUntil"] != nil {
		t.Fatalf("unknown user: %d %s", st.status, st.raw)
	}

	alice := user("alice")
	u := e.enrollTOTP(alice, "alice")
	e.clock.Advance(time.Minute)
	cid := e.challenge(alice, "alice").str("challengeId")
	for i := 0; i < 5; i++ {
		e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 5)})
	}
	st = e.do(admin(), "GET /v1/admin/users/{userId}", map[string]string{"userId": "alice"}, nil)
	if st.body["lockedUntil"] == nil || st.body["failedAttempts"] != float64(5) || st.body["lastChallengeAt"] == nil || st.body["backupCodesRemaining"] != float64(10) {
		t.Fatalf("status after failures: %s", st.raw)
	}
	if strings.Contains(st.raw, u.b32) {
		t.Fatal("status shows a secret")
	}
	// Unlock: the right code works at once.
	e.clock.Advance(time.Second)
	if r := e.do(admin(), "POST /v1/admin/users/{userId}/unlock", map[string]string{"userId": "alice"}, nil); r.status != 204 {
		t.Fatalf("unlock: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Second)
	cid = e.challenge(alice, "alice").str("challengeId")
	e.clock.Advance(time.Second)
	if r := e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 0)}); r.status != 200 {
		t.Fatalf("after unlock: %d %s", r.status, r.raw)
	}

	// Events: newest first, paged with an opaque cursor, once the audit writer has copied
	// the answers' events (in Lambda it runs from the table's stream within about a second).
	audit.Copy(t)
	e.query = map[string]string{"limit": "3"}
	page := e.do(admin(), "GET /v1/admin/users/{userId}/events", map[string]string{"userId": "alice"}, nil)
	evs := page.body["events"].([]any)
	if page.status != 200 || len(evs) != 3 || page.str("nextCursor") == "" {
		t.Fatalf("events page: %d %s", page.status, page.raw)
	}
	if evs[0].(map[string]any)["action"] != "verification.succeeded" || evs[0].(map[string]any)["at"].(string) < evs[2].(map[string]any)["at"].(string) {
		t.Fatalf("not newest first: %s", page.raw)
	}
	e.query = map[string]string{"limit": "200", "cursor": page.str("nextCursor")}
	rest := e.do(admin(), "GET /v1/admin/users/{userId}/events", map[string]string{"userId": "alice"}, nil)
	all := append(evs, rest.body["events"].([]any)...)
	actions := map[string]int{}
	for _, ev := range all {
		actions[ev.(map[string]any)["action"].(string)]++
	}
	if actions["verification.failed"] != 5 || actions["user.unlocked"] != 1 || actions["factor.activated"] != 1 {
		t.Fatalf("audit trail: %v", actions)
	}
	e.query = map[string]string{"cursor": "bm90LWEtY3Vyc29y"}
	if r := e.do(admin(), "GET /v1/admin/users/{userId}/events", map[string]string{"userId": "alice"}, nil); r.status != 400 || r.str("code") != "invalid_cursor" {
		t.Fatalf("forged cursor: %d %s", r.status, r.raw)
	}

	// Reset: factors, backup codes, devices and lock gone in one go; the user is not asked.
	if r := e.do(admin(), "DELETE /v1/admin/users/{userId}/factors", map[string]string{"userId": "alice"}, nil); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.raw)
	}
	st = e.do(admin(), "GET /v1/admin/users/{userId}", map[string]string{"userId": "alice"}, nil)
	if len(st.body["factors"].([]any)) != 0 || st.body["backupCodesRemaining"] != float64(0) || len(st.body["devices"].([]any)) != 0 {
		t.Fatalf("after reset: %s", st.raw)
	}
	if ch := e.challenge(alice, "alice"); ch.body["mfaRequired"] != false {
		t.Fatal("a reset user is still asked")
	}
	// She can enroll again without step-up, as a fresh user.
	e.enrollTOTP(alice, "alice")
}

func TestTrustedDevices(t *testing.T) {
	e := newEnv(t)
	e.app.Core.Policy = func(context.Context, string) (policy.Policy, error) {
		p := policy.Default()
		p.RememberDeviceDays = 30
		return p, nil
	}
	alice := user("alice")
	u := e.enrollTOTP(alice, "alice")
	e.clock.Advance(time.Minute)
	signIn := func(remember bool) response {
		cid := e.challenge(alice, "alice").str("challengeId")
		r := e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 0), "rememberDevice": remember})
		e.clock.Advance(30 * time.Second)
		return r
	}
	if r := signIn(false); r.str("deviceToken") != "" {
		t.Fatal("a device token without rememberDevice")
	}
	r := signIn(true)
	token := r.str("deviceToken")
	if r.status != 200 || token == "" {
		t.Fatalf("remember: %d %s", r.status, r.raw)
	}
	challengeWith := func(as who, uid, purpose, tok string) response {
		return e.do(as, "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{"purpose": purpose, "deviceToken": tok})
	}
	if ch := challengeWith(alice, "alice", "sign_in", token); ch.body["mfaRequired"] != false || ch.str("reason") != "trusted_device" {
		t.Fatalf("trusted device: %s", ch.raw)
	}
	if ch := challengeWith(alice, "alice", "step_up", token); ch.body["mfaRequired"] != true {
		t.Fatal("a trusted device skipped a step-up")
	}
	tampered := token[:len(token)-2] + "AA"
	if ch := challengeWith(alice, "alice", "sign_in", tampered); ch.body["mfaRequired"] != true {
		t.Fatal("a tampered device token skipped MFA")
	}
	// Bob cannot use alice's device token.
	e.enrollTOTP(user("bob"), "bob")
	if ch := challengeWith(user("bob"), "bob", "sign_in", token); ch.body["mfaRequired"] != true {
		t.Fatal("another user's device token skipped MFA")
	}
	// The device is listed (without its token) and can be revoked by the user.
	list := e.do(alice, "GET /v1/users/{userId}/devices", map[string]string{"userId": "alice"}, nil)
	devices := list.body["devices"].([]any)
	if len(devices) != 1 || strings.Contains(list.raw, strings.SplitN(token, ".", 2)[1]) {
		t.Fatalf("devices: %s", list.raw)
	}
	did := devices[0].(map[string]any)["id"].(string)
	if r := e.do(user("bob"), "DELETE /v1/users/{userId}/devices/{deviceId}", map[string]string{"userId": "alice", "deviceId": did}, nil); r.status != 403 {
		t.Fatalf("bob revoking alice's device: %d", r.status)
	}
	if r := e.do(alice, "DELETE /v1/users/{userId}/devices/{deviceId}", map[string]string{"userId": "alice", "deviceId": did}, nil); r.status != 204 {
		t.Fatalf("revoke: %d", r.status)
	}
	if ch := challengeWith(alice, "alice", "sign_in", token); ch.body["mfaRequired"] != true {
		t.Fatal("a revoked device still skips MFA")
	}
	// Expiry and the policy switch.
	token = signIn(true).str("deviceToken")
	e.clock.Advance(31 * 24 * time.Hour)
	if ch := challengeWith(alice, "alice", "sign_in", token); ch.body["mfaRequired"] != true {
		t.Fatal("an expired device still skips MFA")
	}
	token = signIn(true).str("deviceToken")
	if r := e.do(admin(), "GET /v1/admin/users/{userId}/devices", map[string]string{"userId": "alice"}, nil); r.status != 200 || len(r.body["devices"].([]any)) != 1 {
		t.Fatalf("admin list: %d %s", r.status, r.raw)
	}
	if r := e.do(admin(), "DELETE /v1/admin/users/{userId}/devices", map[string]string{"userId": "alice"}, nil); r.status != 204 {
		t.Fatalf("admin revoke all: %d", r.status)
	}
	if ch := challengeWith(alice, "alice", "sign_in", token); ch.body["mfaRequired"] != true {
		t.Fatal("a device revoked by an admin still skips MFA")
	}
	token = signIn(true).str("deviceToken")
	e.app.Core.Policy = func(context.Context, string) (policy.Policy, error) { return policy.Default(), nil }
	if ch := challengeWith(alice, "alice", "sign_in", token); ch.body["mfaRequired"] != true {
		t.Fatal("a trusted device skips MFA after the policy turned remembering off")
	}
}

// TestTwoFactorsOfOneTypeCanBeToldApart: a second email bound without a label gets a
// numbered default label, and the masked addresses differ where the addresses do.
func TestTwoFactorsOfOneTypeCanBeToldApart(t *testing.T) {
	e := newEnv(t)
	bind := func(body map[string]any) response {
		return e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": "bea"}, body)
	}
	for _, addr := range []string{"bill@example.com", "bob@example.com", "bert@example.com"} {
		if r := bind(map[string]any{"type": "email", "email": addr}); r.status != 201 {
			t.Fatalf("bind %s: %d %s", addr, r.status, r.raw)
		}
	}
	if r := bind(map[string]any{"type": "email", "email": "bea@example.com", "label": "Work"}); r.status != 201 {
		t.Fatalf("bind labelled: %d %s", r.status, r.raw)
	}
	ch := e.challenge(user("bea"), "bea")
	if ch.status != 201 {
		t.Fatalf("challenge: %d %s", ch.status, ch.raw)
	}
	got := map[string]bool{}
	for _, f := range ch.body["factors"].([]any) {
		m := f.(map[string]any)
		if m["type"] != "email" {
			continue
		}
		shown := m["label"].(string) + ", " + m["maskedDestination"].(string)
		if got[shown] {
			t.Errorf("two email factors both show as %q", shown)
		}
		got[shown] = true
	}
	for _, want := range []string{"Email, b•••l@example.com", "Email 2, b•••@example.com", "Email 3, b•••t@example.com", "Work, b•••@example.com"} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
}
