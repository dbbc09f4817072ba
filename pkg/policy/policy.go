// Package policy decides, from the effective policy and what a user has bound, whether a
// challenge needs a second factor and which factors it offers. It is pure: no store, no clock
// of its own, no transport. For now it implements the foundation's rule — MFA is required iff
// the user has a usable factor — and DESIGN §5 rules 1 and 4; the full engine grows here.
package policy

import (
	"slices"
	"strings"
	"time"
)

// Mode is how strongly a policy asks for MFA.
type Mode string

const (
	ModeOff      Mode = "off"
	ModeOptional Mode = "optional"
	ModeAdaptive Mode = "adaptive"
	ModeRequired Mode = "required"
)

// Policy is a global or organization policy (DESIGN §5). Its JSON is the wire format of the
// admin policy routes.
type Policy struct {
	Mode        Mode     `json:"mode"`
	Factors     []string `json:"factors"` // allowed primary factor types
	BackupCodes bool     `json:"backupCodes"`
	// Prompt says when optional mode asks a user without factors to enroll.
	Prompt string `json:"prompt"`
	// GracePeriodDays is how long required mode lets a user without factors skip enrolling,
	// counted from registration (or first seen).
	GracePeriodDays int `json:"gracePeriodDays"`
	// RememberDeviceDays is how long a trusted device skips sign-in MFA; 0 turns it off.
	RememberDeviceDays int `json:"rememberDeviceDays"`
	// EmailFallback binds the user's verified email as a factor when they enroll TOTP or a
	// passkey.
	EmailFallback bool     `json:"emailFallback"`
	Adaptive      Adaptive `json:"adaptive"`
	SMS           SMS      `json:"sms"`
	// UserVerification is what passkeys must do: "preferred" or "required".
	UserVerification string `json:"userVerification"`
}

// SMS limits where text messages go and how many: SMS pumping is paid for by the sender.
type SMS struct {
	AllowedCountries         []string `json:"allowedCountries"` // ISO 3166-1 alpha-2
	MaxPerUserPerHour        int      `json:"maxPerUserPerHour"`
	MaxPerDestinationPerHour int      `json:"maxPerDestinationPerHour"`
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
		Prompt:           PromptNever,
		Adaptive:         Adaptive{NewDevice: true, NewIP: true, RecentFailures: true},
		SMS:              SMS{AllowedCountries: slices.Clone(DefaultSMSCountries), MaxPerUserPerHour: 10, MaxPerDestinationPerHour: 10},
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

// Signals are the risk signals of one sign-in, as the caller worked them out.
type Signals struct {
	NewDevice      bool
	NewIP          bool
	RecentFailures bool
}

// Input is everything a decision depends on.
type Input struct {
	Policy        Policy
	Factors       []Factor // the factors bound to this user, in creation order
	LastFactorID  string   // the factor last used successfully
	MinStrength   string   // step-up: weaker factors are not offered (rule 7)
	StepUp        bool     // purpose step_up: asked whenever the user has a usable factor
	Now           time.Time
	RegisteredAt  time.Time // when the user registered, if the app says; else FirstSeenAt
	FirstSeenAt   time.Time // zero: this is the first time the service sees the user
	PromptSkipped bool      // the user skipped the optional enrollment prompt before
	Signals       Signals
}

// Reasons a decision gives.
const (
	ReasonTrustedDevice        = "trusted_device"
	ReasonPolicyOff            = "policy_off"
	ReasonNoFactors            = "no_factors"
	ReasonUserHasFactors       = "user_has_factors"
	ReasonStepUp               = "step_up"
	ReasonNoRiskSignals        = "no_risk_signals"
	ReasonEnrollmentPrompt     = "enrollment_prompt"
	ReasonEnrollmentRequired   = "enrollment_required"
	ReasonOnlyBackupCodes      = "only_backup_codes"
	ReasonInsufficientStrength = "insufficient_strength"
	// A decision asked for by risk signals says "risk:" and the signals, e.g. "risk:new_device,new_ip".
	ReasonRiskPrefix = "risk:"
)

// Signal names in a risk reason.
const (
	SignalNewDevice      = "new_device"
	SignalNewIP          = "new_ip"
	SignalRecentFailures = "recent_failures"
)

// Decision is what the challenge answers.
type Decision struct {
	MFARequired         bool
	Reason              string
	EnrollmentRequired  bool
	EnrollmentSkippable bool
	Factors             []Factor // usable factors, the default first
	DefaultFactorID     string
	Signals             []string // the risk signals that fired (adaptive mode)
}

const backupCodes = "backup_codes"

// Decide applies the policy to one user (DESIGN §5 rules 1, 2, 4, 5 and 7; rule 3, trusted
// devices, is applied by the caller, which holds the device records; rule 6 acts at
// enrollment).
func Decide(in Input) Decision {
	p := in.Policy
	if p.Mode == ModeOff {
		return Decision{Reason: ReasonPolicyOff}
	}
	allowed := Usable(p, in.Factors)
	usable := atLeast(allowed, in.MinStrength)
	if len(usable) == 0 && len(allowed) > 0 {
		// Rule 7: the user has factors, none strong enough. That is no pass: a second factor
		// is required and none can satisfy it, so the user must enroll a stronger one.
		return Decision{MFARequired: true, Reason: ReasonInsufficientStrength, EnrollmentRequired: true}
	}
	if len(usable) == 0 {
		return noFactors(in)
	}
	def := defaultFactor(usable, in.LastFactorID)
	d := Decision{MFARequired: true, Reason: ReasonUserHasFactors, Factors: ordered(usable, def), DefaultFactorID: def}
	if onlyBackupCodes(usable) {
		// Rule 5: they verify with a backup code and are then asked to enroll a primary factor.
		d.Reason, d.EnrollmentRequired, d.EnrollmentSkippable = ReasonOnlyBackupCodes, true, p.Mode != ModeRequired
		return d
	}
	switch {
	case in.StepUp:
		d.Reason = ReasonStepUp
	case p.Mode == ModeAdaptive:
		d.Signals = fired(p.Adaptive, in.Signals)
		if len(d.Signals) == 0 {
			return Decision{Reason: ReasonNoRiskSignals, Factors: d.Factors, DefaultFactorID: def}
		}
		d.Reason = ReasonRiskPrefix + strings.Join(d.Signals, ",")
	}
	return d
}

// noFactors decides for a user with no usable factor: never asked to verify (there is
// nothing to verify with); asked to enroll as the mode and prompt say.
func noFactors(in Input) Decision {
	p := in.Policy
	if p.Mode == ModeRequired {
		start := in.RegisteredAt
		if start.IsZero() {
			start = in.FirstSeenAt
		}
		if start.IsZero() {
			start = in.Now
		}
		inGrace := in.Now.Before(start.Add(time.Duration(p.GracePeriodDays) * 24 * time.Hour))
		return Decision{Reason: ReasonEnrollmentRequired, EnrollmentRequired: true, EnrollmentSkippable: inGrace}
	}
	firstSignIn := in.FirstSeenAt.IsZero()
	prompt := !in.PromptSkipped && !in.StepUp && (p.Prompt == PromptAtRegistration || (p.Prompt == PromptAfterRegistration && !firstSignIn))
	if prompt {
		return Decision{Reason: ReasonEnrollmentPrompt, EnrollmentRequired: true, EnrollmentSkippable: true}
	}
	return Decision{Reason: ReasonNoFactors}
}

func onlyBackupCodes(usable []Factor) bool {
	for _, f := range usable {
		if f.Type != backupCodes {
			return false
		}
	}
	return true
}

func fired(enabled Adaptive, s Signals) []string {
	var out []string
	if enabled.NewDevice && s.NewDevice {
		out = append(out, SignalNewDevice)
	}
	if enabled.NewIP && s.NewIP {
		out = append(out, SignalNewIP)
	}
	if enabled.RecentFailures && s.RecentFailures {
		out = append(out, SignalRecentFailures)
	}
	return out
}

// ordered lists the default first, then the other primary factors, backup codes last.
func ordered(usable []Factor, def string) []Factor {
	out := make([]Factor, 0, len(usable))
	for _, f := range usable {
		if f.ID == def {
			out = append(out, f)
		}
	}
	for _, backup := range []bool{false, true} {
		for _, f := range usable {
			if f.ID != def && (f.Type == backupCodes) == backup {
				out = append(out, f)
			}
		}
	}
	return out
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
