package mfa

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// The regulator: the one place where an answer is let through to be compared, marked as a
// failure, or refused unchecked (DESIGN §6.4). The HTTP verify route and the Cognito verify
// trigger both answer through Verify, so both go through here.
//
// Only answers compared against a factor count. An answer refused because the user is locked
// or its challenge is closed, expired or used is not counted: counting those would let an
// attacker reach the permanent lock at network speed, and turn an honest double-click into a
// lock. Whether the user is locked is decided again inside the store's write (Regulation.OpenAt),
// so a burst of answers read before the lock began is not counted past it.

// mayTry asks whether an answer to ch may be compared: not while the user is locked, not on a
// challenge that is closed or expired. A refusal is audited (rate-limited) and not counted.
func (s *Verifications) mayTry(ctx context.Context, c Caller, ch Challenge, state UserState, req VerifyRequest, now time.Time) error {
	if lock, locked := s.Regulation.LockAt(state, now); locked {
		return s.refuse(ctx, c, ch, state, req, now, "locked", tooManyAttempts(lock, now))
	}
	if err := checkChallengeOpen(ch, now, s.Regulation); err != nil {
		return s.refuse(ctx, c, ch, state, req, now, err.Code, err)
	}
	return nil
}

// markFailure counts a wrong answer on the challenge and on the user, unless the user became
// locked or the challenge closed since they were read: then the answer is refused like one that
// came later, uncounted. If the store cannot count, the caller gets a 503, not a retry that
// escapes the count.
func (s *Verifications) markFailure(ctx context.Context, c Caller, ch Challenge, state UserState, req VerifyRequest, now time.Time, reason string) error {
	ev := s.event(c, ch.UserID, ActionVerificationFailure, "failed")
	// One instant for the answer: the event's time is the failure's time on the user's state,
	// from which a lock it starts is dated (securityevents.LockStarted), so the lock never
	// seems to come before the failure that caused it.
	ev.At = now
	ev.FactorID, ev.FactorType, ev.ChallengeID, ev.Reason = req.FactorID, req.Type, ch.ID, reason
	err := s.Store.RecordFailure(ctx, Failure{UserID: ch.UserID, ChallengeID: ch.ID, Challenge: state.use(ch, now), MaxFailures: s.Regulation.MaxChallengeFailures, Open: s.Regulation.OpenAt(now), At: now, Event: ev})
	switch {
	case err == nil:
	case errors.Is(err, ErrLocked):
		return s.refuseLockedAtWrite(ctx, c, ch, state, req, now, err)
	case errors.Is(err, ErrChallengeClosed):
		return s.refuse(ctx, c, ch, state, req, now, CodeChallengeClosed, newError(KindGone, CodeChallengeClosed, "this challenge is closed; start a new one"))
	default:
		return unavailable(err)
	}
	read := state.ConsecutiveFailures
	if read+1 == s.Regulation.LockAfter || read+1 == s.Regulation.PermanentAfter {
		s.count("Lockouts", map[string]string{"Permanent": map[bool]string{true: "true", false: "false"}[read+1 == s.Regulation.PermanentAfter]})
	}
	s.count("Verifications", map[string]string{"FactorType": string(req.Type), "Outcome": "failure"})
	remaining := max(0, s.Regulation.MaxChallengeFailures-ch.Failures-1)
	return &Error{Kind: KindUnauthenticated, Code: CodeVerificationFailed, Message: "the code is not valid", AttemptsRemaining: &remaining}
}

// refuseLockedAtWrite answers an answer whose write found the user locked (a failure counted
// since the read began a lock): 429 until the end of that lock, as the write found it.
func (s *Verifications) refuseLockedAtWrite(ctx context.Context, c Caller, ch Challenge, state UserState, req VerifyRequest, now time.Time, err error) error {
	var le *LockedError
	if errors.As(err, &le) {
		state = le.State
	} else {
		fresh, rerr := s.Store.LoadProfile(ctx, ch.UserID)
		if rerr != nil {
			return unavailable(rerr)
		}
		state = fresh.State
	}
	lock, locked := s.Regulation.LockAt(state, now)
	if !locked {
		// Unlocked in between (an admin, or the lock just ended): the answer still was not
		// taken; asking again is safe.
		lock = Lock{Until: now.Add(time.Second)}
	}
	return s.refuse(ctx, c, ch, state, req, now, "locked", tooManyAttempts(lock, now))
}

// refuse answers an answer that is not compared and not counted. It is audited, at most once
// per user per Regulation.RefusalAuditEvery, so a flood of refused answers cannot flood the
// audit log; every refusal is still counted in the metrics.
func (s *Verifications) refuse(ctx context.Context, c Caller, ch Challenge, state UserState, req VerifyRequest, now time.Time, reason string, refusal *Error) error {
	s.count("Verifications", map[string]string{"FactorType": string(req.Type), "Outcome": map[bool]string{true: "locked", false: "refused"}[reason == "locked"]})
	every := s.Regulation.refusalAuditEvery()
	if !state.LastRefusalAt.IsZero() && now.Sub(state.LastRefusalAt) < every {
		return refusal
	}
	ev := s.event(c, ch.UserID, ActionVerificationRefused, "refused")
	ev.FactorID, ev.FactorType, ev.ChallengeID, ev.Reason = req.FactorID, req.Type, ch.ID, reason
	err := s.Store.RecordRefusal(ctx, Refusal{UserID: ch.UserID, Every: every, At: now, Event: ev})
	if err != nil && !errors.Is(err, ErrThrottled) && s.Log != nil {
		// The answer is refused either way; a missing audit line must not turn a 429 into a 503.
		s.Log.Warn("refused answer not audited", slog.String("userId", ch.UserID), slog.String("error", err.Error()))
	}
	return refusal
}

func checkChallengeOpen(ch Challenge, now time.Time, reg Regulation) *Error {
	switch {
	case ch.Status != ChallengeOpen:
		return newError(KindGone, CodeChallengeClosed, "this challenge was already answered; start a new one")
	case ch.Failures >= reg.MaxChallengeFailures:
		return newError(KindGone, CodeChallengeClosed, "too many wrong answers for this challenge; start a new one")
	case !now.Before(ch.ExpiresAt):
		return newError(KindGone, CodeChallengeExpired, "the challenge expired; start a new one")
	}
	return nil
}

func tooManyAttempts(lock Lock, now time.Time) *Error {
	e := &Error{Kind: KindTooManyAttempts, Code: CodeTooManyAttempts, Lock: &lock}
	if lock.Permanent {
		e.Message = "verification is locked after too many failures; an administrator must unlock it"
		e.RetryAfter = time.Hour
		return e
	}
	e.Message = "too many failed attempts; try again later"
	e.RetryAfter = lock.Until.Sub(now).Round(time.Second)
	if e.RetryAfter < time.Second {
		e.RetryAfter = time.Second
	}
	return e
}

// MaxWrongAnswers is how many wrong answers one challenge — or one Cognito sign-in, whose
// rounds are challenges — takes before it is dead.
func (s *Core) MaxWrongAnswers() int { return s.Regulation.MaxChallengeFailures }
