package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/localaws"
)

func lastMessage(t *testing.T, e *env, dest string) localaws.SentMessage {
	t.Helper()
	msgs := e.inbox(dest)
	if len(msgs) == 0 {
		t.Fatalf("nothing was sent to %s", dest)
	}
	return msgs[len(msgs)-1]
}

// The language of a message (DESIGN §4): the request's locale, else the token's locale
// claim, else Accept-Language, else the locale stored with the factor, else the default.
func TestMessagesFollowTheUsersLocale(t *testing.T) {
	e := newEnv(t)
	alice := user("alice")
	addr := "alice-locale@example.com"

	// Enrollment: Accept-Language picks German (RFC 4647: de-AT is German, ko is not offered).
	e.header = map[string]string{"accept-language": "ko-KR, de-AT;q=0.8, en;q=0.5"}
	r := e.do(alice, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "email", "email": addr})
	if r.status != 201 {
		t.Fatalf("enrollment: %d %s", r.status, r.raw)
	}
	if m := e.inbox(addr); len(m) != 1 || m[0].Subject != "Ihr Bestätigungscode für Test MFA" {
		t.Fatalf("enrollment email: %+v", m)
	}
	r = e.do(alice, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": r.str("enrollmentId")}, map[string]any{"code": e.lastCode(addr)})
	if r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.raw)
	}
	fid := r.body["factor"].(map[string]any)["id"].(string)

	// A sign-in from a backend (no claim, no Accept-Language): the locale stored with the factor.
	cid := e.challenge(service(), "alice").str("challengeId")
	if r := e.deliver(service(), "alice", cid, fid); r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "Ihr Bestätigungscode für Test MFA" || !strings.Contains(last.Body, "Anmeldung abzuschließen") {
		t.Errorf("stored locale not used: %q\n%s", last.Subject, last.Body)
	}

	// The token's locale claim beats Accept-Language.
	e.clock.Advance(time.Minute)
	e.claims = map[string]string{"locale": "fr_FR"}
	cid = e.challenge(alice, "alice").str("challengeId")
	e.header = map[string]string{"accept-language": "ja"}
	e.claims = map[string]string{"locale": "fr_FR"}
	if r := e.deliver(alice, "alice", cid, fid); r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "Votre code de vérification Test MFA" {
		t.Errorf("claim: subject %q", last.Subject)
	}

	// An explicit locale on the delivery beats everything.
	e.clock.Advance(time.Minute)
	e.claims = map[string]string{"locale": "fr"}
	r = e.do(alice, "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": "alice", "challengeId": cid}, map[string]any{"factorId": fid, "locale": "zh-CN"})
	if r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "您的 Test MFA 验证码" {
		t.Errorf("explicit: subject %q", last.Subject)
	}
	// … and one on the challenge carries to its deliveries.
	e.clock.Advance(time.Minute)
	e.claims = nil
	r = e.do(alice, "POST /v1/users/{userId}/challenges", map[string]string{"userId": "alice"}, map[string]any{"locale": "es-MX"})
	if r.status != 201 {
		t.Fatalf("challenge: %d %s", r.status, r.raw)
	}
	if r := e.deliver(alice, "alice", r.str("challengeId"), fid); r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "Tu código de verificación de Test MFA" {
		t.Errorf("challenge locale: subject %q", last.Subject)
	}

	// A malformed locale is a clear 400 on every route that takes one.
	for _, call := range []struct {
		route  string
		params map[string]string
		body   map[string]any
	}{
		{"POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp", "locale": "de_DE!"}},
		{"POST /v1/users/{userId}/challenges", map[string]string{"userId": "alice"}, map[string]any{"locale": "12"}},
		{"POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": "alice", "challengeId": cid}, map[string]any{"factorId": fid, "locale": "not a tag"}},
		{"POST /v1/admin/users/{userId}/factors", map[string]string{"userId": "alice"}, map[string]any{"type": "email", "email": "x@example.com", "locale": "??"}},
	} {
		as := alice
		if strings.Contains(call.route, "/admin/") {
			as = admin()
		}
		if r := e.do(as, call.route, call.params, call.body); r.status != 400 || r.str("code") != "invalid_request" || r.str("field") != "locale" {
			t.Errorf("%s with a bad locale: %d %s", call.route, r.status, r.raw)
		}
	}
}

// An admin bind stores the explicit locale, else the user's newest one, never the admin's
// own; the user's security notice is in that language.
func TestAdminBindStoresTheUsersLocale(t *testing.T) {
	e := newEnv(t)
	addr := "bob-locale@example.com"
	e.header = map[string]string{"accept-language": "en"}
	e.claims = map[string]string{"locale": "en"}
	r := e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": addr, "locale": "ja"})
	if r.status != 201 {
		t.Fatalf("bind: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "Test MFA アカウントにサインイン方法が追加されました" {
		t.Errorf("notice: subject %q", last.Subject)
	}
	e.claims = nil
	fid := r.body["factor"].(map[string]any)["id"].(string)
	cid := e.challenge(service(), "bob").str("challengeId")
	if r := e.deliver(service(), "bob", cid, fid); r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, addr); last.Subject != "Test MFA の確認コード" {
		t.Errorf("code after an admin bind: subject %q", last.Subject)
	}
	// A second bind without a locale takes the user's (ja), not the admin's (en).
	e.header = map[string]string{"accept-language": "en"}
	e.claims = map[string]string{"locale": "en"}
	r = e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": "bob2-locale@example.com"})
	if r.status != 201 {
		t.Fatalf("bind: %d %s", r.status, r.raw)
	}
	if last := lastMessage(t, e, "bob2-locale@example.com"); last.Subject != "Test MFA アカウントにサインイン方法が追加されました" {
		t.Errorf("second bind notice: subject %q", last.Subject)
	}
}
