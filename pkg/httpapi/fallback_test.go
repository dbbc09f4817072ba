package httpapi_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/localaws"
)

// inbox reads what moto recorded as sent to one destination, newest last.
func (e *env) inbox(dest string) []localaws.SentMessage {
	e.t.Helper()
	all, err := localaws.Outbox(context.Background(), awstest.Endpoint())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []localaws.SentMessage
	for _, m := range all {
		if m.Destination == dest {
			out = append(out, m)
		}
	}
	return out
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastCode is the code in the newest message to dest, read the way a user reads it.
func (e *env) lastCode(dest string) string {
	e.t.Helper()
	msgs := e.inbox(dest)
	if len(msgs) == 0 {
		e.t.Fatalf("nothing was sent to %s", dest)
	}
	code := sixDigits.FindString(msgs[len(msgs)-1].Body)
	if code == "" {
		e.t.Fatalf("no code in the message to %s", dest)
	}
	return code
}

// enrollEmail binds an email factor through the emailed code and returns its id and the
// backup codes shown with it (if it was the first factor).
func (e *env) enrollEmail(as who, uid, addr string) (string, []string) {
	e.t.Helper()
	r := e.do(as, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": uid}, map[string]any{"type": "email", "email": addr})
	if r.status != 201 || r.str("status") != "pending" {
		e.t.Fatalf("email enrollment: %d %s", r.status, r.raw)
	}
	code := e.lastCode(strings.ToLower(addr))
	if strings.Contains(r.raw, code) {
		e.t.Fatal("the enrollment response contains the emailed code")
	}
	r = e.do(as, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": uid, "enrollmentId": r.str("enrollmentId")}, map[string]any{"code": code})
	if r.status != 200 {
		e.t.Fatalf("complete email: %d %s", r.status, r.raw)
	}
	var backup []string
	if raw, ok := r.body["backupCodes"].([]any); ok {
		for _, c := range raw {
			backup = append(backup, c.(string))
		}
	}
	return r.body["factor"].(map[string]any)["id"].(string), backup
}

func (e *env) deliver(as who, uid, cid, fid string) response {
	e.t.Helper()
	return e.do(as, "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": uid, "challengeId": cid}, map[string]any{"factorId": fid})
}

func TestEmailFactorEndToEnd(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	fid, backup := e.enrollEmail(alice, "alice", "Alice@Example.com")
	if len(backup) != 10 {
		t.Fatalf("first factor: %d backup codes, want 10", len(backup))
	}

	ch := e.challenge(alice, "alice")
	if ch.body["mfaRequired"] != true || ch.str("defaultFactorId") != fid {
		t.Fatalf("challenge: %s", ch.raw)
	}
	if !strings.Contains(ch.raw, `a•••e@example.com`) || strings.Contains(ch.raw, "alice@example.com") {
		t.Fatalf("challenge shows the destination unmasked or not at all: %s", ch.raw)
	}
	cid := ch.str("challengeId")
	d := e.deliver(alice, "alice", cid, fid)
	if d.status != 202 || d.str("maskedDestination") != "a•••e@example.com" || d.str("resendAfter") == "" || d.str("expiresAt") == "" {
		t.Fatalf("delivery: %d %s", d.status, d.raw)
	}
	code := e.lastCode("alice@example.com")
	if strings.Contains(d.raw, code) {
		t.Fatal("the delivery response contains the code")
	}
	// A wrong code first: 401, and the failure count survives a resend.
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if r := e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": fid, "code": wrong}); r.status != 401 || r.str("code") != "verification_failed" {
		t.Fatalf("wrong email code: %d %s", r.status, r.raw)
	}
	// Resend inside the cool-down is refused with Retry-After.
	if r := e.deliver(alice, "alice", cid, fid); r.status != 429 || r.str("code") != "send_limited" || r.headers["Retry-After"] == "" {
		t.Fatalf("resend in cool-down: %d %s", r.status, r.raw)
	}
	e.clock.Advance(31 * time.Second)
	if r := e.deliver(alice, "alice", cid, fid); r.status != 202 {
		t.Fatalf("resend after cool-down: %d %s", r.status, r.raw)
	}
	newCode := e.lastCode("alice@example.com")
	// The replaced code is dead.
	if newCode != code {
		if r := e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": fid, "code": code}); r.status != 401 {
			t.Fatalf("replaced code: %d %s", r.status, r.raw)
		}
	}
	r := e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": fid, "code": newCode})
	if r.status != 200 || r.body["factor"].(map[string]any)["type"] != "email" {
		t.Fatalf("email verify: %d %s", r.status, r.raw)
	}
	if strings.Contains(e.logs.String(), newCode) {
		t.Fatal("a code reached the logs")
	}
	// Reuse of the used code on a fresh challenge is refused.
	ch2 := e.challenge(alice, "alice").str("challengeId")
	if r := e.verify(alice, "alice", ch2, map[string]any{"type": "email", "factorId": fid, "code": newCode}); r.status != 400 || r.str("code") != "code_not_sent" {
		t.Fatalf("code on a challenge it was not sent for: %d %s", r.status, r.raw)
	}
}

func TestEmailCodeRules(t *testing.T) {
	e := newEnv(t)
	alice, bob := user("alice"), user("bob")
	afid, _ := e.enrollEmail(alice, "alice", "alice@example.com")
	bfid, _ := e.enrollEmail(bob, "bob", "bob@example.com")

	// Expired: 10 minutes + 1 second after sending.
	cid := e.challenge(alice, "alice").str("challengeId")
	e.deliver(alice, "alice", cid, afid)
	code := e.lastCode("alice@example.com")
	e.clock.Advance(10*time.Minute + time.Second)
	if r := e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": afid, "code": code}); r.status != 410 {
		t.Fatalf("expired code: %d %s", r.status, r.raw)
	}

	// A's code on B's challenge, and one challenge's code on another challenge.
	acid := e.challenge(alice, "alice").str("challengeId")
	e.deliver(alice, "alice", acid, afid)
	acode := e.lastCode("alice@example.com")
	bcid := e.challenge(bob, "bob").str("challengeId")
	e.deliver(bob, "bob", bcid, bfid)
	if r := e.verify(bob, "bob", bcid, map[string]any{"type": "email", "factorId": bfid, "code": acode}); r.status == 200 {
		t.Fatal("alice's code verified bob")
	}
	acid2 := e.challenge(alice, "alice").str("challengeId")
	e.clock.Advance(31 * time.Second)
	e.deliver(alice, "alice", acid2, afid)
	if code2 := e.lastCode("alice@example.com"); code2 != acode {
		if r := e.verify(alice, "alice", acid2, map[string]any{"type": "email", "factorId": afid, "code": acode}); r.status != 401 {
			t.Fatalf("a code sent for one challenge on another: %d %s", r.status, r.raw)
		}
	}
	// Bob cannot ask for a code to alice's factor, nor name alice's factor on his challenge.
	if r := e.deliver(bob, "alice", acid, afid); r.status != 403 {
		t.Fatalf("bob delivering to alice: %d", r.status)
	}
	if r := e.deliver(bob, "bob", bcid, afid); r.status != 404 {
		t.Fatalf("alice's factor on bob's challenge: %d %s", r.status, r.raw)
	}
	// The destination comes from the factor: the request has no say.
	if r := e.do(alice, "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": "alice", "challengeId": acid}, map[string]any{"factorId": afid, "email": "evil@example.net"}); r.status != 400 || r.str("code") != "unknown_field" {
		t.Fatalf("destination in the request: %d %s", r.status, r.raw)
	}
}

func TestSendCapsPerChallenge(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	fid, _ := e.enrollEmail(alice, "alice", "alice@example.com")
	cid := e.challenge(alice, "alice").str("challengeId")
	for i := 0; i < 5; i++ {
		if r := e.deliver(alice, "alice", cid, fid); r.status != 202 {
			t.Fatalf("send %d: %d %s", i+1, r.status, r.raw)
		}
		e.clock.Advance(31 * time.Second)
	}
	if r := e.deliver(alice, "alice", cid, fid); r.status != 429 || r.str("code") != "send_limited" {
		t.Fatalf("6th send for one challenge: %d %s", r.status, r.raw)
	}
}

func TestSMSFactorAndCountryAllowList(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	// A country outside the default allow-list is refused before anything is sent.
	r := e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "sms", "phone": "+2348031234567"})
	if r.status != 400 || r.str("code") != "country_not_allowed" {
		t.Fatalf("disallowed country: %d %s", r.status, r.raw)
	}
	if len(e.inbox("+2348031234567")) != 0 {
		t.Fatal("a text went to a disallowed country")
	}
	r = e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "sms", "phone": "+1 415 555 01"})
	if r.status != 400 || r.str("field") != "phone" {
		t.Fatalf("a number too short: %d %s", r.status, r.raw)
	}
	const phone = "+442079460958"
	r = e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "sms", "phone": "+44 20 7946 0958", "label": "Work mobile"})
	if r.status != 201 || r.body["delivery"].(map[string]any)["maskedDestination"] == "" {
		t.Fatalf("sms enrollment: %d %s", r.status, r.raw)
	}
	r = e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": r.str("enrollmentId")}, map[string]any{"code": e.lastCode(phone)})
	if r.status != 200 {
		t.Fatalf("sms complete: %d %s", r.status, r.raw)
	}
	fid := r.body["factor"].(map[string]any)["id"].(string)
	cid := e.challenge(alice, "alice").str("challengeId")
	if d := e.deliver(alice, "alice", cid, fid); d.status != 202 || !strings.HasSuffix(d.str("maskedDestination"), "0958") || strings.Contains(d.raw, "7946") {
		t.Fatalf("sms delivery: %d %s", d.status, d.raw)
	}
	r = e.verify(alice, "alice", cid, map[string]any{"type": "sms", "code": e.lastCode(phone)})
	if r.status != 200 {
		t.Fatalf("sms verify without factorId: %d %s", r.status, r.raw)
	}
}

func TestBackupCodes(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	u := e.enrollTOTP(alice, "alice")
	e.clock.Advance(time.Minute)
	tok := e.signIn(alice, u, 0)
	// The first factor came with codes (returned once by complete); regenerate to know them here.
	if r := e.do(alice, "POST /v1/users/{userId}/backup-codes", map[string]string{"userId": "alice"}, nil); r.status != 403 || r.str("code") != "step_up_required" {
		t.Fatalf("regenerate without step-up: %d %s", r.status, r.raw)
	}
	r := e.do(alice.stepUp(tok), "POST /v1/users/{userId}/backup-codes", map[string]string{"userId": "alice"}, nil)
	if r.status != 201 {
		t.Fatalf("regenerate: %d %s", r.status, r.raw)
	}
	var codes []string
	for _, c := range r.body["backupCodes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 || !regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`).MatchString(codes[0]) {
		t.Fatalf("codes %v", codes)
	}

	ch := e.challenge(alice, "alice")
	if ch.str("defaultFactorId") != u.factorID {
		t.Fatalf("backup codes must not be the default beside a primary factor: %s", ch.raw)
	}
	// Case- and separator-insensitive input.
	typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
	r = e.verify(alice, "alice", ch.str("challengeId"), map[string]any{"type": "backup_codes", "code": typed})
	if r.status != 200 || r.body["backupCodesRemaining"] != float64(9) || r.body["enrollmentRequired"] != false {
		t.Fatalf("backup code: %d %s", r.status, r.raw)
	}
	// Reuse is refused.
	cid := e.challenge(alice, "alice").str("challengeId")
	if r := e.verify(alice, "alice", cid, map[string]any{"type": "backup_codes", "code": codes[0]}); r.status != 401 {
		t.Fatalf("reused backup code: %d %s", r.status, r.raw)
	}

	// 30 parallel uses of one code: exactly one success.
	var wg sync.WaitGroup
	statuses := make([]int, 30)
	for i := range statuses {
		cid := e.challenge(alice, "alice").str("challengeId")
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.verify(alice, "alice", cid, map[string]any{"type": "backup_codes", "code": codes[1]}).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d successes for one backup code, want 1 (%v)", ok, statuses)
	}

	// Regeneration kills the old set. (The failures above locked alice; an admin would unlock
	// her — here time passes.)
	e.clock.Advance(16 * time.Minute)
	tok = e.signIn(alice, u, 0)
	r = e.do(alice.stepUp(tok), "POST /v1/users/{userId}/backup-codes", map[string]string{"userId": "alice"}, nil)
	if r.status != 201 {
		t.Fatalf("regenerate again: %d %s", r.status, r.raw)
	}
	cid = e.challenge(alice, "alice").str("challengeId")
	if r := e.verify(alice, "alice", cid, map[string]any{"type": "backup_codes", "code": codes[2]}); r.status != 401 {
		t.Fatalf("old set after regeneration: %d %s", r.status, r.raw)
	}
	newCode := r.body["backupCodes"].([]any)[0].(string)

	// Only backup codes left: verify with one, and the response says enrollmentRequired.
	if d := e.do(service(), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": u.factorID}, nil); d.status != 204 {
		t.Fatalf("remove totp: %d", d.status)
	}
	ch = e.challenge(alice, "alice")
	if ch.body["mfaRequired"] != true {
		t.Fatalf("backup codes alone still require MFA: %s", ch.raw)
	}
	r = e.verify(alice, "alice", ch.str("challengeId"), map[string]any{"type": "backup_codes", "code": newCode})
	if r.status != 200 || r.body["enrollmentRequired"] != true {
		t.Fatalf("backup-only verify: %d %s", r.status, r.raw)
	}
	// Backup codes can't be regenerated without a primary factor.
	if r := e.do(service(), "POST /v1/users/{userId}/backup-codes", map[string]string{"userId": "alice"}, nil); r.status != 409 || r.str("code") != "primary_factor_required" {
		t.Fatalf("regenerate with no primary: %d %s", r.status, r.raw)
	}
	if strings.Contains(e.logs.String(), newCode) || strings.Contains(e.logs.String(), codes[3]) {
		t.Fatal("a backup code reached the logs")
	}
}

func TestPreVerifiedEmailAndNotices(t *testing.T) {
	e := newEnv(t)
	// A user token whose verified email matches binds at once, without a code.
	alice := who{sub: "alice"}
	e.claims = map[string]string{"email": "carol-preverified@example.com", "email_verified": "true"}
	r := e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "email", "email": "CAROL-preverified@example.com"})
	if r.status != 201 || r.str("status") != "active" || len(r.body["backupCodes"].([]any)) != 10 {
		t.Fatalf("pre-verified email: %d %s", r.status, r.raw)
	}
	// The user is told, by email, without any code in it.
	msgs := e.inbox("carol-preverified@example.com")
	if len(msgs) != 1 || sixDigits.MatchString(msgs[0].Body) {
		t.Fatalf("notice: %+v", msgs)
	}
	e.claims = nil
	// A user cannot claim preVerified; a service can.
	if r := e.do(user("bob"), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": "dave-preverified@example.com", "preVerified": true}); r.status != 403 {
		t.Fatalf("user preVerified: %d %s", r.status, r.raw)
	}
	if r := e.do(service(), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": "dave-preverified@example.com", "preVerified": true}); r.status != 201 || r.str("status") != "active" {
		t.Fatalf("service preVerified: %d %s", r.status, r.raw)
	}
	// The same address twice is a conflict.
	if r := e.do(service(), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": "Dave-PreVerified@Example.com", "preVerified": true}); r.status != 409 || r.str("code") != "factor_exists" {
		t.Fatalf("duplicate: %d %s", r.status, r.raw)
	}
	// Removal notifies too.
	list := e.do(service(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil)
	var emailID string
	for _, f := range list.body["factors"].([]any) {
		if m := f.(map[string]any); m["type"] == "email" {
			emailID = m["id"].(string)
		}
	}
	before := len(e.inbox("dave-preverified@example.com"))
	if r := e.do(service(), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "bob", "factorId": emailID}, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if after := e.inbox("dave-preverified@example.com"); len(after) != before+1 || !strings.Contains(strings.ToLower(after[len(after)-1].Subject+after[len(after)-1].Body), "remov") {
		t.Fatalf("removal notice: %+v", after)
	}
}

func TestResendDoesNotResetFailures(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	fid, _ := e.enrollEmail(alice, "alice", "resend@example.com")
	cid := e.challenge(alice, "alice").str("challengeId")
	e.deliver(alice, "alice", cid, fid)
	wrong := func() response {
		code := e.lastCode("resend@example.com")
		w := "000000"
		if w == code {
			w = "111111"
		}
		return e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": fid, "code": w})
	}
	for i := 0; i < 4; i++ {
		if r := wrong(); r.status != 401 || r.body["attemptsRemaining"] != float64(4-i) {
			t.Fatalf("wrong %d: %d %s", i+1, r.status, r.raw)
		}
	}
	e.clock.Advance(31 * time.Second)
	if r := e.deliver(alice, "alice", cid, fid); r.status != 202 {
		t.Fatalf("resend: %d %s", r.status, r.raw)
	}
	if r := wrong(); r.status != 401 || r.body["attemptsRemaining"] != float64(0) {
		t.Fatalf("the resend reset the challenge's count: %d %s", r.status, r.raw)
	}
	// Five consecutive failures lock the user: even the right, fresh code is refused.
	r := e.verify(alice, "alice", cid, map[string]any{"type": "email", "factorId": fid, "code": e.lastCode("resend@example.com")})
	if r.status != 429 || r.str("code") != "too_many_attempts" {
		t.Fatalf("right code after 5 failures: %d %s", r.status, r.raw)
	}
	// A new challenge does not escape the lock either, and no code is sent during it.
	cid2 := e.challenge(alice, "alice").str("challengeId")
	if r := e.deliver(alice, "alice", cid2, fid); r.status != 429 {
		t.Fatalf("send during a lock: %d %s", r.status, r.raw)
	}
}

// An app may ask for the default factor's code with the challenge (sendCode): one request
// instead of two, under the same caps, cool-down and single use as POST …/deliveries.
func TestCodeSentWithTheChallenge(t *testing.T) {
	e := newEnv(t)
	carol := user("carol")
	const addr = "carol.sendcode@example.com"
	fid, _ := e.enrollEmail(carol, "carol", addr)
	before := len(e.inbox(addr)) // the enrollment's code and the notice of the new factor
	open := func(as who, uid string) response {
		return e.do(as, "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{"sendCode": true})
	}

	ch := open(carol, "carol")
	d, _ := ch.body["delivery"].(map[string]any)
	if ch.status != 201 || ch.str("defaultFactorId") != fid || d == nil || d["channel"] != "email" ||
		d["maskedDestination"] != "c•••e@example.com" || d["expiresAt"] == nil || d["resendAfter"] == nil || ch.str("deliveryError") != "" {
		t.Fatalf("challenge with its code: %d %s", ch.status, ch.raw)
	}
	if n := len(e.inbox(addr)); n != before+1 {
		t.Fatalf("%d messages to %s, want %d and the challenge's", n, addr, before)
	}
	code := e.lastCode(addr)
	if strings.Contains(ch.raw, code) || strings.Contains(e.logs.String(), code) {
		t.Fatal("the code reached the response or the logs")
	}
	cid := ch.str("challengeId")
	// The send counted on the challenge: a resend waits for the cool-down.
	if r := e.deliver(carol, "carol", cid, fid); r.status != 429 || r.str("code") != "send_limited" {
		t.Fatalf("resend inside the cool-down: %d %s", r.status, r.raw)
	}
	if r := e.verify(carol, "carol", cid, map[string]any{"type": "email", "factorId": fid, "code": code}); r.status != 200 {
		t.Fatalf("verify the code sent with the challenge: %d %s", r.status, r.raw)
	}
	if r := e.verify(carol, "carol", cid, map[string]any{"type": "email", "factorId": fid, "code": code}); r.status == 200 {
		t.Fatal("the code verified twice")
	}

	// Another user's token opens nothing and sends nothing.
	if r := open(user("mallory"), "carol"); r.status != 403 || len(e.inbox(addr)) != before+1 {
		t.Fatalf("mallory asking for carol's code: %d %s", r.status, r.raw)
	}

	// The user's cap counts these sends: 10 an hour, the enrollment's included. Past it the
	// challenge still opens, without a code, and says why.
	sent := 2 // the enrollment's and the first challenge's
	for i := 0; i < 12; i++ {
		e.clock.Advance(time.Second)
		r := open(carol, "carol")
		if r.status != 201 || r.str("challengeId") == "" {
			t.Fatalf("challenge %d: %d %s", i, r.status, r.raw)
		}
		if r.body["delivery"] != nil {
			sent++
			continue
		}
		if r.str("deliveryError") != "send_limited" {
			t.Fatalf("challenge past the cap: %s", r.raw)
		}
		if r := e.deliver(carol, "carol", r.str("challengeId"), fid); r.status != 429 || r.str("code") != "send_limited" {
			t.Fatalf("a delivery past the cap: %d %s", r.status, r.raw)
		}
		break
	}
	if got := len(e.inbox(addr)) - before + 1; sent != 10 || got != 10 {
		t.Fatalf("%d sends counted, %d messages: want 10 of each (the user's cap)", sent, got)
	}

	// A default factor that receives no code: nothing is sent, nothing is wrong.
	dave := user("dave")
	e.enrollTOTP(dave, "dave")
	if r := open(dave, "dave"); r.status != 201 || r.body["delivery"] != nil || r.str("deliveryError") != "" {
		t.Fatalf("sendCode for a TOTP user: %d %s", r.status, r.raw)
	}
}
