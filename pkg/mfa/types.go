package mfa

import (
	"time"
)

// FactorType is a factor's wire name.
type FactorType string

const (
	TypeTOTP        FactorType = "totp"
	TypeWebAuthn    FactorType = "webauthn"
	TypeEmail       FactorType = "email"
	TypeSMS         FactorType = "sms"
	TypeBackupCodes FactorType = "backup_codes"
)

// Factor is one factor bound to one user. Secrets stay sealed; nothing here is sent as is.
type Factor struct {
	ID           string
	UserID       string
	Type         FactorType
	Label        string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	SealedSecret []byte   // TOTP: the secret sealed with (user, factor) as associated data
	LastStep     int64    // TOTP: the last accepted time step; a step is accepted once
	Destination  string   // email: the address; sms: the E.164 number
	Masked       string   // the destination as it may be shown
	AddressKey   string   // email, sms: keyed hash of the destination, for the admin directory's look-up
	Region       string   // sms: the number's country (ISO 3166-1 alpha-2)
	BackupCodes  []string // backup_codes: keyed hashes (hex) of the unused codes
	CredentialID []byte   // webauthn: the credential id
	Credential   []byte   // webauthn: the credential record, opaque to the domain
	SignCount    uint32   // webauthn: the last signature counter seen
	Locale       string   // the language the user chose at enrollment ("": the default)
}

// Primary reports whether the factor is a primary one (not a backup code set).
func (f Factor) Primary() bool { return f.Type != TypeBackupCodes }

// Enrollment is a factor being set up: it becomes a Factor with the same id once completed.
type Enrollment struct {
	ID           string
	UserID       string
	Type         FactorType
	Label        string
	SealedSecret []byte // totp
	Destination  string // email / sms
	Masked       string // email / sms: the destination as it may be shown
	Region       string // sms
	CodeHash     []byte // email / sms: keyed hash of the code sent
	Session      []byte // webauthn: the registration ceremony's server-side session
	Attempts     int    // wrong codes so far
	Locale       string // the language of the request that started it; the factor keeps it
	CreatedAt    time.Time
	ExpiresAt    time.Time

	// OrganizationID: the organization whose effective policy the enrollment is held to.
	OrganizationID string
}

// ChallengeStatus is where a challenge is in its single life.
type ChallengeStatus string

const (
	ChallengeOpen     ChallengeStatus = "open"
	ChallengeVerified ChallengeStatus = "verified"
)

// Challenge is one request for a second factor. The factors it offered are fixed when it opens.
type Challenge struct {
	ID              string
	UserID          string
	Purpose         string
	OrganizationID  string
	Offered         []OfferedFactor
	DefaultFactorID string
	Failures        int
	SendCount       int    // codes sent for this challenge
	PasskeySession  []byte // webauthn: the assertion ceremony's server-side session
	ContextIP       string // where the sign-in came from, recorded on success (adaptive MFA) unless known and recent
	ContextDevice   string
	LastSendAt      time.Time // for the resend cool-down
	Locale          string    // an explicit locale of the request that opened it
	// HasPasskeySession: the challenge offers passkeys and stored its WebAuthn session.
	HasPasskeySession bool
	// MovesInDirectory: storing the challenge moves the user in the admin directory's
	// activity order (see ChallengeUse).
	MovesInDirectory bool
	Status           ChallengeStatus
	CreatedAt        time.Time
	ExpiresAt        time.Time
}

// OfferedFactor is a factor a challenge offers, with its type so that verification can pick a
// factor without reading the others.
type OfferedFactor struct {
	ID   string
	Type FactorType
}

// CodeRecord is the email/SMS code sent for one challenge (for one of its factors), stored
// as a keyed hash, with the challenge's send count and last send for the caps and cool-down.
type CodeRecord struct {
	ChallengeID string
	FactorID    string
	Hash        []byte
	ExpiresAt   time.Time
	Sends       int
	LastSendAt  time.Time
}

// Tally is what the user's state keeps of one challenge answered at least once or sent a code:
// its wrong answers and whether a right one used it, until it expires.
type Tally struct {
	ChallengeID string
	Failures    int
	Used        bool
	ExpiresAt   time.Time
}

// UserState is the per-user record: failure counting for the lock, activity, factor count.
type UserState struct {
	UserID              string
	ConsecutiveFailures int
	LastFailureAt       time.Time
	LastChallengeAt     time.Time
	LastVerifiedAt      time.Time
	LastFactorID        string
	FirstSeenAt         time.Time
	FactorCount         int         // every bound factor, backup codes included
	BackupFactorID      string      // the user's backup code set, if any
	Emails              []string    // addresses of email factors: where security notices go
	PromptSkippedAt     time.Time   // the optional enrollment prompt was skipped
	LastRefusalAt       time.Time   // the last audited refusal of an unchecked answer
	SendWindows         []time.Time // ends of the windows the user's sends are counted in
	Tallies             []Tally     // challenges answered and not yet expired
	ListedAt            time.Time   // the activity time of the user's place in the admin directory

	// TypeCounts are the bound factors by type, kept for the admin directory.
	TypeCounts map[FactorType]int
}

// Primaries is the number of primary factors (all but the backup code set).
func (s UserState) Primaries() int {
	if s.BackupFactorID != "" {
		return s.FactorCount - 1
	}
	return s.FactorCount
}

// Profile is what one read of a user's partition gives: state, bound factors and trusted
// devices.
type Profile struct {
	State   UserState
	Factors []Factor
	Devices []Device
	Seen    []Seen // devices and addresses the user signed in from (adaptive MFA)
}

// Seen records a device id or IP address a user verified from.
type Seen struct {
	Kind  string // "device" or "ip"
	Value string
	At    time.Time
}

// Device is a trusted device: a browser or app that answered a challenge and asked to be
// remembered. Only a keyed hash of its token is kept.
type Device struct {
	ID         string
	UserID     string
	TokenHash  []byte
	Label      string // from the user agent, for people to recognise it
	IP         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// AuditEvent records one state change. It never holds a code, secret or token.
type AuditEvent struct {
	UserID      string
	Action      string
	Actor       string
	FactorID    string
	FactorType  FactorType
	ChallengeID string
	Outcome     string
	Reason      string
	IP          string
	UserAgent   string
	At          time.Time
}

// Audit actions.
const (
	ActionEnrollmentStarted   = "enrollment.started"
	ActionFactorActivated     = "factor.activated"
	ActionFactorRemoved       = "factor.removed"
	ActionChallengeOpened     = "challenge.opened"
	ActionVerificationSuccess = "verification.succeeded"
	ActionVerificationFailure = "verification.failed"
	ActionVerificationRefused = "verification.refused" // not compared, not counted (locked user, closed challenge); rate-limited
	ActionCodeSent            = "code.sent"
	ActionCodeRefused         = "code.refused"
	ActionBackupCodesRenewed  = "backup_codes.generated"
	ActionDeviceTrusted       = "device.trusted"
	ActionFactorRenamed       = "factor.renamed"
	ActionPolicyChanged       = "policy.changed"
	ActionPolicyDeleted       = "policy.deleted"
	ActionPromptSkipped       = "enrollment_prompt.skipped"
	ActionDeviceRevoked       = "device.revoked"
	ActionFactorsReset        = "factors.reset"
	ActionUnlocked            = "user.unlocked"
)

// CallerKind says whose token called.
type CallerKind int

const (
	CallerUser CallerKind = iota + 1
	CallerService
	CallerAdmin
)

// Caller is the authenticated principal of a request, as the transport established it.
type Caller struct {
	Kind          CallerKind
	Subject       string
	Email         string
	EmailVerified bool
	Phone         string // phone_number claim
	PhoneVerified bool
	// StepUp is the verified X-MFA-Token, if one came with the request.
	StepUp    *StepUp
	IP        string
	UserAgent string
	// Locale is the token's locale claim and AcceptLanguage the request's Accept-Language
	// header: where the user's language comes from when a request does not name one.
	Locale         string
	AcceptLanguage string
}

// StepUp is a verified mfaToken presented as proof of a recent second factor.
type StepUp struct {
	Subject   string
	AuthTime  time.Time
	TokenID   string    // jti: one sensitive change consumes it
	ExpiresAt time.Time // exp: how long the consumption must be remembered
}

func (c Caller) actor() string {
	switch c.Kind {
	case CallerService:
		return "service:" + c.Subject
	case CallerAdmin:
		return "admin:" + c.Subject
	default:
		return "user:" + c.Subject
	}
}

var (
	userIDPattern = newIDShape("A-Za-z0-9._~@|:+-", 1, 128)
	idPattern     = newIDShape("a-z2-7", 26, 26)
)

// ValidUserID reports whether s can be a user id: the identity provider's subject, without
// characters the store uses as separators.
func ValidUserID(s string) bool { return userIDPattern.MatchString(s) }

// ValidID reports whether s has the shape of an id this service generated.
func ValidID(s string) bool { return idPattern.MatchString(s) }
