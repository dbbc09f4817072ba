package policy

import (
	"slices"
)

// Overlay is a policy as an admin stores it: only the fields that were sent. A field left out
// (or sent as null) is not part of the overlay and follows the layer below it as that layer
// stands: the global overlay lies on the deployment's default policy, an organization's
// overlay on the global policy in force (see Merge).
type Overlay struct {
	Mode               *Mode            `json:"mode,omitempty"`
	Factors            *[]string        `json:"factors,omitempty"`
	BackupCodes        *bool            `json:"backupCodes,omitempty"`
	Prompt             *string          `json:"prompt,omitempty"`
	GracePeriodDays    *int             `json:"gracePeriodDays,omitempty"`
	RememberDeviceDays *int             `json:"rememberDeviceDays,omitempty"`
	EmailFallback      *bool            `json:"emailFallback,omitempty"`
	Adaptive           *AdaptiveOverlay `json:"adaptive,omitempty"`
	SMS                *SMSOverlay      `json:"sms,omitempty"`
	UserVerification   *string          `json:"userVerification,omitempty"`
}

// AdaptiveOverlay is the part of Adaptive an overlay sets.
type AdaptiveOverlay struct {
	NewDevice      *bool `json:"newDevice,omitempty"`
	NewIP          *bool `json:"newIp,omitempty"`
	RecentFailures *bool `json:"recentFailures,omitempty"`
}

// SMSOverlay is the part of SMS an overlay sets.
type SMSOverlay struct {
	AllowedCountries         *[]string `json:"allowedCountries,omitempty"`
	MaxPerUserPerHour        *int      `json:"maxPerUserPerHour,omitempty"`
	MaxPerDestinationPerHour *int      `json:"maxPerDestinationPerHour,omitempty"`
}

// Normalize drops nested objects that set nothing, so `{"adaptive":{}}` is stored as `{}`.
func (o Overlay) Normalize() Overlay {
	if a := o.Adaptive; a != nil && a.NewDevice == nil && a.NewIP == nil && a.RecentFailures == nil {
		o.Adaptive = nil
	}
	if s := o.SMS; s != nil && s.AllowedCountries == nil && s.MaxPerUserPerHour == nil && s.MaxPerDestinationPerHour == nil {
		o.SMS = nil
	}
	return o
}

// Over is base with the overlay's fields laid on it: what the overlay's own scope says when
// nothing is merged (the global policy over the default).
func (o Overlay) Over(base Policy) Policy {
	p := base
	p.Factors = slices.Clone(base.Factors)
	p.SMS.AllowedCountries = slices.Clone(base.SMS.AllowedCountries)
	set(&p.Mode, o.Mode)
	if o.Factors != nil {
		p.Factors = slices.Clone(*o.Factors)
	}
	set(&p.BackupCodes, o.BackupCodes)
	set(&p.Prompt, o.Prompt)
	set(&p.GracePeriodDays, o.GracePeriodDays)
	set(&p.RememberDeviceDays, o.RememberDeviceDays)
	set(&p.EmailFallback, o.EmailFallback)
	if a := o.Adaptive; a != nil {
		set(&p.Adaptive.NewDevice, a.NewDevice)
		set(&p.Adaptive.NewIP, a.NewIP)
		set(&p.Adaptive.RecentFailures, a.RecentFailures)
	}
	if s := o.SMS; s != nil {
		if s.AllowedCountries != nil {
			p.SMS.AllowedCountries = slices.Clone(*s.AllowedCountries)
		}
		set(&p.SMS.MaxPerUserPerHour, s.MaxPerUserPerHour)
		set(&p.SMS.MaxPerDestinationPerHour, s.MaxPerDestinationPerHour)
	}
	set(&p.UserVerification, o.UserVerification)
	return p
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Full is the overlay that sets every field of p.
func Full(p Policy) Overlay {
	factors := append([]string{}, p.Factors...)
	countries := append([]string{}, p.SMS.AllowedCountries...)
	return Overlay{
		Mode: ptr(p.Mode), Factors: &factors, BackupCodes: ptr(p.BackupCodes), Prompt: ptr(p.Prompt),
		GracePeriodDays: ptr(p.GracePeriodDays), RememberDeviceDays: ptr(p.RememberDeviceDays), EmailFallback: ptr(p.EmailFallback),
		Adaptive: &AdaptiveOverlay{NewDevice: ptr(p.Adaptive.NewDevice), NewIP: ptr(p.Adaptive.NewIP), RecentFailures: ptr(p.Adaptive.RecentFailures)},
		SMS: &SMSOverlay{AllowedCountries: &countries, MaxPerUserPerHour: ptr(p.SMS.MaxPerUserPerHour),
			MaxPerDestinationPerHour: ptr(p.SMS.MaxPerDestinationPerHour)},
		UserVerification: ptr(p.UserVerification),
	}
}

// Ptr is a pointer to v, to set an Overlay field: Overlay{Mode: Ptr(ModeRequired)}.
func Ptr[T any](v T) *T { return &v }

func ptr[T any](v T) *T { return &v }

// Validate checks the fields the overlay sets, naming the first wrong one. Whether the
// effective policy it makes can be met is checked on the merge (Resolved.Satisfiable).
func (o Overlay) Validate() error {
	// Fields left out take Default()'s values here, which are valid, so only the fields set
	// can be wrong. The one rule across fields (required needs a factor type) then fires only
	// when the overlay itself says both.
	return o.Over(Default()).Validate()
}

// Source says where an effective field's value came from.
const (
	SourceDefault      = "default"      // the deployment's default policy (no global field set)
	SourceGlobal       = "global"       // the global policy
	SourceOrganization = "organization" // the organization's overlay
)

// Sources names, per field of the effective policy (wire names, nested ones dotted:
// "sms.allowedCountries"), where its value came from: "default", "global", "organization",
// or two joined by "+" when the merge combined both (an intersection, either-of, a tie).
type Sources map[string]string

// Field names as Sources keys them, in wire order.
var Fields = []string{
	"mode", "factors", "backupCodes", "prompt", "gracePeriodDays", "rememberDeviceDays", "emailFallback",
	"adaptive.newDevice", "adaptive.newIp", "adaptive.recentFailures",
	"sms.allowedCountries", "sms.maxPerUserPerHour", "sms.maxPerDestinationPerHour", "userVerification",
}

// Resolved is an effective policy with where each field came from.
type Resolved struct {
	Policy  Policy
	Sources Sources
}

// Satisfiable reports whether users can meet the policy: required mode needs a factor type
// they may enroll.
func (r Resolved) Satisfiable() bool {
	return r.Policy.Mode != ModeRequired || len(r.Policy.Factors) > 0
}

// ResolveGlobal is the global policy in force: its overlay on the deployment's default.
func ResolveGlobal(base Policy, global Overlay) Resolved {
	p := global.Over(base)
	src := Sources{}
	for _, f := range Fields {
		src[f] = SourceDefault
	}
	mark := func(field string, isSet bool) {
		if isSet {
			src[field] = SourceGlobal
		}
	}
	mark("mode", global.Mode != nil)
	mark("factors", global.Factors != nil)
	mark("backupCodes", global.BackupCodes != nil)
	mark("prompt", global.Prompt != nil)
	mark("gracePeriodDays", global.GracePeriodDays != nil)
	mark("rememberDeviceDays", global.RememberDeviceDays != nil)
	mark("emailFallback", global.EmailFallback != nil)
	if a := global.Adaptive; a != nil {
		mark("adaptive.newDevice", a.NewDevice != nil)
		mark("adaptive.newIp", a.NewIP != nil)
		mark("adaptive.recentFailures", a.RecentFailures != nil)
	}
	if s := global.SMS; s != nil {
		mark("sms.allowedCountries", s.AllowedCountries != nil)
		mark("sms.maxPerUserPerHour", s.MaxPerUserPerHour != nil)
		mark("sms.maxPerDestinationPerHour", s.MaxPerDestinationPerHour != nil)
	}
	mark("userVerification", global.UserVerification != nil)
	return Resolved{Policy: p, Sources: src}
}

var modeRank = map[Mode]int{ModeOff: 0, ModeOptional: 1, ModeAdaptive: 2, ModeRequired: 3}

// Merge is the effective policy when a challenge names an organization: the organization's
// overlay on the global policy in force (DESIGN §5). A field the organization leaves out is
// the global one. A field it sets:
//   - mode: the stricter of the two (off < optional < adaptive < required);
//   - prompt, gracePeriodDays (settings of a mode): from the policy whose mode is in force —
//     the global's when its mode is stricter, else the organization's; when both are required,
//     the shorter grace period;
//   - factors, backupCodes, sms.allowedCountries: only what both allow;
//   - rememberDeviceDays: the organization's;
//   - sms caps: the lower;
//   - adaptive risk signals, emailFallback: on if either turns it on;
//   - userVerification: required if either requires it.
func Merge(global Resolved, org Overlay) Resolved {
	g, gs := global.Policy, global.Sources
	own := org.Over(g) // the organization's policy as it reads alone: its fields, else the global's
	out := Resolved{Policy: own, Sources: Sources{}}
	p, src := &out.Policy, out.Sources
	for _, f := range Fields {
		src[f] = gs[f]
	}
	both := func(field string) string { return gs[field] + "+" + SourceOrganization }

	// The mode, and the settings that belong to the mode in force.
	globalMode := modeRank[g.Mode] > modeRank[own.Mode]
	p.Mode = max2(g.Mode, own.Mode)
	if org.Mode != nil && !globalMode {
		src["mode"] = SourceOrganization
		if *org.Mode == g.Mode {
			src["mode"] = both("mode")
		}
	}
	switch {
	case globalMode:
		p.Prompt, p.GracePeriodDays = g.Prompt, g.GracePeriodDays
	case p.Mode == ModeRequired && g.Mode == ModeRequired:
		if org.GracePeriodDays != nil {
			p.GracePeriodDays = min(g.GracePeriodDays, *org.GracePeriodDays)
			src["gracePeriodDays"] = lowerSource(g.GracePeriodDays, *org.GracePeriodDays, gs["gracePeriodDays"])
		}
		if org.Prompt != nil {
			src["prompt"] = SourceOrganization
		}
	default:
		if org.GracePeriodDays != nil {
			src["gracePeriodDays"] = SourceOrganization
		}
		if org.Prompt != nil {
			src["prompt"] = SourceOrganization
		}
	}

	// Allowed things: both must allow.
	if org.Factors != nil {
		p.Factors, src["factors"] = intersect(g.Factors, *org.Factors), both("factors")
	}
	if org.BackupCodes != nil {
		p.BackupCodes, src["backupCodes"] = g.BackupCodes && *org.BackupCodes, both("backupCodes")
	}
	if org.RememberDeviceDays != nil {
		src["rememberDeviceDays"] = SourceOrganization
	}
	if org.EmailFallback != nil {
		p.EmailFallback, src["emailFallback"] = g.EmailFallback || *org.EmailFallback, both("emailFallback")
	}
	if a := org.Adaptive; a != nil {
		either := func(field string, gv bool, ov *bool, dst *bool) {
			if ov != nil {
				*dst, src[field] = gv || *ov, both(field)
			}
		}
		either("adaptive.newDevice", g.Adaptive.NewDevice, a.NewDevice, &p.Adaptive.NewDevice)
		either("adaptive.newIp", g.Adaptive.NewIP, a.NewIP, &p.Adaptive.NewIP)
		either("adaptive.recentFailures", g.Adaptive.RecentFailures, a.RecentFailures, &p.Adaptive.RecentFailures)
	}
	if s := org.SMS; s != nil {
		if s.AllowedCountries != nil {
			p.SMS.AllowedCountries, src["sms.allowedCountries"] = intersect(g.SMS.AllowedCountries, *s.AllowedCountries), both("sms.allowedCountries")
		}
		lower := func(field string, gv int, ov *int, dst *int) {
			if ov != nil {
				*dst, src[field] = min(gv, *ov), lowerSource(gv, *ov, gs[field])
			}
		}
		lower("sms.maxPerUserPerHour", g.SMS.MaxPerUserPerHour, s.MaxPerUserPerHour, &p.SMS.MaxPerUserPerHour)
		lower("sms.maxPerDestinationPerHour", g.SMS.MaxPerDestinationPerHour, s.MaxPerDestinationPerHour, &p.SMS.MaxPerDestinationPerHour)
	}
	if org.UserVerification != nil {
		src["userVerification"] = both("userVerification")
		if g.UserVerification == "required" {
			p.UserVerification = "required"
		}
	}
	return out
}

// lowerSource names the side whose value is the lower one; a tie is both.
func lowerSource(global, org int, globalSource string) string {
	switch {
	case org < global:
		return SourceOrganization
	case org == global:
		return globalSource + "+" + SourceOrganization
	default:
		return globalSource
	}
}

func max2(a, b Mode) Mode {
	if modeRank[a] >= modeRank[b] {
		return a
	}
	return b
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Record is a policy as stored: its overlay and version; or, for a policy the earlier
// whole-policy PUT stored and nothing has migrated yet, that whole policy (Whole) instead.
type Record struct {
	Overlay Overlay
	Whole   *Policy
	Meta    Meta
}
