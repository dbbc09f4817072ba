package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/awstest"
)

func TestUserTokenNeverTouchesAnotherUser(t *testing.T) {
	e := newEnv(t)
	bob := e.enrollTOTP(user("bob"), "bob")
	mallory := user("mallory")
	ch := e.challenge(user("bob"), "bob").str("challengeId")
	cases := []struct {
		route  string
		params map[string]string
		body   any
	}{
		{"GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil},
		{"POST /v1/users/{userId}/enrollments", map[string]string{"userId": "bob"}, map[string]any{"type": "totp"}},
		{"DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "bob", "factorId": bob.factorID}, nil},
		{"POST /v1/users/{userId}/challenges", map[string]string{"userId": "bob"}, map[string]any{}},
		{"POST /v1/users/{userId}/challenges/{challengeId}/verifications", map[string]string{"userId": "bob", "challengeId": ch}, map[string]any{"type": "totp", "factorId": bob.factorID, "code": codeAt(bob.secret, e.clock.Now(), 1)}},
	}
	for _, tc := range cases {
		r := e.do(mallory, tc.route, tc.params, tc.body)
		if r.status != 403 || r.str("code") != "forbidden" {
			t.Errorf("%s as another user: %d %s", tc.route, r.status, r.raw)
		}
		if strings.Contains(r.raw, bob.factorID) {
			t.Errorf("%s leaks bob's factor id", tc.route)
		}
	}
	// Mallory's own id with bob's challenge and factor ids finds nothing of bob's.
	r := e.verify(mallory, "mallory", ch, map[string]any{"type": "totp", "factorId": bob.factorID, "code": codeAt(bob.secret, e.clock.Now(), 1)})
	if r.status != 404 {
		t.Errorf("bob's challenge under mallory's id: %d %s", r.status, r.raw)
	}
	// Mallory's own mfaToken is no step-up for bob, even with a service-free user token.
	m := e.enrollTOTP(mallory, "mallory")
	e.clock.Advance(time.Minute)
	mtok := e.signIn(mallory, m, 0)
	if r := e.do(user("bob").stepUp(mtok), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "bob", "factorId": bob.factorID}, nil); r.status != 403 || r.str("code") != "step_up_required" {
		t.Errorf("another user's mfaToken as step-up: %d %s", r.status, r.raw)
	}
	// bob still has his factor after all of it.
	if list := e.do(user("bob"), "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil); !strings.Contains(list.raw, bob.factorID) {
		t.Fatal("bob's factor was changed by another user")
	}
	// A service token acts on any user.
	if r := e.do(service(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil); r.status != 200 {
		t.Errorf("service token: %d", r.status)
	}
	// "me" is a user token's alias only.
	if r := e.do(service(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "me"}, nil); r.status != 400 {
		t.Errorf("service token with me: %d", r.status)
	}
	// No token at all (a route misconfigured without the authorizer) is refused.
	if r := e.do(who{}, "GET /v1/users/{userId}/factors", map[string]string{"userId": "bob"}, nil); r.status != 401 {
		t.Errorf("no claims: %d", r.status)
	}
}

func TestStepUpForFactorChanges(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	u := e.enrollTOTP(alice, "alice") // the first factor needs no step-up
	e.clock.Advance(time.Minute)

	// A first-factor-only session cannot add a second factor or remove one.
	r := e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp"})
	if r.status != 403 || r.str("code") != "step_up_required" {
		t.Fatalf("second enrollment without step-up: %d %s", r.status, r.raw)
	}
	r = e.do(alice, "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": u.factorID}, nil)
	if r.status != 403 || r.str("code") != "step_up_required" {
		t.Fatalf("delete without step-up: %d %s", r.status, r.raw)
	}
	if r := e.do(alice.stepUp("not-a-token"), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": u.factorID}, nil); r.status != 401 || r.str("code") != "invalid_mfa_token" {
		t.Fatalf("garbage X-MFA-Token: %d %s", r.status, r.raw)
	}

	tok := e.signIn(alice, u, 0)
	second := e.do(alice.stepUp(tok), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp", "label": "Backup phone"})
	if second.status != 201 {
		t.Fatalf("second enrollment with step-up: %d %s", second.status, second.raw)
	}
	secret2 := decodeSecret(t, second.body["totp"].(map[string]any)["secret"].(string))
	params := map[string]string{"userId": "alice", "enrollmentId": second.str("enrollmentId")}
	// Completing it still needs the step-up: starting with one is not enough.
	if r := e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", params, map[string]any{"code": codeAt(secret2, e.clock.Now(), 0)}); r.status != 403 || r.str("code") != "step_up_required" {
		t.Fatalf("completion without step-up: %d %s", r.status, r.raw)
	}
	if r := e.do(alice.stepUp(tok), "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", params, map[string]any{"code": codeAt(secret2, e.clock.Now(), 0)}); r.status != 200 {
		t.Fatalf("completion with step-up: %d %s", r.status, r.raw)
	}

	// A step-up older than 15 minutes is not enough.
	e.clock.Advance(16 * time.Minute)
	if r := e.do(alice.stepUp(tok), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": u.factorID}, nil); r.status == 204 {
		t.Fatal("a stale mfaToken removed a factor")
	}
	fresh := e.signIn(alice, u, 0)
	if r := e.do(alice.stepUp(fresh), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": u.factorID}, nil); r.status != 204 {
		t.Fatalf("delete with step-up: %d %s", r.status, r.raw)
	}
	// A service removes without step-up.
	list := e.do(service(), "GET /v1/users/{userId}/factors", map[string]string{"userId": "alice"}, nil)
	var totpLeft, backupID string
	for _, f := range list.body["factors"].([]any) {
		m := f.(map[string]any)
		switch m["type"] {
		case "totp":
			if totpLeft != "" {
				t.Fatalf("two totp factors after delete: %s", list.raw)
			}
			totpLeft = m["id"].(string)
		case "backup_codes":
			backupID = m["id"].(string)
		}
	}
	if totpLeft == "" || backupID == "" {
		t.Fatalf("factors after delete: %s", list.raw)
	}
	if r := e.do(service(), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": totpLeft}, nil); r.status != 204 {
		t.Fatalf("service delete: %d", r.status)
	}
	// Backup codes alone still ask for MFA (DESIGN §5 rule 5)…
	if ch := e.challenge(alice, "alice"); ch.body["mfaRequired"] != true || ch.str("defaultFactorId") != backupID {
		t.Fatalf("backup codes only: %s", ch.raw)
	}
	// …and with nothing left the user is not prompted.
	if r := e.do(service(), "DELETE /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": backupID}, nil); r.status != 204 {
		t.Fatalf("delete backup codes: %d", r.status)
	}
	if ch := e.challenge(alice, "alice"); ch.body["mfaRequired"] != false {
		t.Fatal("a user whose factors were all removed is still prompted")
	}
}

func TestBadInputIsAClear4xx(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	ch := e.challenge(user("alice"), "alice").str("challengeId")
	verifyRoute := "POST /v1/users/{userId}/challenges/{challengeId}/verifications"
	vp := map[string]string{"userId": "alice", "challengeId": ch}
	cases := []struct {
		name   string
		route  string
		params map[string]string
		body   any
		status int
		code   string
	}{
		{"unknown field", verifyRoute, vp, `{"type":"totp","code":"123456","admin":true}`, 400, "unknown_field"},
		{"wrong type", verifyRoute, vp, `{"type":"totp","code":123456}`, 400, "invalid_json"},
		{"not JSON", verifyRoute, vp, `type=totp`, 400, "invalid_json"},
		{"two objects", verifyRoute, vp, `{"type":"totp","code":"123456"}{}`, 400, "invalid_json"},
		{"invalid UTF-8", verifyRoute, vp, "{\"type\":\"totp\",\"code\":\"\xff\xfe\"}", 400, "invalid_json"},
		{"empty body", verifyRoute, vp, ``, 400, "invalid_json"},
		{"oversize body", verifyRoute, vp, `{"type":"totp","code":"` + strings.Repeat("1", 70<<10) + `"}`, 413, "body_too_large"},
		{"code not digits", verifyRoute, vp, map[string]any{"type": "totp", "code": "12a456"}, 400, "invalid_code"},
		{"missing type", verifyRoute, vp, map[string]any{"code": "123456"}, 400, "invalid_request"},
		{"unsupported type", verifyRoute, vp, map[string]any{"type": "carrier_pigeon", "code": "123456"}, 400, "unsupported_factor_type"},
		{"malformed challenge id", verifyRoute, map[string]string{"userId": "alice", "challengeId": "../../etc"}, map[string]any{"type": "totp", "code": "123456"}, 400, "invalid_request"},
		{"malformed factor id", verifyRoute, vp, map[string]any{"type": "totp", "factorId": "x#y", "code": "123456"}, 400, "invalid_request"},
		{"unknown challenge", verifyRoute, map[string]string{"userId": "alice", "challengeId": "c" + strings.Repeat("a", 40) + "." + strings.Repeat("b", 22)}, map[string]any{"type": "totp", "code": "123456"}, 404, "challenge_not_found"},
		{"malformed challenge id", verifyRoute, map[string]string{"userId": "alice", "challengeId": strings.Repeat("a", 26)}, map[string]any{"type": "totp", "code": "123456"}, 400, "invalid_request"},
		{"unknown factor", verifyRoute, vp, map[string]any{"type": "totp", "factorId": strings.Repeat("b", 26), "code": "123456"}, 404, "factor_not_found"},
		{"huge label", "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "webauthn", "label": strings.Repeat("x", 500)}, 400, ""},
		{"email on totp", "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp", "email": "a@example.com"}, 400, "invalid_request"},
		{"bad purpose", "POST /v1/users/{userId}/challenges", map[string]string{"userId": "alice"}, map[string]any{"purpose": "whatever"}, 400, "invalid_request"},
		{"bad minStrength", "POST /v1/users/{userId}/challenges", map[string]string{"userId": "alice"}, map[string]any{"minStrength": "max"}, 400, "invalid_request"},
		{"malformed user id", "GET /v1/users/{userId}/factors", map[string]string{"userId": "a#b"}, nil, 400, "invalid_request"},
		{"malformed enrollment id", "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": "AAAA"}, map[string]any{"code": "123456"}, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			as := user("alice")
			if tc.name == "malformed user id" {
				as = service()
			}
			r := e.do(as, tc.route, tc.params, tc.body)
			if r.status != tc.status || (tc.code != "" && r.str("code") != tc.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			for _, k := range []string{"type", "title", "status", "detail", "code"} {
				if _, ok := r.body[k]; !ok {
					t.Errorf("problem lacks %q: %s", k, r.raw)
				}
			}
		})
	}
	// None of that counted as a failed verification: the right code still works at once.
	e.clock.Advance(time.Minute)
	if r := e.verify(user("alice"), "alice", ch, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 0)}); r.status != 200 {
		t.Fatalf("after bad input: %d %s", r.status, r.raw)
	}
	// A non-JSON content type is refused before decoding.
	ev := events.APIGatewayV2HTTPRequest{RouteKey: verifyRoute, PathParameters: vp, Headers: map[string]string{"content-type": "text/plain"}, Body: "{}"}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}}
	if r := e.send(verifyRoute, ev); r.status != 415 {
		t.Errorf("text/plain: %d", r.status)
	}
}

func TestFailsClosedWhenTheStoreCannotCount(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	ch := e.challenge(user("alice"), "alice").str("challengeId")
	e.clock.Advance(time.Minute)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &e.table}); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{codeAt(u.secret, e.clock.Now(), 0), "000000"} {
		r := e.verify(user("alice"), "alice", ch, map[string]any{"type": "totp", "factorId": u.factorID, "code": code})
		if r.status != 503 || r.str("code") != "unavailable" || r.str("mfaToken") != "" {
			t.Fatalf("store down: %d %s", r.status, r.raw)
		}
		if strings.Contains(r.raw, "ResourceNotFound") || strings.Contains(r.raw, e.table) {
			t.Fatalf("internal error text reached the client: %s", r.raw)
		}
	}
}

// TestSampleEventsReplay replays every events/*.json (the files `sam local invoke -e` uses)
// against the handler that serves its route.
func TestSampleEventsReplay(t *testing.T) {
	e := newEnv(t)
	// Replayed in this order on one fresh table.
	want := []struct {
		file   string
		status int
	}{
		{"enrollment-start-totp.json", 201},
		{"enrollment-complete.json", 404}, // no such enrollment
		{"enrollment-list-factors.json", 200},
		{"enrollment-delete-factor-service.json", 404},
		{"challenge-create.json", 201},
		{"challenge-delivery.json", 404}, // no such challenge
		{"verify-totp.json", 404},
		{"verify-backup-code.json", 404},
		// A service vouches for the address: it binds at once, with the first backup codes,
		// so regenerating them works.
		{"enrollment-start-email-preverified.json", 201},
		{"enrollment-regenerate-backup-codes.json", 201},
		{"challenge-create-send-code.json", 201}, // the bound address is the default factor: its code goes out
		{"enrollment-list-devices.json", 200},
		{"admin-status.json", 200},
		{"admin-bind-email.json", 409}, // the address the service bound above
		{"admin-events.json", 200},
		{"admin-list-users.json", 200}, // finds user-123 by the address bound above
		{"admin-unlock.json", 204},
		{"admin-reset.json", 204},
		{"jwks-get.json", 200},
	}
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	listed := map[string]bool{}
	for _, w := range want {
		listed[w.file] = true
	}
	for _, f := range files {
		// Cognito trigger events are replayed against the triggers (pkg/cognito), the pages'
		// against the ui function (pkg/webui), stream batches against the event publisher
		// (pkg/eventpublisher) and the audit writer (pkg/auditwriter).
		if strings.HasPrefix(filepath.Base(f), "cognito-") || strings.HasPrefix(filepath.Base(f), "ui-") ||
			strings.HasPrefix(filepath.Base(f), "event-publisher-") || strings.HasPrefix(filepath.Base(f), "audit-writer-") {
			continue
		}
		if !listed[filepath.Base(f)] {
			t.Errorf("%s: add it, with its expected status, to this test", filepath.Base(f))
		}
	}
	for _, w := range want {
		raw, err := os.ReadFile(filepath.Join("../../events", w.file))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", w.file, err)
		}
		if _, served := handlersByRoute[ev.RouteKey]; !served {
			t.Errorf("%s: route %q is served by no handler", w.file, ev.RouteKey)
			continue
		}
		r := e.send(ev.RouteKey, ev)
		if r.status != w.status {
			t.Errorf("%s: %d %s, want %d", w.file, r.status, r.raw, w.status)
		}
		if w.file == "challenge-create-send-code.json" && (r.body["delivery"] == nil || r.str("deliveryError") != "") {
			t.Errorf("%s: no code sent with the challenge: %s", w.file, r.raw)
		}
		if w.file == "admin-list-users.json" && !strings.Contains(r.raw, `"userId":"user-123"`) {
			t.Errorf("%s: user-123 not found by its address: %s", w.file, r.raw)
		}
	}
}

func TestRenameFactor(t *testing.T) {
	e := newEnv(t)
	u := e.enrollTOTP(user("alice"), "alice")
	params := map[string]string{"userId": "alice", "factorId": u.factorID}
	r := e.do(user("alice"), "PATCH /v1/users/{userId}/factors/{factorId}", params, map[string]any{"label": "  Work phone "})
	if r.status != 200 || r.body["factor"].(map[string]any)["label"] != "Work phone" {
		t.Fatalf("rename: %d %s", r.status, r.raw)
	}
	if r := e.do(user("bob"), "PATCH /v1/users/{userId}/factors/{factorId}", params, map[string]any{"label": "mine"}); r.status != 403 {
		t.Fatalf("bob renaming alice's factor: %d", r.status)
	}
	if r := e.do(user("alice"), "PATCH /v1/users/{userId}/factors/{factorId}", map[string]string{"userId": "alice", "factorId": strings.Repeat("z", 26)}, map[string]any{"label": "x"}); r.status != 404 {
		t.Fatalf("unknown factor: %d", r.status)
	}
	if r := e.do(user("alice"), "PATCH /v1/users/{userId}/factors/{factorId}", params, map[string]any{"label": "a\u0000b"}); r.status != 400 {
		t.Fatalf("control character: %d", r.status)
	}
}
