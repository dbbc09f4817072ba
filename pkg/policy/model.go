package policy

import (
	"fmt"
	"slices"
	"time"
)

// Prompt says when optional mode asks a user without factors to enroll.
const (
	PromptNever             = "never"
	PromptAtRegistration    = "at_registration"
	PromptAfterRegistration = "after_registration"
)

// Adaptive says which risk signals count in adaptive mode.
type Adaptive struct {
	NewDevice      bool `json:"newDevice"`
	NewIP          bool `json:"newIp"`
	RecentFailures bool `json:"recentFailures"`
}

// Meta is a stored policy's version information.
type Meta struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// FieldError names the field of a policy that is wrong.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	knownFactors = []string{"webauthn", "totp", "email", "sms"}
)

// isCountryCode reports whether c has the shape of an ISO 3166-1 alpha-2 code: two capital
// letters (what ^[A-Z]{2}$ says, without compiling it in every cold start).
func isCountryCode(c string) bool {
	return len(c) == 2 && 'A' <= c[0] && c[0] <= 'Z' && 'A' <= c[1] && c[1] <= 'Z'
}

// Validate checks every field and names the first one that is wrong.
func (p Policy) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
	}
	switch p.Mode {
	case ModeOff, ModeOptional, ModeAdaptive, ModeRequired:
	default:
		return bad("mode", "must be off, optional, adaptive or required")
	}
	seen := map[string]bool{}
	for _, f := range p.Factors {
		if !slices.Contains(knownFactors, f) {
			return bad("factors", "unknown factor type %q (allowed: webauthn, totp, email, sms)", f)
		}
		if seen[f] {
			return bad("factors", "%q is listed twice", f)
		}
		seen[f] = true
	}
	if p.Mode == ModeRequired && len(p.Factors) == 0 {
		return bad("factors", "required mode needs at least one allowed factor type")
	}
	switch p.Prompt {
	case PromptNever, PromptAtRegistration, PromptAfterRegistration:
	default:
		return bad("prompt", "must be never, at_registration or after_registration")
	}
	if p.GracePeriodDays < 0 || p.GracePeriodDays > 30 {
		return bad("gracePeriodDays", "must be 0 to 30")
	}
	if p.RememberDeviceDays < 0 || p.RememberDeviceDays > 365 {
		return bad("rememberDeviceDays", "must be 0 to 365")
	}
	for _, c := range p.SMS.AllowedCountries {
		if !isCountryCode(c) {
			return bad("sms.allowedCountries", "%q is not an ISO 3166-1 alpha-2 code like US", c)
		}
	}
	if p.SMS.MaxPerUserPerHour < 1 || p.SMS.MaxPerUserPerHour > 100 {
		return bad("sms.maxPerUserPerHour", "must be 1 to 100")
	}
	if p.SMS.MaxPerDestinationPerHour < 1 || p.SMS.MaxPerDestinationPerHour > 100 {
		return bad("sms.maxPerDestinationPerHour", "must be 1 to 100")
	}
	switch p.UserVerification {
	case "preferred", "required":
	default:
		return bad("userVerification", "must be preferred or required")
	}
	return nil
}
