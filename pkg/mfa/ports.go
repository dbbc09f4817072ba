package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// The store ports, one per use case (services.go); the DynamoDB adapter implements them all.
// Every method that must happen once is a conditional write; every multi-item change is one
// transaction.

// ProfileReader reads a user as the services see them.
type ProfileReader interface {
	// LoadProfile reads the user's state and factors in one round trip. A user never seen
	// has a zero state and no factors.
	LoadProfile(ctx context.Context, userID string) (Profile, error)
}

// FactorStore binds, renames and removes factors, replaces backup codes and revokes devices.
type FactorStore interface {
	ProfileReader
	// ActivateFactor binds a factor in one transaction: the enrollment it came from (if any) is
	// consumed (ErrNotFound if already gone), the factor created, the user's factor count raised,
	// a first backup code set created alongside when given (ErrConflict if one exists), and the
	// event written. With RequireNoFactors it fails with ErrHasFactors when the user already has
	// a factor (the step-up rule, enforced at write time).
	ActivateFactor(ctx context.Context, a Activation) error
	// ReplaceBackupCodes replaces the user's backup code set, or creates one (ErrConflict when
	// another was created concurrently). A step-up use is consumed with it (ErrStepUpUsed).
	ReplaceBackupCodes(ctx context.Context, set Factor, create bool, ev AuditEvent, use *StepUpUse) error
	// RenameFactor sets a factor's label and returns the factor (ErrNotFound if absent).
	RenameFactor(ctx context.Context, userID, factorID, label string, ev AuditEvent) (Factor, error)
	// DeleteFactor removes a factor and lowers the factor count (ErrNotFound if absent). A
	// step-up use is consumed with it (ErrStepUpUsed).
	DeleteFactor(ctx context.Context, f Factor, ev AuditEvent, use *StepUpUse) error
	// DeleteDevice revokes one trusted device (ErrNotFound if absent).
	DeleteDevice(ctx context.Context, userID, deviceID string, ev AuditEvent) error
}

// EnrollmentStore keeps pending enrollments.
type EnrollmentStore interface {
	ProfileReader
	// CreateEnrollment stores a pending enrollment and its audit event; with a send, the send
	// counters are taken in the same transaction (a *LimitError when one is exhausted).
	CreateEnrollment(ctx context.Context, e Enrollment, send *SendQuota, ev AuditEvent) error
	// LoadEnrollment reads an enrollment and the user's state in one round trip; ErrNotFound
	// when there is no such enrollment for this user.
	LoadEnrollment(ctx context.Context, userID, enrollmentID string) (Enrollment, UserState, error)
	// FailEnrollment counts a wrong enrollment code; ErrExhausted once max is reached.
	FailEnrollment(ctx context.Context, userID, enrollmentID string, max int) error
	// StepUpUsed reports whether a step-up mfaToken's jti was consumed by an earlier change, so
	// a change that shows a secret before it is written (an enrollment's start) is refused too.
	StepUpUsed(ctx context.Context, userID, tokenID string) (bool, error)
}

// ChallengeStore opens challenges.
type ChallengeStore interface {
	ProfileReader
	// OpenChallenge records what opening a challenge must keep when it changes the user's
	// state, in one transaction: the user's first contact and activity, a trusted device's
	// last use (when trustedDevice is set), the passkey session of a challenge that offers
	// passkeys, and the event. A challenge needing none of these is not stored at all
	// (challengetoken.go).
	OpenChallenge(ctx context.Context, c Challenge, trustedDevice string, ev AuditEvent) error
	// StorePasskeySession stores the WebAuthn session of a challenge that offers passkeys and
	// changes nothing else: the ceremony's server-side data (DESIGN §6.6), until it expires.
	StorePasskeySession(ctx context.Context, c Challenge) error
	// SkipPrompt records that the user skipped the optional enrollment prompt.
	SkipPrompt(ctx context.Context, userID string, ev AuditEvent) error
}

// DeliveryStore records the codes sent for challenges, within the send counters.
type DeliveryStore interface {
	// LoadVerification reads, in one round trip, what answering challenge ch needs: the
	// user's state (with the tally of ch's answers), the user's factors (or, when ch stores a
	// passkey session, the passkeys it offers) and the code sent for ch. ErrNotFound when ch
	// stores a session that is gone.
	LoadVerification(ctx context.Context, ch Challenge) (Verification, error)
	// RecordDelivery stores the code sent for a challenge (one per challenge: a send replaces
	// the earlier code), counting the challenge's sends and cool-down on the code record, and
	// takes the send counters. A *LimitError says which limit refused it.
	RecordDelivery(ctx context.Context, d Delivery) error
}

// VerificationStore reads what an answer is checked against and records its outcome: the
// regulator's counting is the store's atomic conditional writes.
type VerificationStore interface {
	ProfileReader
	// LoadVerification reads, in one round trip, what answering challenge ch needs: the
	// user's state (with the tally of ch's answers), the user's factors (or, when ch stores a
	// passkey session, the passkeys it offers) and the code sent for ch. ErrNotFound when ch
	// stores a session that is gone.
	LoadVerification(ctx context.Context, ch Challenge) (Verification, error)
	// RecordSuccess uses the challenge, advances the factor and clears the user's failures
	// with one conditional write on the user's state (a transaction only when the answer also
	// consumes another item). It fails with ErrChallengeClosed, ErrStepReused, ErrCodeUsed or
	// ErrLocked (the user's state is in none of s.Open) when the matching condition no longer
	// holds.
	RecordSuccess(ctx context.Context, s Success) error
	// RecordFailure counts one wrong answer on the challenge and on the user, with one
	// conditional write on the user's state, exactly once under concurrency. It counts nothing and fails with ErrLocked
	// when the user's state is in none of f.Open, or ErrChallengeClosed when the challenge is
	// no longer open.
	RecordFailure(ctx context.Context, f Failure) error
	// RecordRefusal audits an answer refused unchecked, unless another refusal of the user was
	// audited within r.Every (ErrThrottled).
	RecordRefusal(ctx context.Context, r Refusal) error
}

// AdminStore is what the admin routes on users read and change beyond Factors.
type AdminStore interface {
	ProfileReader
	DirectoryStore
	// DeleteDevices revokes the given trusted devices in one transaction.
	DeleteDevices(ctx context.Context, userID string, deviceIDs []string, ev AuditEvent) error
	// ResetUser removes every given factor and device and clears the user's failures, lock,
	// factor count and backup set, in one transaction.
	ResetUser(ctx context.Context, p Profile, ev AuditEvent) error
	// Unlock clears the user's consecutive failures.
	Unlock(ctx context.Context, userID string, ev AuditEvent) error
	// ListEvents pages the user's audit events, newest first; cursor "" starts at the newest.
	// ErrBadCursor for a cursor this store did not hand out.
	ListEvents(ctx context.Context, userID string, limit int, cursor string) ([]AuditEvent, string, error)
}

// Verification is what answering a challenge reads.
type Verification struct {
	Challenge Challenge // the challenge with its tally (Failures, Status) and passkey session
	State     UserState
	Factors   []Factor    // the user's factors (LastStep and LastUsedAt as the state records them)
	Code      *CodeRecord // the code sent for the challenge, if any
}

// Factor returns the loaded factor with this id.
func (v Verification) Factor(id string) *Factor {
	for i := range v.Factors {
		if v.Factors[i].ID == id {
			return &v.Factors[i]
		}
	}
	return nil
}

// ChallengeUse is the challenge an answer is counted on: its tally lives on the user's state
// until the challenge expires, and expired tallies are removed by the same write.
type ChallengeUse struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
	Expired   []string // challenges whose tallies and codes have expired, to remove (UserState.Tallies)
	// MovesInDirectory: the answer moves the user to the challenge's time in the admin
	// directory's activity order. Moving changes an index key (two index writes, as much as
	// the answer's own write), so a user is moved at most once per DirectoryActivityStep.
	MovesInDirectory bool
	// Settled: the state as read holds the user's first-seen time and place in the directory
	// (no write removes them) and the answer does not move it, so the answer's write leaves
	// them out. An answer is the hottest write: it sends only what it changes.
	Settled bool
}

// DirectoryActivityStep is how far the admin directory's activity order may lag a user's
// last challenge: the user's position moves at most once per step (lastChallengeAt itself is
// exact).
const DirectoryActivityStep = 24 * time.Hour

// Success is what a correct answer changes.
type Success struct {
	UserID      string
	ChallengeID string
	Challenge   ChallengeUse
	FactorID    string
	Step        int64        // TOTP step to consume; 0 when the factor has no steps
	CodeHash    []byte       // email/SMS: the code record to consume (must still hold this hash)
	BackupHash  string       // backup codes: the code to remove from the set (must still be in it)
	SignCount   *uint32      // webauthn: the new counter (above the stored one, or both 0)
	Open        []OpenWindow // the user must not be locked at the write (Regulation.OpenAt)
	MaxFailures int          // the challenge must have fewer failures than this
	Device      *Device      // a device to trust, stored with the success
	DeviceEvent AuditEvent   // its audit event
	Seen        []Seen       // devices and addresses to remember as known
	At          time.Time
	Event       AuditEvent
	// Unchanged facts of the state as read, which the write then leaves out. NoFailures: it
	// counted no consecutive failures, so there is none to reset; a failure counted between
	// the read and the write then stands, as if it came after this success (the count errs on
	// the closed side). SameFactor: it names FactorID as the factor last verified with.
	NoFailures, SameFactor bool
}

// Activation is a factor being bound.
type Activation struct {
	Factor           Factor
	EnrollmentID     string // the enrollment consumed; "" for a direct bind
	RequireNoFactors bool
	Backup           *Factor    // a first backup code set created with it
	StepUp           *StepUpUse // the step-up that authorizes it, consumed with it (ErrStepUpUsed)
	Event            AuditEvent
}

// StepUpUse is the consumption of a step-up mfaToken by the change it authorizes: the store
// records its jti with a conditional write, kept until the token expires, so the token
// authorizes one change (DESIGN §6.4).
type StepUpUse struct {
	UserID    string
	TokenID   string
	ExpiresAt time.Time
}

// SendQuota is what one send of a code counts against. Windows are fixed; counters expire
// with them.
type SendQuota struct {
	UserID         string
	DestinationKey string // keyed hash of the destination, so counters hold no address
	Window         time.Duration
	MaxPerUser     int
	MaxPerDest     int
	At             time.Time
	Windows        []time.Time // the ends of the user's send windows as read (UserState.SendWindows): the write removes those that ended
}

// Delivery is one code sent for a challenge.
type Delivery struct {
	Code CodeRecord
	// Resent is the challenge's code record as read before this send (nil: the first send):
	// the write replaces exactly it, so concurrent sends for one challenge are counted exactly.
	Resent        *CodeRecord
	Expired       []string // challenges whose tallies and codes the write removes (UserState.Tallies)
	UserID        string
	Quota         SendQuota
	MaxSends      int           // per challenge
	Cooldown      time.Duration // between sends for one challenge
	ChallengeEnds time.Time
	Event         AuditEvent
	// Withdrawn is the event of the code taken back unsent when the destination's count
	// refused the send after the user's state had taken it (the two are written at once).
	Withdrawn AuditEvent
}

// LimitError says which send limit refused a send and when it frees up.
type LimitError struct {
	Limit   string // "challenge", "cooldown", "user", "destination"
	RetryAt time.Time
}

func (e *LimitError) Error() string { return "send limit reached: " + e.Limit }

// Failure is what a wrong answer changes.
type Failure struct {
	UserID      string
	ChallengeID string
	Challenge   ChallengeUse
	MaxFailures int          // the challenge must have fewer failures than this
	Open        []OpenWindow // the user must not be locked at the write (Regulation.OpenAt)
	At          time.Time
	Event       AuditEvent
}

// Refusal is the rate-limited audit of an answer refused unchecked.
type Refusal struct {
	UserID string
	Every  time.Duration // at most one audited refusal per user per Every
	At     time.Time
	Event  AuditEvent
}

// Sealer encrypts secrets with associated data that binds them to their owner.
type Sealer interface {
	Seal(plaintext []byte, associated ...string) ([]byte, error)
	Open(sealed []byte, associated ...string) ([]byte, error)
}

// PolicyStore keeps the global policy (scope "global") and organization policies (scope
// "org:<id>").
type PolicyStore interface {
	LoadPolicy(ctx context.Context, scope string) (policy.Record, bool, error)
	// ListPolicies reads every stored policy, by scope.
	ListPolicies(ctx context.Context) (map[string]policy.Record, error)
	SavePolicy(ctx context.Context, scope string, o policy.Overlay, by string, at time.Time, ev AuditEvent) (policy.Meta, error)
	// MigratePolicy replaces a whole policy the earlier PUT stored at version fromVersion by
	// its overlay (ErrConflict when the item changed since).
	MigratePolicy(ctx context.Context, scope string, o policy.Overlay, fromVersion int, by string, at time.Time, ev AuditEvent) (policy.Meta, error)
	DeletePolicy(ctx context.Context, scope string, ev AuditEvent) error
}

// Metrics counts what operators watch: verifications by factor and outcome, lock-outs, sends
// by channel and refused sends. Dimension values are low-cardinality, never user ids.
type Metrics interface {
	Count(name string, dims map[string]string)
}

// Hasher computes keyed hashes of codes, so the store never holds a usable code.
type Hasher interface {
	Hash(purpose string, value []byte) []byte
}

// Notifier sends codes and security notices. A code appears only in the message it sends.
type Notifier interface {
	// SendCode sends code in the language lang (a locale.Supported one; "" for the default).
	SendCode(ctx context.Context, channel FactorType, destination, code, purpose, lang string, ttl time.Duration) error
	SendSecurityNotice(ctx context.Context, to string, n Notice) error
}

// Notice tells a user that their factors changed. It never carries a code or secret.
type Notice struct {
	Kind       string // "factor_added", "factor_removed"
	FactorType FactorType
	Label      string
	At         time.Time
	IP         string
	Locale     string // set by the domain for each address it goes to
}

// PhoneParser parses a phone number in international form into its E.164 form, its country
// (ISO 3166-1 alpha-2) and a masked form. It is a port because the metadata behind it is large:
// only the functions that take new numbers link it.
type PhoneParser func(s string) (e164, region, masked string, err error)

// Passkeys runs WebAuthn ceremonies (parse, then validate). The domain stores the sessions
// and credential records it returns without looking inside.
type Passkeys interface {
	BeginRegistration(u PasskeyUser, existing []Factor) (options json.RawMessage, session []byte, err error)
	FinishRegistration(u PasskeyUser, session []byte, response []byte) (PasskeyCredential, error)
	BeginLogin(u PasskeyUser, credentials []Factor, userVerification string) (options json.RawMessage, session []byte, err error)
	FinishLogin(u PasskeyUser, session []byte, credentials []Factor, response []byte) (PasskeyAssertion, error)
}

// Errors of the Passkeys port: a response that does not parse is bad input; one that parses
// but does not validate is a wrong answer.
var (
	ErrPasskeyMalformed = errors.New("passkey response malformed")
	ErrPasskeyInvalid   = errors.New("passkey response invalid")
)

// PasskeyUser is the WebAuthn user entity: an opaque, stable handle (not the user id, which
// may be personal data) and names the authenticator shows.
type PasskeyUser struct {
	Handle      []byte
	Name        string
	DisplayName string
}

// PasskeyCredential is a registered credential.
type PasskeyCredential struct {
	ID        []byte
	Record    []byte
	SignCount uint32
}

// PasskeyAssertion is a validated assertion.
type PasskeyAssertion struct {
	CredentialID []byte
	SignCount    uint32
	UserVerified bool
}

// TokenIssuer signs the mfaToken.
type TokenIssuer interface {
	IssueMFAToken(c MFATokenClaims) (string, error)
}

// MFATokenClaims is what an mfaToken asserts.
type MFATokenClaims struct {
	Subject        string
	AuthTime       time.Time
	AMR            []string
	ACR            string
	FactorType     FactorType
	FactorID       string
	OrganizationID string
	ChallengeID    string
}
