// Package policy decides, from the effective policy and what a user has bound, whether a
// challenge needs a second factor and which factors it offers. It is pure: no store, no clock
// of its own, no transport. For now it implements the foundation's rule — MFA is required iff
// the user has a usable factor — and DESIGN §5 rules 1 and 4; the full engine grows here.
package policy

import "time"

// Mode is how strongly a policy asks for MFA.
type Mode string

const (
	ModeOff      Mode = "off"
	ModeOptional Mode = "optional"
	ModeAdaptive Mode = "adaptive"
	ModeRequired Mode = "required"
)

// Policy is the effective policy for one decision.
type Policy struct {
	Mode        Mode
	Factors     []string // allowed primary factor types
	BackupCodes bool
	SMS         SMS
	// RememberDeviceDays is how long a trusted device skips sign-in MFA; 0 turns it off.
	RememberDeviceDays int
	// UserVerification is what passkeys must do: "preferred" (default) or "required".
	UserVerification string
}

// SMS limits where text messages go: SMS pumping is paid for by the sender.
type SMS struct {
	AllowedCountries []string // ISO 3166-1 alpha-2
}

// DefaultSMSCountries is a short allow-list of countries with low SMS-pumping risk; widen it
// per deployment, deliberately.
var DefaultSMSCountries = []string{"US", "CA", "GB", "IE", "DE", "FR", "NL", "BE", "SE", "NO", "DK", "FI", "AU", "NZ"}

// Default is the policy in force when none is set: optional, every factor allowed.
func Default() Policy {
	return Policy{
		Mode:             ModeOptional,
		Factors:          []string{"webauthn", "totp", "email", "sms"},
		BackupCodes:      true,
		SMS:              SMS{AllowedCountries: DefaultSMSCountries},
		UserVerification: "preferred",
	}
}

// Allows reports whether a primary factor type may be bound and offered.
func (p Policy) Allows(factorType string) bool {
	if factorType == backupCodes {
		return p.BackupCodes
	}
	for _, t := range p.Factors {
		if t == factorType {
			return true
		}
	}
	return false
}

// AllowsCountry reports whether text messages may go to a number of this region.
func (p Policy) AllowsCountry(region string) bool {
	for _, c := range p.SMS.AllowedCountries {
		if c == region {
			return true
		}
	}
	return false
}

// Factor is a factor bound to the user, as the decision sees it.
type Factor struct {
	ID         string
	Type       string
	LastUsedAt time.Time
}

// Input is everything a decision depends on.
type Input struct {
	Policy       Policy
	Factors      []Factor // the factors bound to this user, in creation order
	LastFactorID string   // the factor last used successfully
	MinStrength  string   // step-up: weaker factors are not offered (rule 7)
}

// Reasons a decision gives.
const (
	ReasonTrustedDevice  = "trusted_device"
	ReasonPolicyOff      = "policy_off"
	ReasonNoFactors      = "no_factors"
	ReasonUserHasFactors = "user_has_factors"
)

// Decision is what the challenge answers.
type Decision struct {
	MFARequired         bool
	Reason              string
	EnrollmentRequired  bool
	EnrollmentSkippable bool
	Factors             []Factor // usable factors, the default first
	DefaultFactorID     string
}

const backupCodes = "backup_codes"

// Decide applies the policy to one user.
func Decide(in Input) Decision {
	if in.Policy.Mode == ModeOff {
		return Decision{Reason: ReasonPolicyOff}
	}
	usable := atLeast(Usable(in.Policy, in.Factors), in.MinStrength)
	if len(usable) == 0 {
		return Decision{Reason: ReasonNoFactors}
	}
	def := defaultFactor(usable, in.LastFactorID)
	// The default first, then the other primary factors, backup codes last.
	ordered := make([]Factor, 0, len(usable))
	for _, f := range usable {
		if f.ID == def {
			ordered = append(ordered, f)
		}
	}
	for _, backup := range []bool{false, true} {
		for _, f := range usable {
			if f.ID != def && (f.Type == backupCodes) == backup {
				ordered = append(ordered, f)
			}
		}
	}
	return Decision{
		MFARequired:     true,
		Reason:          ReasonUserHasFactors,
		Factors:         ordered,
		DefaultFactorID: def,
	}
}

// Usable keeps the factors bound to the user whose type the policy allows (rule 1: a type
// being allowed never makes it a factor of a user who did not bind it).
func Usable(p Policy, bound []Factor) []Factor {
	var out []Factor
	for _, f := range bound {
		if p.Allows(f.Type) {
			out = append(out, f)
		}
	}
	return out
}

// defaultFactor is rule 4: a passkey; else the last factor used successfully; else the first.
// Backup codes are never the default while a primary factor exists.
func defaultFactor(usable []Factor, lastUsed string) string {
	var primaries []Factor
	for _, f := range usable {
		if f.Type != backupCodes {
			primaries = append(primaries, f)
		}
	}
	if len(primaries) == 0 {
		return usable[0].ID
	}
	for _, f := range primaries {
		if f.Type == "webauthn" {
			return f.ID
		}
	}
	for _, f := range primaries {
		if f.ID == lastUsed {
			return f.ID
		}
	}
	return primaries[0].ID
}

// Strengths, strongest first (rule 7).
const (
	StrengthPhishingResistant = "phishing_resistant"
	StrengthOTP               = "otp"
	StrengthOOB               = "oob"
	StrengthRecovery          = "recovery"
)

var strengthRank = map[string]int{StrengthRecovery: 1, StrengthOOB: 2, StrengthOTP: 3, StrengthPhishingResistant: 4}

// ValidStrength reports whether s is a known strength or empty (no minimum).
func ValidStrength(s string) bool { return s == "" || strengthRank[s] > 0 }

// StrengthOf is a factor type's strength.
func StrengthOf(factorType string) string {
	switch factorType {
	case "webauthn":
		return StrengthPhishingResistant
	case "totp":
		return StrengthOTP
	case "email", "sms":
		return StrengthOOB
	default:
		return StrengthRecovery
	}
}

func atLeast(fs []Factor, min string) []Factor {
	if min == "" {
		return fs
	}
	var out []Factor
	for _, f := range fs {
		if strengthRank[StrengthOf(f.Type)] >= strengthRank[min] {
			out = append(out, f)
		}
	}
	return out
}
