package client

import (
	"encoding/json"
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// Factor types on the wire.
const (
	TypeTOTP        = "totp"
	TypeWebAuthn    = "webauthn"
	TypeEmail       = "email"
	TypeSMS         = "sms"
	TypeBackupCodes = "backup_codes"
)

// Challenge purposes and step-up strengths.
const (
	PurposeSignIn = "sign_in"
	PurposeStepUp = "step_up"

	StrengthPhishingResistant = "phishing_resistant"
	StrengthOTP               = "otp"
	StrengthOOB               = "oob"
	StrengthRecovery          = "recovery"
)

// Factor is a bound factor, never with its secret. Times are zero when unknown.
type Factor struct {
	ID                string    `json:"id"`
	Type              string    `json:"type"`
	Label             string    `json:"label"`
	CreatedAt         time.Time `json:"createdAt,omitzero"`
	LastUsedAt        time.Time `json:"lastUsedAt,omitzero"`
	MaskedDestination string    `json:"maskedDestination,omitempty"` // email and sms
	Remaining         *int      `json:"remaining,omitempty"`         // backup_codes: codes left in the set
	CredentialID      string    `json:"credentialId,omitempty"`      // webauthn: base64url, to match an assertion to its factor
}

// FactorRef names a factor.
type FactorRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// TOTPSecret is an authenticator app's secret, shown once.
type TOTPSecret struct {
	Secret     string `json:"secret"`     // base32, no padding
	OTPAuthURI string `json:"otpauthUri"` // otpauth://totp/…
	QRPNG      string `json:"qrPng"`      // base64 PNG of the URI
}

// Delivery is a code sent by email or SMS.
type Delivery struct {
	Channel           string    `json:"channel"`
	MaskedDestination string    `json:"maskedDestination"`
	ExpiresAt         time.Time `json:"expiresAt"`
	ResendAfter       time.Time `json:"resendAfter"`
}

// StartEnrollmentRequest is the body of POST /v1/users/{userId}/enrollments.
type StartEnrollmentRequest struct {
	Type  string `json:"type"`
	Label string `json:"label,omitempty"`
	Email string `json:"email,omitempty"` // type email
	Phone string `json:"phone,omitempty"` // type sms, E.164
	// PreVerified (service tokens only) binds an email or number at once, without a code.
	PreVerified bool `json:"preVerified,omitempty"`
	// Locale (BCP 47) is the language of the code and, stored with the factor, of its later
	// messages; else the token's locale claim, Accept-Language, the default.
	Locale string `json:"locale,omitempty"`
	// OrganizationID holds the enrollment to that organization's effective policy (pass the
	// organization the sign-in challenge named); empty: the global policy.
	OrganizationID string `json:"organizationId,omitempty"`
}

// Enrollment is a started enrollment. Status is "pending" (complete it) or "active" (the
// factor was bound at once: a pre-verified email or number; Factor is set).
type Enrollment struct {
	EnrollmentID string      `json:"enrollmentId"`
	Type         string      `json:"type"`
	Status       string      `json:"status"`
	ExpiresAt    time.Time   `json:"expiresAt"`
	TOTP         *TOTPSecret `json:"totp,omitempty"`
	// WebAuthn holds the creation options, {"publicKey": …}, for navigator.credentials.create.
	WebAuthn    json.RawMessage `json:"webauthn,omitempty"`
	Delivery    *Delivery       `json:"delivery,omitempty"`
	Factor      *Factor         `json:"factor,omitempty"`
	BackupCodes []string        `json:"backupCodes,omitempty"`
}

// CompleteEnrollmentRequest answers an enrollment: a code, or a passkey's attestation
// response (the PublicKeyCredential as JSON).
type CompleteEnrollmentRequest struct {
	Code       string          `json:"code,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

// Activation is a factor just bound. BackupCodes are shown here once, when the user's first
// primary factor is activated and the policy enables them.
type Activation struct {
	Factor      Factor   `json:"factor"`
	BackupCodes []string `json:"backupCodes,omitempty"`
}

// FactorList is a user's factors.
type FactorList struct {
	Factors              []Factor `json:"factors"`
	BackupCodesRemaining int      `json:"backupCodesRemaining"`
}

// BackupCodes is a new set of backup codes, shown once.
type BackupCodes struct {
	BackupCodes []string `json:"backupCodes"`
	Remaining   int      `json:"remaining"`
}

// Device is a trusted device.
type Device struct {
	ID         string    `json:"id"`
	Label      string    `json:"label,omitempty"`
	IP         string    `json:"ip,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// ChallengeContext carries adaptive-policy signals. IP is trusted from service tokens only.
type ChallengeContext struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	DeviceID  string `json:"deviceId,omitempty"`
}

// ChallengeRequest is the body of POST /v1/users/{userId}/challenges. Every field is
// optional.
type ChallengeRequest struct {
	OrganizationID string            `json:"organizationId,omitempty"`
	Purpose        string            `json:"purpose,omitempty"`     // sign_in (default) or step_up
	MinStrength    string            `json:"minStrength,omitempty"` // step-up floor
	DeviceToken    string            `json:"deviceToken,omitempty"` // a trusted-device token
	Context        *ChallengeContext `json:"context,omitempty"`
	RegisteredAt   time.Time         `json:"registeredAt,omitzero"` // starts the grace period
	Locale         string            `json:"locale,omitempty"`      // language of the codes its deliveries send
}

// Challenge is an opened challenge and the policy's decision. When MFARequired is false the
// app signs the user in without a second factor.
type Challenge struct {
	ChallengeID         string    `json:"challengeId"`
	MFARequired         bool      `json:"mfaRequired"`
	Reason              string    `json:"reason"`
	EnrollmentRequired  bool      `json:"enrollmentRequired"`
	EnrollmentSkippable bool      `json:"enrollmentSkippable"`
	Factors             []Factor  `json:"factors"`
	DefaultFactorID     string    `json:"defaultFactorId,omitempty"`
	ExpiresAt           time.Time `json:"expiresAt"`
	// WebAuthn holds the assertion options, {"publicKey": …}, when a passkey is offered.
	WebAuthn json.RawMessage `json:"webauthn,omitempty"`
	Signals  []string        `json:"signals,omitempty"` // adaptive risk signals that fired
}

// VerifyRequest answers a challenge: a code (TOTP, emailed, texted or a backup code) or a
// passkey's assertion response.
type VerifyRequest struct {
	FactorID       string          `json:"factorId,omitempty"`
	Type           string          `json:"type"`
	Code           string          `json:"code,omitempty"`
	Credential     json.RawMessage `json:"credential,omitempty"`
	RememberDevice bool            `json:"rememberDevice,omitempty"`
}

// Verification is a successful answer. MFAToken is the ES256 JWT to verify against the
// JWKS; DeviceToken is set when a device was remembered.
type Verification struct {
	Verified             bool      `json:"verified"`
	MFAToken             string    `json:"mfaToken"`
	Factor               FactorRef `json:"factor"`
	DeviceToken          string    `json:"deviceToken,omitempty"`
	BackupCodesRemaining *int      `json:"backupCodesRemaining,omitempty"` // when a backup code was used
	EnrollmentRequired   bool      `json:"enrollmentRequired"`
}

// UserStatus is what an admin sees of a user. Times are zero when never; LockedUntil is zero
// when not locked (see LockedPermanently).
type UserStatus struct {
	UserID               string    `json:"userId"`
	Factors              []Factor  `json:"factors"`
	BackupCodesRemaining int       `json:"backupCodesRemaining"`
	LastChallengeAt      time.Time `json:"lastChallengeAt,omitzero"`
	LastVerifiedAt       time.Time `json:"lastVerifiedAt,omitzero"`
	FailedAttempts       int       `json:"failedAttempts"`
	LockedUntil          time.Time `json:"lockedUntil,omitzero"`
	LockedPermanently    bool      `json:"lockedPermanently"`
	Devices              []Device  `json:"devices"`
}

// BindRequest is the body of POST /v1/admin/users/{userId}/factors. Type also takes Logto's
// names (EmailVerificationCode, PhoneVerificationCode, Totp, BackupCode).
type BindRequest struct {
	Type   string `json:"type"`
	Email  string `json:"email,omitempty"`
	Phone  string `json:"phone,omitempty"`
	Secret string `json:"secret,omitempty"` // totp: migrate an existing base32 secret
	Label  string `json:"label,omitempty"`
	Locale string `json:"locale,omitempty"` // the user's language for this factor's messages
}

// Binding is an admin-bound factor. TOTP is set (once) for a TOTP bound without a secret;
// BackupCodes for a backup_codes binding.
type Binding struct {
	Factor      *Factor     `json:"factor,omitempty"`
	TOTP        *TOTPSecret `json:"totp,omitempty"`
	BackupCodes []string    `json:"backupCodes,omitempty"`
}

// Event is an audit event.
type Event struct {
	At          time.Time `json:"at"`
	Action      string    `json:"action"`
	Actor       string    `json:"actor"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	FactorID    string    `json:"factorId,omitempty"`
	FactorType  string    `json:"factorType,omitempty"`
	ChallengeID string    `json:"challengeId,omitempty"`
	IP          string    `json:"ip,omitempty"`
	UserAgent   string    `json:"userAgent,omitempty"`
}

// EventsRequest pages through audit events. Limit is 1–200 (0: the service's default);
// Cursor is a previous page's NextCursor.
type EventsRequest struct {
	Limit  int
	Cursor string
}

// EventPage is one page of audit events, newest first. NextCursor is empty on the last page.
type EventPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// StoredPolicy is a policy as the admin routes answer it. Policy is the overlay as stored:
// exactly the fields the last PUT sent (what PUT takes; send it back to keep it). Effective is
// what applies, every field filled: for the global scope its overlay on the deployment's
// default, for an organization its overlay merged with the global policy in force (DESIGN
// §5). Sources says, per field ("mode", "sms.allowedCountries", …), where each effective
// value came from: "default", "global", "organization", or two joined by "+" when the merge
// combined both. Stored is false when nothing is stored for the global scope.
type StoredPolicy struct {
	Scope     string         `json:"scope"` // "global" or "organization:<id>"
	Stored    bool           `json:"stored"`
	Version   int            `json:"version,omitempty"`
	UpdatedAt time.Time      `json:"updatedAt,omitzero"`
	UpdatedBy string         `json:"updatedBy,omitempty"`
	Policy    policy.Overlay `json:"policy"`
	Effective policy.Policy  `json:"effective"`
	Sources   policy.Sources `json:"sources"`
}
