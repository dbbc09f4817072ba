package client

import (
	"github.com/mfa-service/mfa/pkg/api"
)

// The request and response types are the service's own wire types (pkg/api), which the
// server decodes and encodes too; these names keep the client's API as it was.

// Factor types on the wire.
const (
	TypeTOTP        = api.TypeTOTP
	TypeWebAuthn    = api.TypeWebAuthn
	TypeEmail       = api.TypeEmail
	TypeSMS         = api.TypeSMS
	TypeBackupCodes = api.TypeBackupCodes
)

// Challenge purposes and step-up strengths.
const (
	PurposeSignIn = api.PurposeSignIn
	PurposeStepUp = api.PurposeStepUp

	StrengthPhishingResistant = api.StrengthPhishingResistant
	StrengthOTP               = api.StrengthOTP
	StrengthOOB               = api.StrengthOOB
	StrengthRecovery          = api.StrengthRecovery
)

type (
	// Factor is a bound factor, never with its secret. Times are zero when unknown.
	Factor = api.Factor
	// FactorRef names a factor.
	FactorRef = api.FactorRef
	// OfferedFactor is a factor a challenge offers.
	OfferedFactor = api.OfferedFactor
	// TOTPSecret is an authenticator app's secret, shown once.
	TOTPSecret = api.TOTPSecret
	// Delivery is a code sent by email or SMS.
	Delivery = api.Delivery
	// StartEnrollmentRequest is the body of POST /v1/users/{userId}/enrollments.
	StartEnrollmentRequest = api.StartEnrollmentRequest
	// Enrollment is a started enrollment: Status "pending" (complete it) or "active" (bound
	// at once; Factor is set).
	Enrollment = api.Enrollment
	// CompleteEnrollmentRequest answers an enrollment: a code, or a passkey's attestation.
	CompleteEnrollmentRequest = api.CompleteEnrollmentRequest
	// Activation is a factor just bound, with backup codes shown once when they came with it.
	Activation = api.Activation
	// FactorList is a user's factors.
	FactorList = api.FactorList
	// BackupCodes is a new set of backup codes, shown once.
	BackupCodes = api.BackupCodes
	// Device is a trusted device.
	Device = api.Device
	// ChallengeContext carries adaptive-policy signals. IP is trusted from service tokens only.
	ChallengeContext = api.ChallengeContext
	// ChallengeRequest is the body of POST /v1/users/{userId}/challenges; every field is
	// optional.
	ChallengeRequest = api.ChallengeRequest
	// Challenge is an opened challenge and the policy's decision.
	Challenge = api.Challenge
	// VerifyRequest answers a challenge: a code or a passkey's assertion.
	VerifyRequest = api.VerifyRequest
	// Verification is a successful answer, with the mfaToken.
	Verification = api.Verification
	// UserStatus is what an admin sees of a user. Times are zero when never; LockedUntil is
	// zero when not locked (see LockedPermanently).
	UserStatus = api.UserStatus
	// BindRequest is the body of POST /v1/admin/users/{userId}/factors.
	BindRequest = api.BindRequest
	// Binding is an admin-bound factor.
	Binding = api.Binding
	// Event is an audit event.
	Event = api.Event
	// EventPage is one page of audit events, newest first.
	EventPage = api.EventPage
	// StoredPolicy is a policy as the admin routes answer it: the stored overlay, the
	// effective policy and each field's source.
	StoredPolicy = api.StoredPolicy
	// DirectoryUser is one user of the directory.
	DirectoryUser = api.DirectoryUser
	// DirectoryPage is one page of users.
	DirectoryPage = api.DirectoryPage
)

// EventsRequest pages through audit events. Limit is 1–200 (0: the service's default);
// Cursor is a previous page's NextCursor.
type EventsRequest struct {
	Limit  int
	Cursor string
}
