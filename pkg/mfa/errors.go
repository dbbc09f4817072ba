package mfa

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the transport, which maps each kind to one HTTP status in one
// place. Clients see the stable Code, never the text of an internal failure.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindGone
	KindTooManyAttempts
	KindUnavailable
)

// Stable problem codes. Apps branch on these; never rename one.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidCode          = "invalid_code"
	CodeUnsupportedType      = "unsupported_factor_type"
	CodeForbidden            = "forbidden"
	CodeStepUpRequired       = "step_up_required"
	CodeInvalidMFAToken      = "invalid_mfa_token"
	CodeUnauthenticated      = "unauthenticated"
	CodeFactorNotFound       = "factor_not_found"
	CodeEnrollmentNotFound   = "enrollment_not_found"
	CodeChallengeNotFound    = "challenge_not_found"
	CodeFactorTypeMismatch   = "factor_type_mismatch"
	CodeFactorRequired       = "factor_id_required"
	CodeEnrollmentExpired    = "enrollment_expired"
	CodeChallengeExpired     = "challenge_expired"
	CodeChallengeClosed      = "challenge_closed"
	CodeVerificationFailed   = "verification_failed"
	CodeTooManyAttempts      = "too_many_attempts"
	CodeConflict             = "conflict"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
	CodeCodeExpired          = "code_expired"
	CodeCodeNotSent          = "code_not_sent"
	CodeFactorExists         = "factor_exists"
	CodeCountryNotAllowed    = "country_not_allowed"
	CodeSendLimited          = "send_limited"
	CodePrimaryRequired      = "primary_factor_required"
	CodeFactorTypeNotAllowed = "factor_type_not_allowed"
	CodeDeliveryFailed       = "delivery_failed"
	CodeDeviceNotFound       = "device_not_found"
	CodeInvalidCredential    = "invalid_credential"
	CodeInvalidPolicy        = "invalid_policy"
	CodePolicyNotFound       = "policy_not_found"
	CodePromptNotSkippable   = "prompt_not_skippable"
	CodeInvalidCursor        = "invalid_cursor"
	CodeAdminRequired        = "admin_scope_required"
)

// Error is the domain's error: a kind, a stable code, a message safe to show a client, and
// optionally the field at fault and the facts a refused caller can act on. How it is shown
// (status, problem body, headers) is the transport's business.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration // how long until trying again can succeed
	// AttemptsRemaining (verification_failed): the wrong answers the challenge or enrollment
	// still takes.
	AttemptsRemaining *int
	Lock              *Lock  // too_many_attempts: the lock in force
	SendLimit         string // send_limited: the cap reached ("challenge", "cooldown", "user", "destination")
	Err               error  // internal cause, logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newError(kind Kind, code, msg string) *Error {
	return &Error{Kind: kind, Code: code, Message: msg}
}

// Invalid reports bad input, naming the field when there is one.
func Invalid(code, field, msg string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Field: field, Message: msg}
}

func forbidden(code, msg string) *Error { return newError(KindForbidden, code, msg) }
func notFound(code, msg string) *Error  { return newError(KindNotFound, code, msg) }

// unavailable wraps a store or key failure: the service fails closed with a 503.
func unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeUnavailable, Message: "the service cannot complete this now; try again", Err: err}
}

// internal wraps a failure that is our bug, not the caller's.
func internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error", Err: err}
}

// AsError returns the *Error inside err, or wraps err as an internal error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return internal(err)
}

// Store errors: the store translates its conditional-write failures into these, so the
// domain decides what each means for the caller.
var (
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrChallengeClosed = errors.New("challenge no longer open")
	ErrStepReused      = errors.New("time step already used")
	ErrLocked          = errors.New("verification locked for this user")
	ErrThrottled       = errors.New("audited recently; not again yet")
	ErrStepUpUsed      = errors.New("step-up token already used")
	ErrHasFactors      = errors.New("user already has a factor")
	ErrCodeUsed        = errors.New("code already used or replaced")
	ErrExhausted       = errors.New("attempts exhausted")
	ErrConflict        = errors.New("changed concurrently")
	ErrBadCursor       = errors.New("cursor not issued by this store")
)

// LockedError is ErrLocked carrying the user's state as the refused write found it, so that
// the refusal can say until when without another read.
type LockedError struct{ State UserState }

func (e *LockedError) Error() string        { return ErrLocked.Error() }
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
