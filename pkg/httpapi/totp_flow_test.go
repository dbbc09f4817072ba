package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/awstest"
)

func TestTOTPEnrollChallengeVerify(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")

	// Before enrolling, a user is never prompted.
	ch := e.challenge(alice, "alice")
	if ch.body["mfaRequired"] != false || ch.str("reason") != "no_factors" {
		t.Fatalf("challenge without factors: %s", ch.raw)
	}

	r := e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp", "label": "Work phone"})
	if r.status != 201 {
		t.Fatalf("enroll: %d %s", r.status, r.raw)
	}
	totp := r.body["totp"].(map[string]any)
	uri, _ := totp["otpauthUri"].(string)
	if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "issuer=Test") {
		t.Errorf("otpauthUri %q", uri)
	}
	if png, err := base64.StdEncoding.DecodeString(totp["qrPng"].(string)); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("qrPng is not a base64 PNG")
	}
	secret := decodeSecret(t, totp["secret"].(string))
	if len(secret) != 20 {
		t.Fatalf("secret is %d bytes, want 20", len(secret))
	}
	eid := r.str("enrollmentId")

	// A wrong code does not complete it; the right one does.
	bad := e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": eid}, map[string]any{"code": codeAt(secret, e.clock.Now(), 3)})
	if bad.status != 400 || bad.str("code") != "verification_failed" {
		t.Fatalf("wrong enrollment code: %d %s", bad.status, bad.raw)
	}
	enrollCode := codeAt(secret, e.clock.Now(), 0)
	r = e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": eid}, map[string]any{"code": enrollCode})
	if r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.raw)
	}
	factorID := r.body["factor"].(map[string]any)["id"].(string)
	if strings.Contains(r.raw, totp["secret"].(string)) {
		t.Fatal("the secret is shown again after enrollment")
	}
	// Completing twice is refused.
	if again := e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": eid}, map[string]any{"code": enrollCode}); again.status != 404 {
		t.Errorf("second completion: %d", again.status)
	}

	// Factors list: no secret, the factor is there.
	list := e.do(alice, "GET /v1/users/{userId}/factors", map[string]string{"userId": "me"}, nil)
	if list.status != 200 || !strings.Contains(list.raw, factorID) || strings.Contains(list.raw, totp["secret"].(string)) {
		t.Fatalf("factors: %d %s", list.status, list.raw)
	}

	ch = e.challenge(alice, "alice")
	if ch.body["mfaRequired"] != true || ch.str("defaultFactorId") != factorID || ch.str("reason") != "user_has_factors" {
		t.Fatalf("challenge: %s", ch.raw)
	}
	cid := ch.str("challengeId")

	// The enrollment code's step was consumed: it cannot sign in.
	r = e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": factorID, "code": enrollCode})
	if r.status != 401 || r.str("code") != "verification_failed" {
		t.Fatalf("enrollment code reused for sign-in: %d %s", r.status, r.raw)
	}

	e.clock.Advance(30 * time.Second)
	code := codeAt(secret, e.clock.Now(), 0)
	r = e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": factorID, "code": code})
	if r.status != 200 || r.body["verified"] != true || r.str("mfaToken") == "" || r.body["factor"].(map[string]any)["type"] != "totp" {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}

	// Replay of the same code on a new challenge: refused with a problem.
	ch2 := e.challenge(alice, "alice")
	r = e.verify(alice, "alice", ch2.str("challengeId"), map[string]any{"type": "totp", "factorId": factorID, "code": code})
	if r.status != 401 || r.str("code") != "verification_failed" || r.headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("replayed code: %d %s", r.status, r.raw)
	}
	// The answered challenge is closed.
	e.clock.Advance(30 * time.Second)
	r = e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": factorID, "code": codeAt(secret, e.clock.Now(), 0)})
	if r.status != 410 || r.str("code") != "challenge_closed" {
		t.Fatalf("answered challenge reused: %d %s", r.status, r.raw)
	}
	// Without factorId, the challenge's TOTP factor is used.
	ch3 := e.challenge(alice, "alice")
	r = e.verify(alice, "alice", ch3.str("challengeId"), map[string]any{"type": "totp", "code": codeAt(secret, e.clock.Now(), 0)})
	if r.status != 200 {
		t.Fatalf("verify without factorId: %d %s", r.status, r.raw)
	}
}

func TestTOTPWindowThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	e.clock.Advance(10 * time.Minute) // far from the enrollment step
	for _, tc := range []struct {
		steps  int64
		status int
	}{{-2, 401}, {2, 401}, {-1, 200}, {1, 200}} {
		ch := e.challenge(user("alice"), "alice")
		r := e.verify(user("alice"), "alice", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), tc.steps)})
		if r.status != tc.status {
			t.Errorf("step %+d: %d %s, want %d", tc.steps, r.status, r.raw, tc.status)
		}
	}
}

func TestConcurrentSubmissionsOfOneCodeSucceedOnce(t *testing.T) {
	for _, sameChallenge := range []bool{false, true} {
		name := map[bool]string{false: "one challenge each", true: "one shared challenge"}[sameChallenge]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			u := e.enrollTOTP(user("alice"), "alice")
			e.clock.Advance(time.Minute)
			code := codeAt(u.secret, e.clock.Now(), 0)
			const n = 20
			ids := make([]string, n)
			shared := e.challenge(user("alice"), "alice").str("challengeId")
			for i := range ids {
				ids[i] = shared
				if !sameChallenge {
					ids[i] = e.challenge(user("alice"), "alice").str("challengeId")
				}
			}
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = e.verify(user("alice"), "alice", ids[i], map[string]any{"type": "totp", "factorId": u.factorID, "code": code}).status
				}()
			}
			wg.Wait()
			ok := 0
			for _, s := range statuses {
				if s == 200 {
					ok++
				} else if s != 401 && s != 410 && s != 409 && s != 429 {
					t.Errorf("unexpected status %d", s)
				}
			}
			if ok != 1 {
				t.Fatalf("%d successes for one code, want exactly 1 (statuses %v)", ok, statuses)
			}
		})
	}
}

func TestLockoutAcrossChallenges(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	u := e.enrollTOTP(alice, "alice")
	e.clock.Advance(time.Minute)
	wrong := codeAt(u.secret, e.clock.Now(), 5)

	ch := e.challenge(alice, "alice").str("challengeId")
	for i := 0; i < 5; i++ {
		r := e.verify(alice, "alice", ch, map[string]any{"type": "totp", "factorId": u.factorID, "code": wrong})
		if r.status != 401 {
			t.Fatalf("wrong code %d: %d %s", i+1, r.status, r.raw)
		}
	}
	failures := func() any {
		return e.do(admin(), "GET /v1/admin/users/{userId}", map[string]string{"userId": "alice"}, nil).body["failedAttempts"]
	}
	// The user is now locked: a new challenge does not reset it and a right code is refused,
	// unchecked and not counted (DESIGN §6.4): the lock stays 1 minute.
	fresh := e.challenge(alice, "alice").str("challengeId")
	right := func(cid string) response {
		return e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 0)})
	}
	for range 3 {
		r := right(fresh)
		if r.status != 429 || r.str("code") != "too_many_attempts" || r.headers["Retry-After"] != "60" {
			t.Fatalf("right code during lock: %d %s %v", r.status, r.raw, r.headers)
		}
	}
	if n := failures(); n != float64(5) {
		t.Fatalf("answers during the lock were counted: %v", n)
	}
	// The first challenge is dead after 5 wrong answers: refused, not counted.
	e.clock.Advance(61 * time.Second)
	r := right(ch)
	if r.status != 410 || r.str("code") != "challenge_closed" {
		t.Fatalf("dead challenge: %d %s", r.status, r.raw)
	}
	if n := failures(); n != float64(5) {
		t.Fatalf("an answer to a dead challenge was counted: %v", n)
	}
	// After the back-off a wrong code locks again at once, for longer (failures are
	// consecutive, not per challenge): 6 failures, 2 minutes.
	if r := e.verify(alice, "alice", fresh, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 5)}); r.status != 401 {
		t.Fatalf("sixth failure: %d", r.status)
	}
	if r := right(fresh); r.status != 429 || r.headers["Retry-After"] != "120" {
		t.Fatalf("during the 2-minute lock: %d %v", r.status, r.headers)
	}
	e.clock.Advance(2 * time.Minute)
	if r := right(e.challenge(alice, "alice").str("challengeId")); r.status != 200 {
		t.Fatalf("after the lock: %d %s", r.status, r.raw)
	}
	// A success resets the count.
	if n := failures(); n != float64(0) {
		t.Fatalf("failures after a success: %v", n)
	}
}

func TestTableScanHoldsNoSecret(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	e.clock.Advance(time.Minute)
	tok := e.signIn(user("alice"), u, 0)
	// A pending enrollment too.
	pending := e.do(user("alice").stepUp(tok), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp"})
	pendingSecret := pending.body["totp"].(map[string]any)["secret"].(string)

	db := dynamodb.NewFromConfig(awstest.Config(t))
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: &e.table})
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := json.Marshal(out.Items)
	needles := map[string][]byte{
		"totp secret (base32)":    []byte(u.b32),
		"totp secret (raw)":       u.secret,
		"pending secret (base32)": []byte(pendingSecret),
		"pending secret (raw)":    decodeSecret(t, pendingSecret),
		"mfaToken":                []byte(tok),
	}
	for _, item := range out.Items {
		for name, v := range item {
			var b []byte
			switch av := v.(type) {
			case *types.AttributeValueMemberB:
				b = av.Value
			case *types.AttributeValueMemberS:
				b = []byte(av.Value)
			}
			for what, needle := range needles {
				if len(b) > 0 && strings.Contains(string(b), string(needle)) {
					t.Errorf("attribute %s holds the %s", name, what)
				}
			}
		}
	}
	if strings.Contains(string(dump), u.b32) {
		t.Error("the table dump contains the secret")
	}
}

func TestCodesSecretsAndTokensNeverLogged(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	e.clock.Advance(time.Minute)
	tok := e.signIn(user("alice"), u, 0)
	ch := e.challenge(user("alice"), "alice")
	wrong := codeAt(u.secret, e.clock.Now(), 7)
	e.verify(user("alice"), "alice", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": u.factorID, "code": wrong})
	logs := e.logs.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("no request logs captured: %q", logs)
	}
	for what, s := range map[string]string{"secret": u.b32, "mfaToken": tok, "wrong code": wrong} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the %s", what)
		}
	}
}
