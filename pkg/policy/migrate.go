package policy

import "slices"

// Policies stored before overlays were written by a PUT that replaced the whole policy: every
// field was stored, those the admin left out at the built-in default's value. An organization
// policy stored that way was merged by legacyMerge, the stricter of the two field by field.
// FromWholeOrgPolicy turns one into the overlay that means the same under Merge, so the
// migration changes no decision.

// FromWholeOrgPolicy returns the overlay that, laid on global by Merge, gives what whole (an
// organization policy stored by the earlier whole-policy PUT) gave against global. It keeps
// every field whole stored; rememberDeviceDays and gracePeriodDays, which the earlier merge
// took as the lower of the two, are set to that lower value; and where the global mode was
// stricter and the organization's prompt or grace period still counted then, the mode in
// force is kept too (the new merge would otherwise take the global's prompt or grace).
func FromWholeOrgPolicy(global Resolved, whole Policy) Overlay {
	want := legacyMerge(global.Policy, whole)
	o := Full(whole)
	o.RememberDeviceDays = ptr(want.RememberDeviceDays)
	o.GracePeriodDays = ptr(want.GracePeriodDays)
	if !SameDecisions(Merge(global, o).Policy, want) {
		o.Mode = ptr(want.Mode)
	}
	return o
}

// FromWholeGlobalPolicy returns the overlay a global policy stored by the earlier whole-policy
// PUT becomes: every field it stored, so it keeps meaning exactly what it did.
func FromWholeGlobalPolicy(whole Policy) Overlay { return Full(whole) }

// SameDecisions reports whether two policies decide every challenge, enrollment and send
// alike: equal in every field, the mode's own settings compared only where the mode uses them
// (the grace period in required mode, the prompt in optional and adaptive mode), lists as sets.
func SameDecisions(a, b Policy) bool {
	if a.Mode != b.Mode || !sameSet(a.Factors, b.Factors) || a.BackupCodes != b.BackupCodes ||
		a.RememberDeviceDays != b.RememberDeviceDays || a.EmailFallback != b.EmailFallback || a.Adaptive != b.Adaptive ||
		!sameSet(a.SMS.AllowedCountries, b.SMS.AllowedCountries) || a.SMS.MaxPerUserPerHour != b.SMS.MaxPerUserPerHour ||
		a.SMS.MaxPerDestinationPerHour != b.SMS.MaxPerDestinationPerHour || a.UserVerification != b.UserVerification {
		return false
	}
	switch a.Mode {
	case ModeRequired:
		return a.GracePeriodDays == b.GracePeriodDays
	case ModeOptional, ModeAdaptive:
		return a.Prompt == b.Prompt
	}
	return true
}

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

// legacyMerge is the earlier merge of a whole organization policy with the global one, kept
// only to migrate policies stored then.
func legacyMerge(global, org Policy) Policy {
	out := org
	if modeRank[global.Mode] > modeRank[org.Mode] {
		out.Mode = global.Mode
	}
	out.Factors = intersect(global.Factors, org.Factors)
	out.BackupCodes = global.BackupCodes && org.BackupCodes
	out.GracePeriodDays = min(global.GracePeriodDays, org.GracePeriodDays)
	out.RememberDeviceDays = min(global.RememberDeviceDays, org.RememberDeviceDays)
	out.EmailFallback = global.EmailFallback || org.EmailFallback
	out.Adaptive = Adaptive{
		NewDevice:      global.Adaptive.NewDevice || org.Adaptive.NewDevice,
		NewIP:          global.Adaptive.NewIP || org.Adaptive.NewIP,
		RecentFailures: global.Adaptive.RecentFailures || org.Adaptive.RecentFailures,
	}
	out.SMS.AllowedCountries = intersect(global.SMS.AllowedCountries, org.SMS.AllowedCountries)
	out.SMS.MaxPerUserPerHour = min(global.SMS.MaxPerUserPerHour, org.SMS.MaxPerUserPerHour)
	out.SMS.MaxPerDestinationPerHour = min(global.SMS.MaxPerDestinationPerHour, org.SMS.MaxPerDestinationPerHour)
	if global.UserVerification == "required" {
		out.UserVerification = "required"
	}
	return out
}
