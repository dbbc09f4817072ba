package api

import (
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// UserStatus is what an admin sees of a user (GET /v1/admin/users/{userId}). Times are null
// when never; LockedUntil is null when not locked (see LockedPermanently).
type UserStatus struct {
	UserID               string   `json:"userId"`
	Factors              []Factor `json:"factors"`
	BackupCodesRemaining int      `json:"backupCodesRemaining"`
	LastChallengeAt      NullTime `json:"lastChallengeAt"`
	LastVerifiedAt       NullTime `json:"lastVerifiedAt"`
	FailedAttempts       int      `json:"failedAttempts"`
	LockedUntil          NullTime `json:"lockedUntil"`
	LockedPermanently    bool     `json:"lockedPermanently"`
	Devices              []Device `json:"devices"`
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

// EventPage is one page of audit events, newest first. NextCursor is empty on the last page.
type EventPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// DirectoryUser is one user of the directory (GET /v1/admin/users). Times are null when
// never (or, for LockedUntil, when not locked for a time).
type DirectoryUser struct {
	UserID            string   `json:"userId"`
	FactorTypes       []string `json:"factorTypes"`
	MFAEnrolled       bool     `json:"mfaEnrolled"`
	FirstSeenAt       NullTime `json:"firstSeenAt"`
	LastChallengeAt   NullTime `json:"lastChallengeAt"`
	LastVerifiedAt    NullTime `json:"lastVerifiedAt"`
	FailedAttempts    int      `json:"failedAttempts"`
	LockedUntil       NullTime `json:"lockedUntil"`
	LockedPermanently bool     `json:"lockedPermanently"`
}

// DirectoryPage is one page of users. NextCursor is empty on the last page; a filtered page
// may be short (even empty) and still have one.
type DirectoryPage struct {
	Users      []DirectoryUser `json:"users"`
	NextCursor string          `json:"nextCursor,omitempty"`
}

// Policy scopes as StoredPolicy.Scope names them.
const ScopeGlobal = "global"

// OrganizationScope is the scope of an organization's policy.
func OrganizationScope(orgID string) string { return "organization:" + orgID }

// StoredPolicy is a policy as the admin routes answer it. Policy is the overlay as stored:
// exactly the fields the last PUT sent (what PUT takes, as a policy.Overlay; send it back to
// keep it). Effective is what applies, every field filled: for the global scope its overlay on
// the deployment's default, for an organization its overlay merged with the global policy in
// force. Sources says, per field ("mode", "sms.allowedCountries", …), where each effective
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
