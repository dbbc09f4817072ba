package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEmailFallbackScenario is issue 5's scenario: an admin binds email as a fallback for one
// user; nobody else notices.
func TestEmailFallbackScenario(t *testing.T) {
	s := newStack(t)
	a := s.client(t, "user-a")
	b := s.client(t, "user-b")
	admin := s.client(t, "support-1", "mfa/admin")

	// A never enrolls: never prompted.
	if _, ch, _ := a.call("POST", "/v1/users/me/challenges", map[string]any{}); ch["mfaRequired"] != false {
		t.Fatalf("A prompted: %v", ch)
	}

	// B enrolls TOTP.
	_, enr, _ := b.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
	secret := decodeB32(t, enr["totp"].(map[string]any)["secret"].(string))
	if status, out, _ := b.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, time.Now(), 0)}); status != 200 {
		t.Fatalf("B's totp: %d %v", status, out)
	}

	// An admin binds B's email, with Logto's type name.
	status, bound, _ := admin.call("POST", "/v1/admin/users/user-b/factors", map[string]any{"type": "EmailVerificationCode", "email": "user-b@example.com"})
	if status != 201 {
		t.Fatalf("admin bind: %d %v", status, bound)
	}
	emailID := bound["factor"].(map[string]any)["id"].(string)

	// B's challenge offers TOTP and email.
	_, ch, _ := b.call("POST", "/v1/users/me/challenges", map[string]any{})
	types := map[string]bool{}
	for _, f := range ch["factors"].([]any) {
		types[f.(map[string]any)["type"].(string)] = true
	}
	if ch["mfaRequired"] != true || !types["totp"] || !types["email"] {
		t.Fatalf("B's challenge: %v", ch)
	}

	// B lost the phone: asks for an email code and signs in with it from the outbox.
	cid := ch["challengeId"].(string)
	if status, out, _ := b.call("POST", "/v1/users/me/challenges/"+cid+"/deliveries", map[string]any{"factorId": emailID}); status != 202 {
		t.Fatalf("delivery: %d %v", status, out)
	}
	emailed := lastOutboxCode(t, s, "user-b@example.com")
	status, ver, _ := b.call("POST", "/v1/users/me/challenges/"+cid+"/verifications", map[string]any{"type": "email", "factorId": emailID, "code": emailed})
	if status != 200 || ver["mfaToken"] == nil {
		t.Fatalf("verify by email: %d %v", status, ver)
	}

	// A is still never prompted.
	if _, ch, _ := a.call("POST", "/v1/users/me/challenges", map[string]any{}); ch["mfaRequired"] != false {
		t.Fatalf("A prompted after B's binding: %v", ch)
	}

	// B's audit log shows the admin's binding.
	_, evs, _ := admin.call("GET", "/v1/admin/users/user-b/events?limit=50", nil)
	found := false
	for _, e := range evs["events"].([]any) {
		m := e.(map[string]any)
		if m["action"] == "factor.activated" && m["actor"] == "admin:support-1" && m["factorType"] == "email" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit event of the admin binding: %v", evs)
	}

	// Reset B: B is no longer asked.
	if status, out, _ := admin.call("DELETE", "/v1/admin/users/user-b/factors", nil); status != 204 {
		t.Fatalf("reset: %d %v", status, out)
	}
	if _, ch, _ := b.call("POST", "/v1/users/me/challenges", map[string]any{}); ch["mfaRequired"] != false {
		t.Fatalf("B still asked after reset: %v", ch)
	}
}

var sixDigitCode = regexp.MustCompile(`\b\d{6}\b`)

// lastOutboxCode reads the newest code sent to dest from GET /local/outbox, as a developer would.
func lastOutboxCode(t *testing.T, s *stack, dest string) string {
	t.Helper()
	anon := &client{t: t, base: s.URL, hc: s.client(t, "x").hc}
	_, box, _ := anon.call("GET", "/local/outbox", nil)
	found := ""
	for _, m := range box["messages"].([]any) {
		msg := m.(map[string]any)
		if strings.EqualFold(msg["destination"].(string), dest) {
			if c := sixDigitCode.FindString(msg["body"].(string)); c != "" {
				found = c
			}
		}
	}
	if found == "" {
		t.Fatalf("no code sent to %s in the outbox", dest)
	}
	return found
}
