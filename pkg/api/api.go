// Package api is the service's wire contract in Go: the JSON request and response bodies of
// every route, shared by the server (pkg/httpapi decodes requests into them and encodes its
// answers from them) and the Go client (pkg/client), so the two cannot drift. The OpenAPI
// document (infra/openapi.yaml) describes the same shapes; infra's tests prove, by
// reflection, that every member name and JSON type agrees in both directions.
//
// The types are plain data with json tags. Field order is the order members appear on the
// wire. Zero times are left out (omitzero) unless the member is documented as null when
// unknown (NullTime).
package api

import (
	"time"
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

// Enrollment statuses.
const (
	StatusPending = "pending"
	StatusActive  = "active"
)

// NullTime is a time that is null on the wire when zero ("never", "not locked"), for the
// members the contract documents as a date-time or null. Its time.Time methods (IsZero,
// After, …) are promoted.
type NullTime struct{ time.Time }

// MarshalJSON writes null for the zero time, else RFC 3339 as time.Time does.
func (t NullTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return t.Time.MarshalJSON()
}

// UnmarshalJSON reads null as the zero time.
func (t *NullTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}

// Factor is a bound factor, never with its secret. Times are zero (absent) when unknown.
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

// FactorList is a user's factors (GET /v1/users/{userId}/factors).
type FactorList struct {
	Factors              []Factor `json:"factors"`
	BackupCodesRemaining int      `json:"backupCodesRemaining"`
}

// RenameFactorRequest is the body of PATCH /v1/users/{userId}/factors/{factorId}.
type RenameFactorRequest struct {
	Label string `json:"label"`
}

// RenamedFactor answers a rename.
type RenamedFactor struct {
	Factor Factor `json:"factor"`
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

// DeviceList is a user's trusted devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}
