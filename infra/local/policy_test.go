package main

import (
	"strings"
	"testing"
	"time"
)

// enrollTOTPVia enrolls an authenticator app for the client's user and returns the factor id
// and secret.
func enrollTOTPVia(t *testing.T, c *client, headers ...string) (string, []byte) {
	t.Helper()
	_, enr, _ := c.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"}, headers...)
	secret := decodeB32(t, enr["totp"].(map[string]any)["secret"].(string))
	status, out, _ := c.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, time.Now(), -1)}, headers...)
	if status != 200 {
		t.Fatalf("enroll totp: %d %v", status, out)
	}
	return out["factor"].(map[string]any)["id"].(string), secret
}

func putPolicy(t *testing.T, admin *client, path string, body map[string]any) map[string]any {
	t.Helper()
	status, out, _ := admin.call("PUT", path, body)
	if status != 200 {
		t.Fatalf("PUT %s: %d %v", path, status, out)
	}
	return out
}

func factorTypes(ch map[string]any) []string {
	var out []string
	for _, f := range ch["factors"].([]any) {
		out = append(out, f.(map[string]any)["type"].(string))
	}
	return out
}

func TestPolicyRulesThroughTheGateway(t *testing.T) {
	s := newStack(t)
	admin := s.client(t, "policy-admin", "mfa/admin")
	svc := s.client(t, "backend", "mfa/service")

	// Validation names the field; nothing is stored.
	status, prob, _ := admin.call("PUT", "/v1/admin/policy", map[string]any{"mode": "sometimes"})
	if status != 400 || prob["code"] != "invalid_policy" || prob["field"] != "mode" {
		t.Fatalf("bad policy: %d %v", status, prob)
	}
	if _, got, _ := admin.call("GET", "/v1/admin/policy", nil); got["stored"] != false || got["effective"].(map[string]any)["mode"] != "optional" {
		t.Fatalf("default policy: %v", got)
	}

	t.Run("required with grace", func(t *testing.T) {
		p := putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "required", "gracePeriodDays": 7})
		if p["version"] != float64(1) || p["updatedBy"] != "admin:policy-admin" {
			t.Fatalf("stored policy: %v", p)
		}
		recent := time.Now().Add(-2 * 24 * time.Hour).UTC().Format(time.RFC3339)
		old := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(time.RFC3339)
		_, ch, _ := svc.call("POST", "/v1/users/grace-user/challenges", map[string]any{"registeredAt": recent})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != true || ch["mfaRequired"] != false {
			t.Fatalf("inside grace: %v", ch)
		}
		_, ch, _ = svc.call("POST", "/v1/users/grace-user/challenges", map[string]any{"registeredAt": old})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != false {
			t.Fatalf("after grace: %v", ch)
		}
		if status, out, _ := svc.call("POST", "/v1/users/grace-user/enrollment-prompt/skip", map[string]any{}); status != 204 {
			t.Fatalf("skip inside grace (first seen just now): %d %v", status, out)
		}
	})

	t.Run("organization stricter than global", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
		putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required"})
		_, ch, _ := svc.call("POST", "/v1/users/org-user/challenges", map[string]any{})
		if ch["enrollmentRequired"] != false {
			t.Fatalf("global optional: %v", ch)
		}
		_, ch, _ = svc.call("POST", "/v1/users/org-user/challenges", map[string]any{"organizationId": "acme"})
		if ch["enrollmentRequired"] != true || ch["reason"] != "enrollment_required" {
			t.Fatalf("acme required: %v", ch)
		}
		if status, _, _ := admin.call("DELETE", "/v1/admin/organizations/acme/policy", nil); status != 204 {
			t.Fatalf("delete org policy: %d", status)
		}
		_, ch, _ = svc.call("POST", "/v1/users/org-user/challenges", map[string]any{"organizationId": "acme"})
		if ch["enrollmentRequired"] != false {
			t.Fatalf("after delete, the global policy applies: %v", ch)
		}
	})

	t.Run("disallowed factor type not offered", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
		u := s.client(t, "mixed-user")
		enrollTOTPVia(t, u)
		admin.call("POST", "/v1/admin/users/mixed-user/factors", map[string]any{"type": "email", "email": "mixed@example.com"})
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "factors": []string{"totp"}})
		_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{})
		if types := factorTypes(ch); strings.Contains(strings.Join(types, ","), "email") {
			t.Fatalf("email offered though not allowed: %v", types)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	})

	t.Run("minStrength phishing_resistant offers only passkeys", func(t *testing.T) {
		u := s.client(t, "weak-user")
		enrollTOTPVia(t, u)
		_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "step_up", "minStrength": "phishing_resistant"})
		if ch["mfaRequired"] != true || len(ch["factors"].([]any)) != 0 || ch["reason"] != "insufficient_strength" {
			t.Fatalf("step-up needing a passkey from a TOTP-only user: %v", ch)
		}
		_, ch, _ = u.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "step_up", "minStrength": "otp"})
		if types := factorTypes(ch); len(types) != 1 || types[0] != "totp" {
			t.Fatalf("minStrength otp: %v", types)
		}
	})

	t.Run("email fallback", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "emailFallback": true})
		// A token with a verified email: enrolling TOTP binds the email too.
		status, tok, _ := (&client{t: t, base: s.URL, hc: admin.hc}).call("POST", "/local/token", map[string]any{"sub": "fallback-user", "email": "fallback@example.com", "email_verified": true})
		if status != 200 {
			t.Fatal(status)
		}
		u := &client{t: t, base: s.URL, hc: admin.hc, token: tok["access_token"].(string)}
		enrollTOTPVia(t, u)
		_, list, _ := u.call("GET", "/v1/users/me/factors", nil)
		if types := factorTypes(list); !strings.Contains(strings.Join(types, ","), "email") {
			t.Fatalf("no email fallback bound: %v", list)
		}
		// A user who never enrolls is untouched.
		_, list, _ = svc.call("GET", "/v1/users/never-enrolls/factors", nil)
		if len(list["factors"].([]any)) != 0 {
			t.Fatalf("a user who never enrolled got factors: %v", list)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	})

	t.Run("adaptive asks on a new device, not on a known one", func(t *testing.T) {
		u := s.client(t, "adaptive-user")
		fid, secret := enrollTOTPVia(t, u)
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "adaptive"})
		ctx := map[string]any{"ip": "203.0.113.9", "deviceId": "laptop-1"}
		_, ch, _ := svc.call("POST", "/v1/users/adaptive-user/challenges", map[string]any{"context": ctx})
		if ch["mfaRequired"] != true || ch["reason"] != "risk:new_device,new_ip" {
			t.Fatalf("first sign-in from a place: %v", ch)
		}
		if status, out, _ := svc.call("POST", "/v1/users/adaptive-user/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": fid, "code": code(secret, time.Now(), 0)}); status != 200 {
			t.Fatalf("verify: %d %v", status, out)
		}
		_, ch, _ = svc.call("POST", "/v1/users/adaptive-user/challenges", map[string]any{"context": ctx})
		if ch["mfaRequired"] != false || ch["reason"] != "no_risk_signals" {
			t.Fatalf("known device and address: %v", ch)
		}
		_, ch, _ = svc.call("POST", "/v1/users/adaptive-user/challenges", map[string]any{"context": map[string]any{"ip": "203.0.113.9", "deviceId": "phone-2"}})
		if ch["mfaRequired"] != true || ch["reason"] != "risk:new_device" {
			t.Fatalf("new device: %v", ch)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	})

	t.Run("optional prompt is skippable once and remembered", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "prompt": "at_registration"})
		u := s.client(t, "prompt-user")
		_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != true || ch["reason"] != "enrollment_prompt" {
			t.Fatalf("prompt: %v", ch)
		}
		if status, out, _ := u.call("POST", "/v1/users/me/enrollment-prompt/skip", map[string]any{}); status != 204 {
			t.Fatalf("skip: %d %v", status, out)
		}
		_, ch, _ = u.call("POST", "/v1/users/me/challenges", map[string]any{})
		if ch["enrollmentRequired"] != false {
			t.Fatalf("prompt repeated after a skip: %v", ch)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "required"})
		if status, prob, _ := s.client(t, "strict-user").call("POST", "/v1/users/me/enrollment-prompt/skip", map[string]any{}); status != 409 || prob["code"] != "prompt_not_skippable" {
			t.Fatalf("skip under required without grace: %d %v", status, prob)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	})

	t.Run("trusted device skips sign-in, never step-up", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "rememberDeviceDays": 30})
		u := s.client(t, "device-user")
		fid, secret := enrollTOTPVia(t, u)
		_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{})
		_, ver, _ := u.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": fid, "code": code(secret, time.Now(), 0), "rememberDevice": true})
		tok, _ := ver["deviceToken"].(string)
		if tok == "" {
			t.Fatalf("no device token: %v", ver)
		}
		if _, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"deviceToken": tok}); ch["mfaRequired"] != false || ch["reason"] != "trusted_device" {
			t.Fatalf("trusted sign-in: %v", ch)
		}
		if _, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"deviceToken": tok, "purpose": "step_up"}); ch["mfaRequired"] != true {
			t.Fatalf("trusted step-up: %v", ch)
		}
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	})
}

func TestOrgPolicyThatStrandsUsersIsRefused(t *testing.T) {
	s := newStack(t)
	admin := s.client(t, "policy-admin", "mfa/admin")
	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional", "factors": []string{"totp"}})
	status, prob, _ := admin.call("PUT", "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "factors": []string{"webauthn"}})
	if status != 400 || prob["code"] != "invalid_policy" || prob["field"] != "factors" {
		t.Fatalf("conflicting org policy: %d %v", status, prob)
	}
}

func TestPolicyChangesAreAudited(t *testing.T) {
	s := newStack(t)
	admin := s.client(t, "policy-auditor", "mfa/admin")
	svc := s.client(t, "backend", "mfa/service")
	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "optional"})
	putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required"})
	// A refused change leaves no event.
	if status, _, _ := admin.call("PUT", "/v1/admin/organizations/acme/policy", map[string]any{"mode": "sometimes"}); status != 400 {
		t.Fatalf("bad org policy: %d", status)
	}
	if status, out, _ := admin.call("DELETE", "/v1/admin/organizations/acme/policy", nil); status != 204 {
		t.Fatalf("delete org policy: %d %v", status, out)
	}

	type ev struct{ action, reason string }
	var got []ev
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/admin/policy/events?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, out, _ := admin.call("GET", path, nil)
		if status != 200 || page > 3 {
			t.Fatalf("policy events page %d: %d %v", page, status, out)
		}
		list, _ := out["events"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			if m["actor"] != "admin:policy-auditor" || m["outcome"] != "ok" {
				t.Errorf("event: %v", m)
			}
			got = append(got, ev{m["action"].(string), m["reason"].(string)})
		}
		next, _ := out["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want := []ev{{"policy.deleted", "organization:acme"}, {"policy.changed", "organization:acme"}, {"policy.changed", "global"}}
	if len(got) != len(want) {
		t.Fatalf("policy events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("policy events %v, want %v (newest first)", got, want)
		}
	}

	// Only admins read them (the gateway's scope check refuses others); a policy event is no
	// user's event.
	if status, out, _ := svc.call("GET", "/v1/admin/policy/events", nil); status != 403 || out["message"] != "Forbidden" {
		t.Fatalf("service token: %d %v", status, out)
	}
	if status, out, _ := admin.call("GET", "/v1/admin/policy/events?limit=0", nil); status != 400 || out["field"] != "limit" {
		t.Fatalf("limit=0: %d %v", status, out)
	}
	if status, out, _ := admin.call("GET", "/v1/admin/users/%23policy/events", nil); status != 400 {
		t.Fatalf("policy pseudo-user through the user route: %d %v", status, out)
	}
}
