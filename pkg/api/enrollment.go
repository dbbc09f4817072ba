package api

import (
	"encoding/json"
	"time"
)

// StartEnrollmentRequest is the body of POST /v1/users/{userId}/enrollments.
type StartEnrollmentRequest struct {
	Type  string `json:"type"`
	Label string `json:"label,omitempty"`
	Email string `json:"email,omitempty"` // type email
	Phone string `json:"phone,omitempty"` // type sms, E.164
	// PreVerified (service tokens only) binds an email or number at once, without a code.
	PreVerified bool `json:"preVerified,omitempty"`
	// OrganizationID holds the enrollment to that organization's effective policy (pass the
	// organization the sign-in challenge named); empty: the global policy.
	OrganizationID string `json:"organizationId,omitempty"`
	// Locale (BCP 47) is the language of the code and, stored with the factor, of its later
	// messages; else the token's locale claim, Accept-Language, the default.
	Locale string `json:"locale,omitempty"`
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

// Enrollment is a started enrollment. Status is "pending" (complete it) or "active" (the
// factor was bound at once: a pre-verified email or number; Factor is set).
type Enrollment struct {
	EnrollmentID string      `json:"enrollmentId"`
	Type         string      `json:"type"`
	ExpiresAt    time.Time   `json:"expiresAt"`
	Status       string      `json:"status"`
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

// RegenerateBackupCodesRequest is the (empty, optional) body of POST …/backup-codes.
type RegenerateBackupCodesRequest struct{}

// BackupCodes is a new set of backup codes, shown once.
type BackupCodes struct {
	BackupCodes []string `json:"backupCodes"`
	Remaining   int      `json:"remaining"`
}
