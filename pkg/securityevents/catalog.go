// Package securityevents turns what the audit log records into the security events apps
// receive on EventBridge: one stable detail-type per kind of change, a versioned detail
// (schema/detail-v1.schema.json) and an event id that stays the same however often the event
// is delivered. It is plain Go: the publisher function (pkg/eventpublisher) decodes the table's
// stream and sends what this package builds.
//
// An event never carries a code, secret or token: the detail is built field by field from the
// audit event's allow-listed fields, never by copying an item.
package securityevents

import "github.com/mfa-service/mfa/pkg/mfa"

// Source is the EventBridge source of every event.
const Source = "mfa-service"

// SchemaVersion is the version of the detail schema this code writes. Additions (new
// optional fields, new detail-types) keep the version; anything else is a new version.
const SchemaVersion = "1"

// ActionUserLocked is the kind of the one event not written as an audit item: the failure
// counters started a lock (derived from the user's counters, see LockStarted).
const ActionUserLocked = "user.locked"

// DetailTypeUnknown is the detail-type of an audit action this code does not know yet (a
// newer writer, an older publisher): published rather than dropped.
const DetailTypeUnknown = "Audit Event Recorded"

// Kind is one entry of the catalog.
type Kind struct {
	Action     string // the audit log's action
	DetailType string // EventBridge detail-type; stable
	Meaning    string // one line for the README's catalog
}

// Catalog lists every kind of event, in the order the README shows them.
var Catalog = []Kind{
	{mfa.ActionEnrollmentStarted, "Enrollment Started", "a user (or service) started adding a factor; it is not usable yet"},
	{mfa.ActionFactorActivated, "Factor Bound", "a factor became usable: an enrollment completed, an admin bound it, or an email fallback was bound (reason email_fallback)"},
	{mfa.ActionFactorRenamed, "Factor Renamed", "a factor's label changed"},
	{mfa.ActionFactorRemoved, "Factor Removed", "a factor was removed by its user, a service or an admin"},
	{mfa.ActionBackupCodesRenewed, "Backup Codes Regenerated", "a new set of backup codes replaced the old one, asked for by the user or an admin (the first set comes with the first factor's Factor Bound)"},
	{mfa.ActionChallengeOpened, "Challenge Opened", "routine, opt-in: a challenge changed the user's state when it opened (the user's first contact, a trusted device's use); reason says why MFA was or was not asked. A challenge that changes nothing of the user's (most, including a passkey offer, whose WebAuthn session is stored alone) writes no event: its answer does"},
	{mfa.ActionCodeSent, "Code Sent", "routine, opt-in: an email or SMS code went out for a challenge (never the code itself)"},
	{mfa.ActionCodeRefused, "Code Refused", "a code taken back unsent: the destination's send cap refused it after the user's state had taken it (reason limit:destination; other refusals show in the SendsRefused metric)"},
	{mfa.ActionVerificationSuccess, "Verification Succeeded", "routine, opt-in: a challenge was answered correctly"},
	{mfa.ActionVerificationFailure, "Verification Failed", "a wrong answer, compared and counted (outcome failed, reason e.g. wrong_code or replayed)"},
	{mfa.ActionVerificationRefused, "Verification Refused", "an answer refused unchecked and not counted (outcome refused): the user was locked (reason locked) or the challenge was used, dead or expired (reason challenge_closed, challenge_expired); at most one a minute per user"},
	{ActionUserLocked, "User Locked", "consecutive failures locked verification for the user (lock.until, or lock.permanent until an admin unlocks)"},
	{mfa.ActionUnlocked, "User Unlocked", "an admin cleared the user's lock and failure count"},
	{mfa.ActionFactorsReset, "User Reset", "an admin removed all the user's factors, backup codes, trusted devices and lock"},
	{mfa.ActionDeviceTrusted, "Device Trusted", "a verification remembered the device (deviceId), so sign-ins from it skip MFA"},
	{mfa.ActionDeviceRevoked, "Device Revoked", "one trusted device (deviceId) or all of them (no deviceId) were revoked"},
	{mfa.ActionPromptSkipped, "Enrollment Prompt Skipped", "a user without factors skipped the optional enrollment prompt"},
	{mfa.ActionPolicyChanged, "Policy Changed", "an admin stored the global policy or an organization's policy (policy.scope)"},
	{mfa.ActionPolicyDeleted, "Policy Deleted", "an admin deleted an organization's policy (policy.scope)"},
}

var detailTypes = func() map[string]string {
	m := make(map[string]string, len(Catalog))
	for _, k := range Catalog {
		m[k.Action] = k.DetailType
	}
	return m
}()

// DetailType returns the detail-type of an audit action, and whether the catalog knows it.
func DetailType(action string) (string, bool) {
	if dt, ok := detailTypes[action]; ok {
		return dt, true
	}
	return DetailTypeUnknown, false
}

// routine are the actions of every sign-in, published only when RoutineSecurityEvents is on
// (template.yaml: EventPublisherStream leaves them out, EventPublisherRoutineStream passes
// them; infra's TestRoutineSecurityEventsAreOptIn holds the two to this list).
var routine = map[string]bool{mfa.ActionChallengeOpened: true, mfa.ActionVerificationSuccess: true, mfa.ActionCodeSent: true}

// Routine reports whether an action is one of every sign-in's, published only on opt-in.
func Routine(action string) bool { return routine[action] }
