package api

import (
	"encoding/json"
	"time"
)

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
	// SendCode asks for the default factor's code with the challenge, when that factor is an
	// email or SMS factor: the send of POST …/deliveries, without a second request.
	SendCode bool `json:"sendCode,omitempty"`
}

// OfferedFactor is a factor a challenge offers: what the user needs to pick it.
type OfferedFactor struct {
	ID                string `json:"id"`
	Type              string `json:"type"`
	Label             string `json:"label"`
	MaskedDestination string `json:"maskedDestination,omitempty"` // email and sms
	CredentialID      string `json:"credentialId,omitempty"`      // webauthn: base64url, to match an assertion to its factor
}

// Challenge is an opened challenge and the policy's decision. When MFARequired is false the
// app signs the user in without a second factor.
type Challenge struct {
	ChallengeID         string          `json:"challengeId"`
	MFARequired         bool            `json:"mfaRequired"`
	Reason              string          `json:"reason"`
	EnrollmentRequired  bool            `json:"enrollmentRequired"`
	EnrollmentSkippable bool            `json:"enrollmentSkippable"`
	Factors             []OfferedFactor `json:"factors"`
	DefaultFactorID     string          `json:"defaultFactorId,omitempty"`
	ExpiresAt           time.Time       `json:"expiresAt"`
	// WebAuthn holds the assertion options, {"publicKey": …}, when a passkey is offered.
	WebAuthn json.RawMessage `json:"webauthn,omitempty"`
	Signals  []string        `json:"signals,omitempty"` // adaptive risk signals that fired
	// Delivery is the code sent to the default factor when the request said sendCode; when
	// that send was refused or failed, DeliveryError is its problem's code (the challenge
	// stands: POST …/deliveries sends later, or another factor answers).
	Delivery      *Delivery `json:"delivery,omitempty"`
	DeliveryError string    `json:"deliveryError,omitempty"`
}

// DeliveryRequest is the body of POST …/challenges/{challengeId}/deliveries.
type DeliveryRequest struct {
	FactorID string `json:"factorId"`
	Locale   string `json:"locale,omitempty"`
}

// SkipEnrollmentPromptRequest is the (optional) body of POST …/enrollment-prompt/skip.
type SkipEnrollmentPromptRequest struct {
	OrganizationID string `json:"organizationId,omitempty"`
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
