package mfa

import "time"

// Regulation decides, from a user's consecutive failures across all factors, whether
// verification is locked and until when. Like Authelia's regulator it works from recorded
// failures and an injected clock; unlike it, an unreadable count means locked (the caller
// fails closed when the store cannot answer).
type Regulation struct {
	MaxChallengeFailures int           // wrong answers one challenge takes before it is dead
	LockAfter            int           // consecutive failures that start the lock
	BaseLock             time.Duration // first lock; doubles with each further failure
	MaxLock              time.Duration
	PermanentAfter       int // failures after which only an admin unlocks
}

// DefaultRegulation is DESIGN §6.4: 5 per challenge; per user a lock from 1 to 15 minutes,
// permanent at 100.
var DefaultRegulation = Regulation{
	MaxChallengeFailures: 5,
	LockAfter:            5,
	BaseLock:             time.Minute,
	MaxLock:              15 * time.Minute,
	PermanentAfter:       100,
}

// Lock describes a lock in force.
type Lock struct {
	Until     time.Time // zero when permanent
	Permanent bool
}

// LockAt returns the lock in force at now for a user state, if any.
func (r Regulation) LockAt(s UserState, now time.Time) (Lock, bool) {
	n := s.ConsecutiveFailures
	if n >= r.PermanentAfter {
		return Lock{Permanent: true}, true
	}
	if n < r.LockAfter {
		return Lock{}, false
	}
	d := r.BaseLock
	for i := r.LockAfter; i < n && d < r.MaxLock; i++ {
		d *= 2
	}
	if d > r.MaxLock {
		d = r.MaxLock
	}
	until := s.LastFailureAt.Add(d)
	if !now.Before(until) {
		return Lock{}, false
	}
	return Lock{Until: until}, true
}
