package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/policy"
)

// jsonEqual compares a decoded JSON value with the JSON text want.
func jsonEqual(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, w)
}

// TestOrgPolicyOverlayThroughTheGateway is the scenario: the global policy is optional
// (the default) and an admin sets an organization to {"mode":"required","gracePeriodDays":7}.
// A member without factors may skip enrolling for 7 days (the service's clock is injected),
// then not; trusted devices, which the organization's policy does not mention, keep working
// for its members; and what the organization leaves out keeps following the global policy.
func TestOrgPolicyOverlayThroughTheGateway(t *testing.T) {
	s, clk := atkClockedStack(t)
	admin := s.client(t, "org-admin", "mfa/admin")
	svc := s.client(t, "backend", "mfa/service")

	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"rememberDeviceDays": 30})
	put := putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "gracePeriodDays": 7})
	if !jsonEqual(t, put["policy"], `{"mode":"required","gracePeriodDays":7}`) {
		t.Fatalf("PUT answer's overlay is not what was sent: %v", put)
	}

	// GET: the overlay exactly as sent, the effective policy, each field's source.
	status, got, _ := admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
	if status != 200 || got["scope"] != "organization:acme" || got["stored"] != true || got["version"] != float64(1) {
		t.Fatalf("GET org policy: %d %v", status, got)
	}
	if !jsonEqual(t, got["policy"], `{"mode":"required","gracePeriodDays":7}`) {
		t.Fatalf("stored overlay: %v", got["policy"])
	}
	eff, src := got["effective"].(map[string]any), got["sources"].(map[string]any)
	for field, want := range map[string]struct {
		value  any
		source string
	}{
		"mode":               {"required", "organization"},
		"gracePeriodDays":    {float64(7), "organization"},
		"rememberDeviceDays": {float64(30), "global"},
		"backupCodes":        {true, "default"},
		"prompt":             {"never", "default"},
	} {
		if eff[field] != want.value || src[field] != want.source {
			t.Errorf("effective %s = %v from %v, want %v from %s", field, eff[field], src[field], want.value, want.source)
		}
	}
	if len(src) != len(policy.Fields) {
		t.Errorf("sources name %d fields, want %d: %v", len(src), len(policy.Fields), src)
	}

	t.Run("grace period from registeredAt, on the injected clock", func(t *testing.T) {
		registered := clk.Now().Add(-6 * 24 * time.Hour).Format(time.RFC3339)
		_, ch, _ := svc.call("POST", "/v1/users/acme-new/challenges", map[string]any{"organizationId": "acme", "registeredAt": registered})
		if ch["mfaRequired"] != false || ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != true || ch["reason"] != "enrollment_required" {
			t.Fatalf("day 6 of 7: %v", ch)
		}
		clk.Advance(2 * 24 * time.Hour)
		_, ch, _ = svc.call("POST", "/v1/users/acme-new/challenges", map[string]any{"organizationId": "acme", "registeredAt": registered})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != false {
			t.Fatalf("day 8 of 7: %v", ch)
		}
		// Outside the organization the global policy (optional) applies.
		_, ch, _ = svc.call("POST", "/v1/users/acme-new/challenges", map[string]any{"registeredAt": registered})
		if ch["enrollmentRequired"] != false || ch["reason"] != "no_factors" {
			t.Fatalf("without the organization: %v", ch)
		}
	})

	t.Run("grace period from first seen", func(t *testing.T) {
		_, ch, _ := svc.call("POST", "/v1/users/acme-first/challenges", map[string]any{"organizationId": "acme"})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != true {
			t.Fatalf("first sign-in: %v", ch)
		}
		clk.Advance(6 * 24 * time.Hour)
		_, ch, _ = svc.call("POST", "/v1/users/acme-first/challenges", map[string]any{"organizationId": "acme"})
		if ch["enrollmentSkippable"] != true {
			t.Fatalf("6 days after first seen: %v", ch)
		}
		clk.Advance(2 * 24 * time.Hour)
		_, ch, _ = svc.call("POST", "/v1/users/acme-first/challenges", map[string]any{"organizationId": "acme"})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != false {
			t.Fatalf("8 days after first seen: %v", ch)
		}
	})

	t.Run("trusted devices keep working for members", func(t *testing.T) {
		u := s.client(t, "acme-member")
		f := atkEnrollTOTP(t, u, clk.Now(), 0)
		cid := atkOpen(t, u, "me", map[string]any{"organizationId": "acme"})
		ver := atkVerify(u, "me", cid, map[string]any{"type": "totp", "factorId": f.id, "code": code(f.secret, clk.Now(), 1), "rememberDevice": true})
		tok, _ := ver.Body["deviceToken"].(string)
		if ver.Status != 200 || tok == "" {
			t.Fatalf("verification remembering the device: %v", ver)
		}
		_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"organizationId": "acme", "deviceToken": tok})
		if ch["mfaRequired"] != false || ch["reason"] != "trusted_device" {
			t.Fatalf("trusted device in the organization: %v", ch)
		}
		_, ch, _ = u.call("POST", "/v1/users/me/challenges", map[string]any{"organizationId": "acme", "deviceToken": tok, "purpose": "step_up"})
		if ch["mfaRequired"] != true {
			t.Fatalf("trusted device skipped a step-up: %v", ch)
		}
	})

	t.Run("what the organization leaves out follows the global policy", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{"rememberDeviceDays": 14, "factors": []string{"totp", "webauthn"}})
		_, got, _ := admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
		eff := got["effective"].(map[string]any)
		if eff["rememberDeviceDays"] != float64(14) || !jsonEqual(t, eff["factors"], `["totp","webauthn"]`) || eff["gracePeriodDays"] != float64(7) {
			t.Fatalf("after a global change: %v", got)
		}
		if !jsonEqual(t, got["policy"], `{"mode":"required","gracePeriodDays":7}`) {
			t.Fatalf("the organization's overlay changed with the global policy: %v", got["policy"])
		}
		// Setting a field overrides it; sending the overlay without it inherits again.
		putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "gracePeriodDays": 7, "rememberDeviceDays": 0})
		_, got, _ = admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
		if got["effective"].(map[string]any)["rememberDeviceDays"] != float64(0) || got["sources"].(map[string]any)["rememberDeviceDays"] != "organization" {
			t.Fatalf("organization switching trusted devices off: %v", got)
		}
		putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "gracePeriodDays": 7, "rememberDeviceDays": nil})
		_, got, _ = admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
		if got["effective"].(map[string]any)["rememberDeviceDays"] != float64(14) || !jsonEqual(t, got["policy"], `{"mode":"required","gracePeriodDays":7}`) {
			t.Fatalf("null inherits again: %v", got)
		}
	})

	t.Run("enrolling for the organization follows its policy", func(t *testing.T) {
		putPolicy(t, admin, "/v1/admin/policy", map[string]any{})
		putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "gracePeriodDays": 7, "factors": []string{"webauthn", "totp"}, "backupCodes": false})
		// Email is allowed globally, not by acme: an enrollment for acme may not bind it.
		status, prob, _ := svc.call("POST", "/v1/users/acme-enroller/enrollments", map[string]any{"type": "email", "email": "enroller@example.com", "organizationId": "acme"})
		if status != 403 || prob["code"] != "factor_type_not_allowed" {
			t.Fatalf("email enrollment for acme: %d %v", status, prob)
		}
		// TOTP for acme: allowed, and acme's policy (no backup codes) holds at completion.
		u := s.client(t, "acme-enroller")
		_, enr, _ := u.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp", "organizationId": "acme"})
		secret := decodeB32(t, enr["totp"].(map[string]any)["secret"].(string))
		status, done, _ := u.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, clk.Now(), 0)})
		if status != 200 || done["backupCodes"] != nil {
			t.Fatalf("totp enrollment for acme: %d %v", status, done)
		}
		// Without an organization the global policy applies: email may be bound.
		status, out, _ := svc.call("POST", "/v1/users/acme-enroller2/enrollments", map[string]any{"type": "email", "email": "enroller2@example.com", "preVerified": true})
		if status != 201 {
			t.Fatalf("email enrollment without an organization: %d %v", status, out)
		}
		if status, prob, _ := svc.call("POST", "/v1/users/acme-enroller/enrollments", map[string]any{"type": "totp", "organizationId": "bad id!"}); status != 400 || prob["field"] != "organizationId" {
			t.Fatalf("malformed organizationId: %d %v", status, prob)
		}
	})
}

// TestGlobalChangeThatStrandsAnOrganizationIsRefused: organizations follow the global policy,
// so a global change after which one would be required with no factor type both allow is
// refused, naming the field, and nothing is stored.
func TestGlobalChangeThatStrandsAnOrganizationIsRefused(t *testing.T) {
	s := newStack(t)
	admin := s.client(t, "policy-admin", "mfa/admin")
	putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "factors": []string{"webauthn"}})
	status, prob, _ := admin.call("PUT", "/v1/admin/policy", map[string]any{"factors": []string{"totp"}})
	if status != 400 || prob["code"] != "invalid_policy" || prob["field"] != "factors" {
		t.Fatalf("global change stranding acme: %d %v", status, prob)
	}
	if _, got, _ := admin.call("GET", "/v1/admin/policy", nil); got["stored"] != false {
		t.Fatalf("a refused change was stored: %v", got)
	}
}

// putWholePolicy writes a policy item as the earlier whole-policy PUT stored it: every field,
// those the admin left out at the default's value, and no format attribute.
func putWholePolicy(t *testing.T, s *stack, scope string, p policy.Policy, version int) {
	t.Helper()
	doc, _ := json.Marshal(p)
	db := awstest.DB(t)
	_, err := db.PutItem(context.Background(), &dynamoclient.PutItemInput{TableName: &s.App.Config.TableName, Item: map[string]dynamoclient.AttributeValue{
		"pk": &dynamoclient.AttributeValueMemberS{Value: "POLICY"}, "sk": &dynamoclient.AttributeValueMemberS{Value: scope},
		"doc": &dynamoclient.AttributeValueMemberS{Value: string(doc)}, "version": &dynamoclient.AttributeValueMemberN{Value: strconv.Itoa(version)},
		"updatedAt": &dynamoclient.AttributeValueMemberN{Value: "1700000000000"}, "updatedBy": &dynamoclient.AttributeValueMemberS{Value: "admin:before"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWholePoliciesStoredEarlierKeepTheirMeaning: policies the earlier whole-policy PUT stored
// decide as they did — before the migration (converted on read), after it (stored as
// overlays by the first admin policy call, audited), and after the global policy changes.
func TestWholePoliciesStoredEarlierKeepTheirMeaning(t *testing.T) {
	s, clk := atkClockedStack(t)
	admin := s.client(t, "policy-admin", "mfa/admin")
	svc := s.client(t, "backend", "mfa/service")

	// Global: {"rememberDeviceDays":30}; acme: {"mode":"required","gracePeriodDays":7}, as the
	// earlier PUT stored them. Then acme's members had no grace (the shorter of 0 and 7) and no
	// trusted devices (the shorter of 30 and 0).
	global := policy.Default()
	global.RememberDeviceDays = 30
	acme := policy.Default()
	acme.Mode, acme.GracePeriodDays = policy.ModeRequired, 7
	putWholePolicy(t, s, "global", global, 2)
	putWholePolicy(t, s, "org:acme", acme, 5)

	registered := clk.Now().Add(-2 * 24 * time.Hour).Format(time.RFC3339)
	decision := func(label string) {
		t.Helper()
		_, ch, _ := svc.call("POST", "/v1/users/legacy-member/challenges", map[string]any{"organizationId": "acme", "registeredAt": registered})
		if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != false {
			t.Fatalf("%s: %v", label, ch)
		}
	}
	decision("before the migration")

	// The first admin policy call migrates every stored policy.
	status, got, _ := admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
	if status != 200 || got["version"] != float64(6) || got["updatedBy"] != "system:policy-migration" {
		t.Fatalf("migrated org policy: %d %v", status, got)
	}
	eff := got["effective"].(map[string]any)
	if eff["mode"] != "required" || eff["gracePeriodDays"] != float64(0) || eff["rememberDeviceDays"] != float64(0) {
		t.Fatalf("migrated effective policy: %v", eff)
	}
	overlay := got["policy"].(map[string]any)
	if overlay["gracePeriodDays"] != float64(0) || overlay["rememberDeviceDays"] != float64(0) || overlay["mode"] != "required" {
		t.Fatalf("migrated overlay: %v", overlay)
	}
	_, g, _ := admin.call("GET", "/v1/admin/policy", nil)
	if g["version"] != float64(3) || g["effective"].(map[string]any)["rememberDeviceDays"] != float64(30) || g["sources"].(map[string]any)["rememberDeviceDays"] != "global" {
		t.Fatalf("migrated global policy: %v", g)
	}
	decision("after the migration")

	// The migration is audited, once per policy.
	_, evs, _ := admin.call("GET", "/v1/admin/policy/events?limit=50", nil)
	migrated := map[string]int{}
	for _, e := range evs["events"].([]any) {
		m := e.(map[string]any)
		if m["outcome"] == "migrated" && m["actor"] == "system:policy-migration" {
			migrated[m["reason"].(string)]++
		}
	}
	if migrated["global"] != 1 || migrated["organization:acme"] != 1 || len(migrated) != 2 {
		t.Fatalf("migration events: %v", migrated)
	}

	// A later global change does not reinterpret acme's old policy.
	putPolicy(t, admin, "/v1/admin/policy", map[string]any{"rememberDeviceDays": 60, "mode": "optional"})
	decision("after a global change")
	_, got, _ = admin.call("GET", "/v1/admin/organizations/acme/policy", nil)
	if got["effective"].(map[string]any)["rememberDeviceDays"] != float64(0) || got["version"] != float64(6) {
		t.Fatalf("acme after a global change: %v", got)
	}

	// An admin who now sends what they meant gets it.
	putPolicy(t, admin, "/v1/admin/organizations/acme/policy", map[string]any{"mode": "required", "gracePeriodDays": 7})
	_, ch, _ := svc.call("POST", "/v1/users/legacy-member/challenges", map[string]any{"organizationId": "acme", "registeredAt": registered})
	if ch["enrollmentRequired"] != true || ch["enrollmentSkippable"] != true {
		t.Fatalf("after the admin's new PUT: %v", ch)
	}
}

// TestGlobalPolicyIsAnOverlayOnTheDeploymentDefault: the global PUT stores exactly the fields
// sent; what it leaves out follows the deployment's default, including the remember-device
// days the deployment configures (REMEMBER_DEVICE_DAYS), instead of switching them off.
func TestGlobalPolicyIsAnOverlayOnTheDeploymentDefault(t *testing.T) {
	s := newStack(t)
	s.App.Policies.Fallback.RememberDeviceDays = 30 // as REMEMBER_DEVICE_DAYS=30 would
	admin := s.client(t, "policy-admin", "mfa/admin")

	_, got, _ := admin.call("GET", "/v1/admin/policy", nil)
	if got["stored"] != false || !jsonEqual(t, got["policy"], `{}`) || got["effective"].(map[string]any)["rememberDeviceDays"] != float64(30) {
		t.Fatalf("nothing stored: %v", got)
	}
	put := putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "required", "gracePeriodDays": 7})
	eff, src := put["effective"].(map[string]any), put["sources"].(map[string]any)
	if !jsonEqual(t, put["policy"], `{"mode":"required","gracePeriodDays":7}`) || eff["mode"] != "required" || eff["gracePeriodDays"] != float64(7) ||
		eff["rememberDeviceDays"] != float64(30) || src["rememberDeviceDays"] != "default" || src["mode"] != "global" {
		t.Fatalf("global overlay: %v", put)
	}
	// A PUT replaces the overlay: a field the new one leaves out is the default again.
	put = putPolicy(t, admin, "/v1/admin/policy", map[string]any{"mode": "required"})
	if put["effective"].(map[string]any)["gracePeriodDays"] != float64(0) || !jsonEqual(t, put["policy"], `{"mode":"required"}`) || put["version"] != float64(2) {
		t.Fatalf("second PUT: %v", put)
	}
	// Fields of the read-back answer other than its policy are refused, not ignored.
	if status, prob, _ := admin.call("PUT", "/v1/admin/policy", map[string]any{"policy": map[string]any{"mode": "off"}}); status != 400 || prob["code"] != "unknown_field" {
		t.Fatalf("a GET answer sent back whole: %d %v", status, prob)
	}
}
