package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzPolicyJSON: arbitrary JSON decoded as a global overlay (laid on Default()) and as an
// organization overlay never panics; what validates has every field in range; the effective
// policy is valid unless it is required with no factor type both allow (Satisfiable says so,
// and PUT refuses it); it never loosens what DESIGN §5 says may not be loosened (the mode, the
// allowed types and countries, the caps, the risk signals, email fallback, user verification);
// and a whole organization policy as the earlier PUT stored it, migrated, decides as before.
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
	f.Add([]byte(`{"mode":"required","gracePeriodDays":14}`), []byte(`{"mode":"optional","prompt":"at_registration"}`))
	f.Add([]byte(`{"mode":"adaptive","prompt":"at_registration"}`), []byte(`{"mode":"optional"}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ga, okA := decodeOverlay(t, a)
		ob, okB := decodeOverlay(t, b)
		if !okA || !okB {
			return
		}
		g := ResolveGlobal(Default(), ga)
		m := Merge(g, ob)
		if err := m.Policy.Validate(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "factors" || m.Satisfiable() {
				t.Fatalf("merge of two valid policies is invalid: %v\nglobal %+v\norg    %+v\nmerged %+v", err, g.Policy, ob, m.Policy)
			}
		} else {
			checkInRange(t, m.Policy)
		}
		checkStricter(t, m.Policy, g.Policy)
		checkStricter(t, m.Policy, ob.Over(g.Policy))
		for _, field := range Fields {
			if m.Sources[field] == "" {
				t.Fatalf("no source for %s: %v", field, m.Sources)
			}
		}
		// Migration: b as a whole policy the earlier PUT stored (decoded onto Default()).
		whole := Default()
		if json.Unmarshal(b, &whole) != nil || whole.Validate() != nil {
			return
		}
		want := legacyMerge(g.Policy, whole)
		o := FromWholeOrgPolicy(g, whole)
		if err := o.Validate(); err != nil {
			t.Fatalf("migrated overlay invalid: %v\n%+v", err, o)
		}
		if got := Merge(g, o).Policy; !SameDecisions(got, want) {
			t.Fatalf("migration changed the meaning:\nglobal %+v\nwhole  %+v\nbefore %+v\nafter  %+v", g.Policy, whole, want, got)
		}
		if got := ResolveGlobal(Default(), FromWholeGlobalPolicy(whole)).Policy; !SameDecisions(got, whole) || got.Prompt != whole.Prompt || got.GracePeriodDays != whole.GracePeriodDays {
			t.Fatalf("global migration changed the meaning: %+v vs %+v", got, whole)
		}
	})
}

// decodeOverlay decodes raw as an overlay, as the admin route does, and validates it. What
// validates is checked field by field on the default.
func decodeOverlay(t *testing.T, raw []byte) (Overlay, bool) {
	t.Helper()
	var o Overlay
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, false
	}
	o = o.Normalize()
	if err := o.Validate(); err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
			t.Fatalf("Validate error %v does not name a field", err)
		}
		return o, false
	}
	checkInRange(t, o.Over(Default()))
	return o, true
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
