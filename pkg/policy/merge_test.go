package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestMergeEveryField is DESIGN §5's merge, field by field: for each field, what the effective
// policy says and where it came from when the organization leaves the field out (the global's,
// as it stands) and when it sets it (the rule). The test fails if a field has no case of each.
func TestMergeEveryField(t *testing.T) {
	const (
		def, glob, org = SourceDefault, SourceGlobal, SourceOrganization
		defOrg         = SourceDefault + "+" + SourceOrganization
		globOrg        = SourceGlobal + "+" + SourceOrganization
	)
	tests := []struct {
		name        string
		global, org string // overlays as JSON
		field       string
		want        string // the effective value as JSON
		source      string
	}{
		// mode: the stricter.
		{"mode left out: the global's", `{"mode":"adaptive"}`, `{}`, "mode", `"adaptive"`, glob},
		{"mode left out, no global: the default", `{}`, `{"factors":["totp"]}`, "mode", `"optional"`, def},
		{"mode stricter in the organization", `{}`, `{"mode":"required"}`, "mode", `"required"`, org},
		{"mode off in the organization does not loosen", `{"mode":"adaptive"}`, `{"mode":"off"}`, "mode", `"adaptive"`, glob},
		{"mode equal", `{"mode":"adaptive"}`, `{"mode":"adaptive"}`, "mode", `"adaptive"`, globOrg},
		{"mode off < optional", `{"mode":"off"}`, `{"mode":"optional"}`, "mode", `"optional"`, org},

		// factors: what both allow.
		{"factors left out", `{"factors":["totp","webauthn"]}`, `{"mode":"required"}`, "factors", `["totp","webauthn"]`, glob},
		{"factors: both allow", `{"factors":["totp","webauthn"]}`, `{"factors":["webauthn","sms"]}`, "factors", `["webauthn"]`, globOrg},
		{"factors on the default", `{}`, `{"factors":["sms","totp"]}`, "factors", `["totp","sms"]`, defOrg},

		// backupCodes: both must enable them.
		{"backup codes left out", `{"backupCodes":false}`, `{}`, "backupCodes", `false`, glob},
		{"backup codes off in the organization", `{}`, `{"backupCodes":false}`, "backupCodes", `false`, defOrg},
		{"backup codes on in the organization, off globally", `{"backupCodes":false}`, `{"backupCodes":true}`, "backupCodes", `false`, globOrg},

		// prompt: from the policy whose mode is in force.
		{"prompt left out", `{"prompt":"at_registration"}`, `{"mode":"adaptive"}`, "prompt", `"at_registration"`, glob},
		{"prompt, same mode: the organization's", `{"prompt":"at_registration"}`, `{"prompt":"never"}`, "prompt", `"never"`, org},
		{"prompt, organization's mode in force", `{"prompt":"never"}`, `{"mode":"adaptive","prompt":"after_registration"}`, "prompt", `"after_registration"`, org},
		{"prompt, global mode in force", `{"mode":"adaptive","prompt":"at_registration"}`, `{"mode":"optional","prompt":"never"}`, "prompt", `"at_registration"`, glob},

		// gracePeriodDays: from the policy whose mode is in force; both required: the shorter.
		{"grace left out, global required", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{}`, "gracePeriodDays", `14`, glob},
		{"grace left out, organization required: inherited", `{"gracePeriodDays":5}`, `{"mode":"required"}`, "gracePeriodDays", `5`, glob},
		{"the issue: global optional, organization required with 7 days", `{}`, `{"mode":"required","gracePeriodDays":7}`, "gracePeriodDays", `7`, org},
		{"global required is the mode in force", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{"mode":"optional","gracePeriodDays":3}`, "gracePeriodDays", `14`, glob},
		{"both required: the organization's shorter", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{"mode":"required","gracePeriodDays":7}`, "gracePeriodDays", `7`, org},
		{"both required: the global's shorter", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{"mode":"required","gracePeriodDays":30}`, "gracePeriodDays", `14`, glob},
		{"both required, the organization inheriting the mode", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{"gracePeriodDays":30}`, "gracePeriodDays", `14`, glob},
		{"both required, equal", `{"mode":"required","factors":["totp"],"gracePeriodDays":7}`, `{"gracePeriodDays":7}`, "gracePeriodDays", `7`, globOrg},

		// rememberDeviceDays: the organization's if it sets one.
		{"remember left out: the global's (not switched off)", `{"rememberDeviceDays":30}`, `{"mode":"required","gracePeriodDays":7}`, "rememberDeviceDays", `30`, glob},
		{"remember shorter in the organization", `{"rememberDeviceDays":30}`, `{"rememberDeviceDays":7}`, "rememberDeviceDays", `7`, org},
		{"remember longer in the organization", `{"rememberDeviceDays":7}`, `{"rememberDeviceDays":30}`, "rememberDeviceDays", `30`, org},
		{"remember off in the organization", `{"rememberDeviceDays":30}`, `{"rememberDeviceDays":0}`, "rememberDeviceDays", `0`, org},

		// emailFallback: either.
		{"email fallback left out", `{"emailFallback":true}`, `{}`, "emailFallback", `true`, glob},
		{"email fallback on in the organization", `{}`, `{"emailFallback":true}`, "emailFallback", `true`, defOrg},
		{"email fallback off in the organization, on globally", `{"emailFallback":true}`, `{"emailFallback":false}`, "emailFallback", `true`, globOrg},

		// adaptive risk signals: either.
		{"new device left out", `{"adaptive":{"newDevice":false}}`, `{"adaptive":{"newIp":true}}`, "adaptive.newDevice", `false`, glob},
		{"new device on in the organization", `{"adaptive":{"newDevice":false}}`, `{"adaptive":{"newDevice":true}}`, "adaptive.newDevice", `true`, globOrg},
		{"new IP left out", `{"adaptive":{"newIp":false}}`, `{}`, "adaptive.newIp", `false`, glob},
		{"new IP off in the organization, on by default", `{}`, `{"adaptive":{"newIp":false}}`, "adaptive.newIp", `true`, defOrg},
		{"recent failures left out", `{"adaptive":{"recentFailures":false}}`, `{"adaptive":{"newIp":true}}`, "adaptive.recentFailures", `false`, glob},
		{"recent failures on in the organization", `{"adaptive":{"recentFailures":false}}`, `{"adaptive":{"recentFailures":true}}`, "adaptive.recentFailures", `true`, globOrg},

		// sms.allowedCountries: both allow; caps: the lower.
		{"countries left out", `{"sms":{"allowedCountries":["US","GB"]}}`, `{"sms":{"maxPerUserPerHour":3}}`, "sms.allowedCountries", `["US","GB"]`, glob},
		{"countries both allow", `{"sms":{"allowedCountries":["US","GB"]}}`, `{"sms":{"allowedCountries":["GB","BR"]}}`, "sms.allowedCountries", `["GB"]`, globOrg},
		{"user cap left out", `{"sms":{"maxPerUserPerHour":4}}`, `{}`, "sms.maxPerUserPerHour", `4`, glob},
		{"user cap lower in the organization", `{}`, `{"sms":{"maxPerUserPerHour":3}}`, "sms.maxPerUserPerHour", `3`, org},
		{"user cap higher in the organization", `{}`, `{"sms":{"maxPerUserPerHour":50}}`, "sms.maxPerUserPerHour", `10`, def},
		{"destination cap left out", `{"sms":{"maxPerDestinationPerHour":4}}`, `{"sms":{"maxPerUserPerHour":3}}`, "sms.maxPerDestinationPerHour", `4`, glob},
		{"destination cap lower in the organization", `{"sms":{"maxPerDestinationPerHour":4}}`, `{"sms":{"maxPerDestinationPerHour":2}}`, "sms.maxPerDestinationPerHour", `2`, org},
		{"destination cap tie", `{"sms":{"maxPerDestinationPerHour":4}}`, `{"sms":{"maxPerDestinationPerHour":4}}`, "sms.maxPerDestinationPerHour", `4`, globOrg},

		// userVerification: required if either requires it.
		{"user verification left out", `{"userVerification":"required"}`, `{}`, "userVerification", `"required"`, glob},
		{"user verification required by the organization", `{}`, `{"userVerification":"required"}`, "userVerification", `"required"`, defOrg},
		{"user verification preferred by the organization, required globally", `{"userVerification":"required"}`, `{"userVerification":"preferred"}`, "userVerification", `"required"`, globOrg},
	}
	setCovered, unsetCovered := map[string]bool{}, map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, o := mustOverlay(t, tc.global), mustOverlay(t, tc.org)
			if err := g.Validate(); err != nil {
				t.Fatalf("global: %v", err)
			}
			if err := o.Validate(); err != nil {
				t.Fatalf("org: %v", err)
			}
			m := Merge(ResolveGlobal(Default(), g), o)
			got := fieldJSON(t, m.Policy, tc.field)
			if got != tc.want || m.Sources[tc.field] != tc.source {
				t.Fatalf("%s = %s from %q, want %s from %q", tc.field, got, m.Sources[tc.field], tc.want, tc.source)
			}
			if isSet(t, tc.org, tc.field) {
				setCovered[tc.field] = true
			} else {
				unsetCovered[tc.field] = true
			}
		})
	}
	for _, f := range Fields {
		if !setCovered[f] || !unsetCovered[f] {
			t.Errorf("field %s needs a case where the organization sets it and one where it does not", f)
		}
	}
}

// TestMergeTheIssueScenario: global default, organization {"mode":"required","gracePeriodDays":7}
// keeps the global's trusted devices and gets its own grace period.
func TestMergeTheIssueScenario(t *testing.T) {
	base := Default()
	base.RememberDeviceDays = 30
	m := Merge(ResolveGlobal(base, Overlay{}), mustOverlay(t, `{"mode":"required","gracePeriodDays":7}`))
	want := base
	want.Mode, want.GracePeriodDays = ModeRequired, 7
	if !reflect.DeepEqual(m.Policy, want) {
		t.Fatalf("effective %+v\nwant      %+v", m.Policy, want)
	}
	if m.Sources["rememberDeviceDays"] != SourceDefault || m.Sources["mode"] != SourceOrganization {
		t.Fatalf("sources %v", m.Sources)
	}
}

// TestOverlayKeepsExactlyWhatWasSent: a stored overlay marshals to the fields sent, nothing
// more; null and empty nested objects mean "not set".
func TestOverlayKeepsExactlyWhatWasSent(t *testing.T) {
	for in, want := range map[string]string{
		`{"mode":"required","gracePeriodDays":7}`: `{"mode":"required","gracePeriodDays":7}`,
		`{}`:                                 `{}`,
		`{"factors":[],"gracePeriodDays":0}`: `{"factors":[],"gracePeriodDays":0}`,
		`{"rememberDeviceDays":null,"adaptive":{},"sms":{}}`:      `{}`,
		`{"sms":{"allowedCountries":["US"]},"backupCodes":false}`: `{"backupCodes":false,"sms":{"allowedCountries":["US"]}}`,
	} {
		o := mustOverlay(t, in).Normalize()
		out, _ := json.Marshal(o)
		if string(out) != want {
			t.Errorf("%s stored as %s, want %s", in, out, want)
		}
	}
}

func TestFromWholeOrgPolicyKeepsTheMeaning(t *testing.T) {
	whole := func(raw string) Policy {
		p := Default()
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name          string
		global, org   string // global as an overlay, org as the body the earlier PUT took
		pinnedMode    bool
		effectiveWant func(p *Policy)
	}{
		{"omitted grace and remember were 0: still 0", `{"rememberDeviceDays":30}`, `{"mode":"required","gracePeriodDays":7}`, false,
			func(p *Policy) { p.Mode, p.GracePeriodDays, p.RememberDeviceDays = ModeRequired, 0, 0 }},
		{"longer remember than the global: the global's", `{"rememberDeviceDays":7}`, `{"rememberDeviceDays":30}`, false,
			func(p *Policy) { p.RememberDeviceDays = 7 }},
		{"global required, organization optional: the organization's shorter grace kept", `{"mode":"required","factors":["totp"],"gracePeriodDays":14}`, `{"mode":"optional","gracePeriodDays":3}`, true,
			func(p *Policy) { p.Mode, p.Factors, p.GracePeriodDays = ModeRequired, []string{"totp"}, 3 }},
		{"global adaptive, organization's prompt kept", `{"mode":"adaptive","prompt":"at_registration"}`, `{"mode":"optional"}`, true,
			func(p *Policy) { p.Mode, p.Prompt = ModeAdaptive, PromptNever }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := ResolveGlobal(Default(), mustOverlay(t, tc.global))
			o := FromWholeOrgPolicy(g, whole(tc.org))
			got := Merge(g, o).Policy
			want := Default()
			tc.effectiveWant(&want)
			if !SameDecisions(got, want) {
				t.Fatalf("after migration %+v\nwant            %+v", got, want)
			}
			if pinned := *o.Mode != whole(tc.org).Mode; pinned != tc.pinnedMode {
				t.Fatalf("mode pinned = %v, want %v (%s)", pinned, tc.pinnedMode, *o.Mode)
			}
		})
	}
}

func mustOverlay(t *testing.T, raw string) Overlay {
	t.Helper()
	var o Overlay
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return o
}

// fieldJSON is one field of p, by dotted wire name, as JSON.
func fieldJSON(t *testing.T, p Policy, field string) string {
	t.Helper()
	raw, _ := json.Marshal(p)
	var v any
	_ = json.Unmarshal(raw, &v)
	for _, part := range strings.Split(field, ".") {
		v = v.(map[string]any)[part]
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func isSet(t *testing.T, raw, field string) bool {
	t.Helper()
	var v any
	_ = json.Unmarshal([]byte(raw), &v)
	for _, part := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
