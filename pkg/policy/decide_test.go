package policy

import (
	"errors"
	"testing"
	"time"
)

func TestDecideModesPromptsGraceAndSignals(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	totp := Factor{ID: "t1", Type: "totp"}
	with := func(mut func(*Policy)) Policy {
		p := Default()
		mut(&p)
		return p
	}
	required := func(grace int) Policy {
		return with(func(p *Policy) { p.Mode, p.GracePeriodDays = ModeRequired, grace })
	}
	adaptive := with(func(p *Policy) { p.Mode = ModeAdaptive })

	tests := []struct {
		name                        string
		in                          Input
		required, enroll, skippable bool
		reason                      string
	}{
		// optional
		{"optional, factors: asked", Input{Policy: Default(), Factors: []Factor{totp}, Now: now}, true, false, false, ReasonUserHasFactors},
		{"optional, none, prompt never: left alone", Input{Policy: Default(), Now: now}, false, false, false, ReasonNoFactors},
		{"optional, prompt at registration: first sign-in prompted", Input{Policy: with(func(p *Policy) { p.Prompt = PromptAtRegistration }), Now: now}, false, true, true, ReasonEnrollmentPrompt},
		{"optional, prompt at registration: existing user prompted", Input{Policy: with(func(p *Policy) { p.Prompt = PromptAtRegistration }), Now: now, FirstSeenAt: now.Add(-90 * day)}, false, true, true, ReasonEnrollmentPrompt},
		{"optional, prompt skipped: not repeated", Input{Policy: with(func(p *Policy) { p.Prompt = PromptAtRegistration }), Now: now, PromptSkipped: true}, false, false, false, ReasonNoFactors},
		{"optional, prompt after registration: not at the first sign-in", Input{Policy: with(func(p *Policy) { p.Prompt = PromptAfterRegistration }), Now: now}, false, false, false, ReasonNoFactors},
		{"optional, prompt after registration: at the next", Input{Policy: with(func(p *Policy) { p.Prompt = PromptAfterRegistration }), Now: now, FirstSeenAt: now.Add(-time.Hour)}, false, true, true, ReasonEnrollmentPrompt},
		// required
		{"required, factors: asked", Input{Policy: required(7), Factors: []Factor{totp}, Now: now}, true, false, false, ReasonUserHasFactors},
		{"required, none, inside grace from registeredAt: skippable", Input{Policy: required(7), Now: now, RegisteredAt: now.Add(-6 * day)}, false, true, true, ReasonEnrollmentRequired},
		{"required, none, grace over: not skippable", Input{Policy: required(7), Now: now, RegisteredAt: now.Add(-8 * day)}, false, true, false, ReasonEnrollmentRequired},
		{"required, none, grace from first seen", Input{Policy: required(7), Now: now, FirstSeenAt: now.Add(-3 * day)}, false, true, true, ReasonEnrollmentRequired},
		{"required, none, no grace", Input{Policy: required(0), Now: now}, false, true, false, ReasonEnrollmentRequired},
		{"required, factor type no longer allowed: treated as none, not locked out", Input{Policy: with(func(p *Policy) { p.Mode, p.Factors, p.GracePeriodDays = ModeRequired, []string{"webauthn"}, 3 }), Factors: []Factor{totp}, Now: now}, false, true, true, ReasonEnrollmentRequired},
		// adaptive
		{"adaptive, factors, no signal: quiet", Input{Policy: adaptive, Factors: []Factor{totp}, Now: now}, false, false, false, ReasonNoRiskSignals},
		{"adaptive, new device", Input{Policy: adaptive, Factors: []Factor{totp}, Now: now, Signals: Signals{NewDevice: true}}, true, false, false, "risk:new_device"},
		{"adaptive, signals listed", Input{Policy: adaptive, Factors: []Factor{totp}, Now: now, Signals: Signals{NewDevice: true, NewIP: true, RecentFailures: true}}, true, false, false, "risk:new_device,new_ip,recent_failures"},
		{"adaptive, switched-off signal ignored", Input{Policy: with(func(p *Policy) { p.Mode, p.Adaptive.NewIP = ModeAdaptive, false }), Factors: []Factor{totp}, Now: now, Signals: Signals{NewIP: true}}, false, false, false, ReasonNoRiskSignals},
		{"adaptive, step-up always asks", Input{Policy: adaptive, Factors: []Factor{totp}, Now: now, StepUp: true}, true, false, false, ReasonStepUp},
		{"adaptive, none: like optional", Input{Policy: adaptive, Now: now}, false, false, false, ReasonNoFactors},
		// off
		{"off", Input{Policy: with(func(p *Policy) { p.Mode = ModeOff }), Factors: []Factor{totp}, Now: now}, false, false, false, ReasonPolicyOff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			if d.MFARequired != tc.required || d.EnrollmentRequired != tc.enroll || d.EnrollmentSkippable != tc.skippable || d.Reason != tc.reason {
				t.Fatalf("got required=%v enroll=%v skippable=%v reason=%q, want %v %v %v %q", d.MFARequired, d.EnrollmentRequired, d.EnrollmentSkippable, d.Reason, tc.required, tc.enroll, tc.skippable, tc.reason)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	cases := map[string]func(*Policy){
		"mode":                  func(p *Policy) { p.Mode = "sometimes" },
		"factors":               func(p *Policy) { p.Factors = []string{"totp", "carrier_pigeon"} },
		"prompt":                func(p *Policy) { p.Prompt = "always" },
		"gracePeriodDays":       func(p *Policy) { p.GracePeriodDays = 31 },
		"rememberDeviceDays":    func(p *Policy) { p.RememberDeviceDays = -1 },
		"sms.allowedCountries":  func(p *Policy) { p.SMS.AllowedCountries = []string{"usa"} },
		"sms.maxPerUserPerHour": func(p *Policy) { p.SMS.MaxPerUserPerHour = 0 },
		"userVerification":      func(p *Policy) { p.UserVerification = "maybe" },
	}
	for field, mut := range cases {
		p := Default()
		mut(&p)
		var fe *FieldError
		if err := p.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	p := Default()
	p.Mode, p.Factors = ModeRequired, nil
	var fe *FieldError
	if err := p.Validate(); !errors.As(err, &fe) || fe.Field != "factors" {
		t.Errorf("required without factors: %v", err)
	}
}
