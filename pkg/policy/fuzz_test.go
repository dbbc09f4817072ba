package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzPolicyJSON: arbitrary JSON decoded onto Default() (as PUT …/policy does) and validated
// never panics; a policy that validates has every field in range; and the merge of two valid
// policies is at least as strict as each of them, field by field. The merge is valid too,
// except in one case Validate cannot accept and Merge cannot avoid: two policies whose
// allowed factor types do not meet, one of them required. Then the effective policy is
// required with no factor type allowed (nobody can satisfy it), which the test pins.
// `go test` runs the seeds in testdata/fuzz/FuzzPolicyJSON; `make fuzz` explores further.
func FuzzPolicyJSON(f *testing.F) {
	f.Add([]byte(`{}`), []byte(`{"mode":"required","factors":["webauthn","totp"]}`))
	f.Add([]byte(`{"mode":"adaptive","adaptive":{"newDevice":false,"newIp":true,"recentFailures":false}}`), []byte(`{"mode":"off"}`))
	f.Add([]byte(`{"mode":"required","gracePeriodDays":7,"rememberDeviceDays":30}`), []byte(`{"rememberDeviceDays":365,"gracePeriodDays":30,"prompt":"after_registration"}`))
	f.Add([]byte(`{"sms":{"allowedCountries":["US","BR"],"maxPerUserPerHour":1,"maxPerDestinationPerHour":100}}`), []byte(`{"sms":{"allowedCountries":[],"maxPerUserPerHour":100,"maxPerDestinationPerHour":1}}`))
	f.Add([]byte(`{"userVerification":"required","backupCodes":false,"emailFallback":true}`), []byte(`{"prompt":"at_registration"}`))
	f.Add([]byte(`{"mode":"required","factors":["totp"]}`), []byte(`{"factors":["webauthn"]}`))
	f.Add([]byte(`{"factors":null}`), []byte(`{"factors":[]}`))
	f.Add([]byte(`{"factors":["totp","totp"]}`), []byte(`{"mode":"sometimes"}`))
	f.Add([]byte(`{"gracePeriodDays":-1}`), []byte(`{"gracePeriodDays":31}`))
	f.Add([]byte(`{"gracePeriodDays":1e100}`), []byte(`{"rememberDeviceDays":9223372036854775807}`))
	f.Add([]byte(`{"sms":{"allowedCountries":["us"]}}`), []byte(`{"sms":null}`))
	f.Add([]byte(`{"mode":"REQUIRED"}`), []byte(`{"Mode":"required","Factors":["totp"]}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Add([]byte(`{"sms":{"allowedCountries":["US","US","GB"]}}`), []byte(`{"sms":{"allowedCountries":["US"]}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		pa, okA := decodePolicy(t, a)
		pb, okB := decodePolicy(t, b)
		if !okA || !okB {
			return
		}
		m := Merge(pa, pb)
		if err := m.Validate(); err != nil {
			var fe *FieldError
			unsatisfiable := m.Mode == ModeRequired && len(m.Factors) == 0
			if !errors.As(err, &fe) || fe.Field != "factors" || !unsatisfiable {
				t.Fatalf("merge of two valid policies is invalid: %v\nglobal %+v\norg    %+v\nmerged %+v", err, pa, pb, m)
			}
		} else {
			checkInRange(t, m)
		}
		for _, p := range []Policy{pa, pb} {
			checkStricter(t, m, p)
		}
		// The order follows the global list; what is allowed does not depend on the side.
		if r := Merge(pb, pa); !sameSet(m.Factors, r.Factors) || !sameSet(m.SMS.AllowedCountries, r.SMS.AllowedCountries) || r.Mode != m.Mode {
			t.Fatalf("merge depends on which policy is global: %+v vs %+v", m, r)
		}
	})
}

// decodePolicy decodes raw onto Default(), as the admin route does, and validates it. A
// policy that validates is checked field by field.
func decodePolicy(t *testing.T, raw []byte) (Policy, bool) {
	t.Helper()
	p := Default()
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, false
	}
	err := p.Validate()
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
			t.Fatalf("Validate error %v does not name a field", err)
		}
		return p, false
	}
	checkInRange(t, p)
	return p, true
}

func checkInRange(t *testing.T, p Policy) {
	t.Helper()
	if _, ok := modeRank[p.Mode]; !ok {
		t.Fatalf("valid policy with mode %q", p.Mode)
	}
	seen := map[string]bool{}
	for _, f := range p.Factors {
		if !slices.Contains(knownFactors, f) || seen[f] {
			t.Fatalf("valid policy with factors %q", p.Factors)
		}
		seen[f] = true
	}
	if p.Mode == ModeRequired && len(p.Factors) == 0 {
		t.Fatal("valid required policy without factors")
	}
	if p.Prompt != PromptNever && p.Prompt != PromptAtRegistration && p.Prompt != PromptAfterRegistration {
		t.Fatalf("valid policy with prompt %q", p.Prompt)
	}
	if p.GracePeriodDays < 0 || p.GracePeriodDays > 30 || p.RememberDeviceDays < 0 || p.RememberDeviceDays > 365 {
		t.Fatalf("valid policy with grace %d, remember %d", p.GracePeriodDays, p.RememberDeviceDays)
	}
	for _, c := range p.SMS.AllowedCountries {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			t.Fatalf("valid policy with country %q", c)
		}
	}
	if p.SMS.MaxPerUserPerHour < 1 || p.SMS.MaxPerUserPerHour > 100 || p.SMS.MaxPerDestinationPerHour < 1 || p.SMS.MaxPerDestinationPerHour > 100 {
		t.Fatalf("valid policy with SMS caps %+v", p.SMS)
	}
	if p.UserVerification != "preferred" && p.UserVerification != "required" {
		t.Fatalf("valid policy with userVerification %q", p.UserVerification)
	}
}

// checkStricter asserts the merged policy m asks at least as much as p and allows no more.
func checkStricter(t *testing.T, m, p Policy) {
	t.Helper()
	fail := func(what string) { t.Helper(); t.Fatalf("merge loosens %s:\npolicy %+v\nmerged %+v", what, p, m) }
	if modeRank[m.Mode] < modeRank[p.Mode] {
		fail("the mode")
	}
	for _, f := range m.Factors {
		if !slices.Contains(p.Factors, f) {
			fail("the factor types")
		}
	}
	if m.BackupCodes && !p.BackupCodes {
		fail("backup codes")
	}
	if m.GracePeriodDays > p.GracePeriodDays || m.RememberDeviceDays > p.RememberDeviceDays {
		fail("the grace period or trusted devices")
	}
	for _, c := range m.SMS.AllowedCountries {
		if !slices.Contains(p.SMS.AllowedCountries, c) {
			fail("the SMS countries")
		}
	}
	if m.SMS.MaxPerUserPerHour > p.SMS.MaxPerUserPerHour || m.SMS.MaxPerDestinationPerHour > p.SMS.MaxPerDestinationPerHour {
		fail("the SMS caps")
	}
	if (p.Adaptive.NewDevice && !m.Adaptive.NewDevice) || (p.Adaptive.NewIP && !m.Adaptive.NewIP) || (p.Adaptive.RecentFailures && !m.Adaptive.RecentFailures) {
		fail("the risk signals")
	}
	if p.EmailFallback && !m.EmailFallback {
		fail("the email fallback")
	}
	if p.UserVerification == "required" && m.UserVerification != "required" {
		fail("user verification")
	}
}

// sameSet compares as sets: a country may be listed twice.
func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}
