package mfa

import (
	"context"
	"time"
)

// Store keeps users' factors, enrollments, challenges and state. Every method that must happen
// once is a conditional write; every multi-item change is one transaction.
type Store interface {
	// LoadProfile reads the user's state and factors in one round trip. A user never seen
	// has a zero state and no factors.
	LoadProfile(ctx context.Context, userID string) (Profile, error)
	// GetFactor returns ErrNotFound when the user has no such factor.
	GetFactor(ctx context.Context, userID, factorID string) (Factor, error)

	// CreateEnrollment stores a pending enrollment and its audit event.
	CreateEnrollment(ctx context.Context, e Enrollment, ev AuditEvent) error
	// GetEnrollment returns ErrNotFound when there is none for this user.
	GetEnrollment(ctx context.Context, userID, enrollmentID string) (Enrollment, error)
	// ActivateFactor turns an enrollment into a factor in one transaction: the enrollment is
	// consumed (ErrNotFound if already gone), the factor created, the user's factor count raised
	// and the event written. With requireNoFactors, it fails with ErrHasFactors when the user
	// already has a factor (the step-up rule, enforced at write time).
	ActivateFactor(ctx context.Context, f Factor, requireNoFactors bool, ev AuditEvent) error
	// DeleteFactor removes a factor and lowers the factor count (ErrNotFound if absent).
	DeleteFactor(ctx context.Context, userID, factorID string, ev AuditEvent) error

	// OpenChallenge stores a challenge and notes the user's activity, in one transaction.
	OpenChallenge(ctx context.Context, c Challenge, ev AuditEvent) error
	// LoadVerification reads a challenge, the user's state and (when factorID is set) the
	// factor in one round trip. ErrNotFound when the challenge does not exist; a missing
	// factor comes back as nil.
	LoadVerification(ctx context.Context, userID, challengeID, factorID string) (Challenge, UserState, *Factor, error)
	// RecordSuccess closes the challenge, advances the factor and clears the user's failures,
	// in one transaction. It fails with ErrChallengeClosed, ErrStepReused or ErrStateChanged
	// when the matching condition no longer holds.
	RecordSuccess(ctx context.Context, s Success) error
	// RecordFailure counts one wrong answer on the challenge and on the user. The user's count
	// is raised exactly once even when the challenge is already closed.
	RecordFailure(ctx context.Context, f Failure) error
}

// Success is what a correct answer changes.
type Success struct {
	UserID       string
	ChallengeID  string
	FactorID     string
	Step         int64 // TOTP step to consume; 0 when the factor has no steps
	ReadFailures int   // the user's failure count as read; a change in between cancels
	MaxFailures  int   // the challenge must have fewer failures than this
	At           time.Time
	Event        AuditEvent
}

// Failure is what a wrong answer changes.
type Failure struct {
	UserID      string
	ChallengeID string
	MaxFailures int
	At          time.Time
	Event       AuditEvent
}

// Sealer encrypts secrets with associated data that binds them to their owner.
type Sealer interface {
	Seal(plaintext []byte, associated ...string) ([]byte, error)
	Open(sealed []byte, associated ...string) ([]byte, error)
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
