package policy

import "testing"

func TestDecide(t *testing.T) {
	totp := Factor{ID: "t1", Type: "totp"}
	totp2 := Factor{ID: "t2", Type: "totp"}
	passkey := Factor{ID: "w1", Type: "webauthn"}
	email := Factor{ID: "e1", Type: "email"}
	backup := Factor{ID: "b1", Type: "backup_codes"}
	onlyTOTP := Policy{Mode: ModeOptional, Factors: []string{"totp"}, BackupCodes: true}

	tests := []struct {
		name        string
		in          Input
		required    bool
		reason      string
		defaultID   string
		usableCount int
	}{
		{"no factors: never prompted", Input{Policy: Default()}, false, ReasonNoFactors, "", 0},
		{"a bound factor requires MFA", Input{Policy: Default(), Factors: []Factor{totp}}, true, ReasonUserHasFactors, "t1", 1},
		{"policy off", Input{Policy: Policy{Mode: ModeOff, Factors: []string{"totp"}}, Factors: []Factor{totp}}, false, ReasonPolicyOff, "", 0},
		{"email allowed globally is not a factor of a user without it", Input{Policy: Default(), Factors: nil}, false, ReasonNoFactors, "", 0},
		{"types the policy no longer allows are not offered", Input{Policy: onlyTOTP, Factors: []Factor{email}}, false, ReasonNoFactors, "", 0},
		{"passkey is the default", Input{Policy: Default(), Factors: []Factor{totp, email, passkey}, LastFactorID: "e1"}, true, ReasonUserHasFactors, "w1", 3},
		{"else the last used", Input{Policy: Default(), Factors: []Factor{totp, email}, LastFactorID: "e1"}, true, ReasonUserHasFactors, "e1", 2},
		{"else the first", Input{Policy: Default(), Factors: []Factor{totp2, totp}, LastFactorID: "gone"}, true, ReasonUserHasFactors, "t2", 2},
		{"backup codes never the default beside a primary", Input{Policy: Default(), Factors: []Factor{backup, totp}, LastFactorID: "b1"}, true, ReasonUserHasFactors, "t1", 2},
		{"only backup codes left", Input{Policy: Default(), Factors: []Factor{backup}}, true, ReasonOnlyBackupCodes, "b1", 1},
		{"minStrength hides weaker factors", Input{Policy: Default(), Factors: []Factor{email, totp, backup}, MinStrength: StrengthOTP}, true, ReasonUserHasFactors, "t1", 1},
		{"phishing resistant only, none strong enough: required, unsatisfiable", Input{Policy: Default(), Factors: []Factor{email, totp}, MinStrength: StrengthPhishingResistant}, true, ReasonInsufficientStrength, "", 0},
		{"phishing resistant only: the passkey alone", Input{Policy: Default(), Factors: []Factor{email, passkey, totp}, MinStrength: StrengthPhishingResistant}, true, ReasonUserHasFactors, "w1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			if d.MFARequired != tc.required || d.Reason != tc.reason || d.DefaultFactorID != tc.defaultID || len(d.Factors) != tc.usableCount {
				t.Fatalf("Decide = %+v, want required=%v reason=%s default=%q usable=%d", d, tc.required, tc.reason, tc.defaultID, tc.usableCount)
			}
			if tc.required && tc.usableCount > 0 && d.Factors[0].ID != tc.defaultID {
				t.Errorf("default factor %q is not listed first: %+v", tc.defaultID, d.Factors)
			}
			for i := 1; i < len(d.Factors); i++ {
				if d.Factors[i-1].Type == "backup_codes" && d.Factors[0].Type != "backup_codes" {
					t.Errorf("backup codes listed before a primary factor: %+v", d.Factors)
				}
			}
		})
	}
}
