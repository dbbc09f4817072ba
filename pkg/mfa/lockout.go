package mfa

import "time"

// Regulation holds every attempt limit of DESIGN §6.4: wrong answers per challenge, and per user,
// across all factors, a lock with growing back-off, then a permanent lock. Like Authelia's
// regulator it decides from recorded failures and an injected clock; unlike it, the decision
// travels into the store's conditional write (OpenAt), so asking "may this subject try?" and
// marking the attempt are one atomic step, exact under concurrency.
type Regulation struct {
	MaxChallengeFailures int           // wrong answers one challenge (or one Cognito sign-in) takes before it is dead
	LockAfter            int           // consecutive failures that start the lock
	BaseLock             time.Duration // first lock; doubles with each further failure
	MaxLock              time.Duration
	PermanentAfter       int // failures after which only an admin unlocks
	// RefusalAuditEvery is how often, per user, an answer refused unchecked (locked user,
	// closed or expired challenge) writes an audit event: a flood of refused answers writes
	// one event per interval, not one per request.
	RefusalAuditEvery time.Duration
}

// DefaultRegulation is DESIGN §6.4: 5 per challenge; per user a lock from 1 to 15 minutes,
// permanent at 100. Since answers during a lock are not counted, each failure from the 6th on
// waits out the lock of the one before: reaching the permanent lock takes at least
// MinTimeToPermanent (23 hours).
var DefaultRegulation = Regulation{
	MaxChallengeFailures: 5,
	LockAfter:            5,
	BaseLock:             time.Minute,
	MaxLock:              15 * time.Minute,
	PermanentAfter:       100,
	RefusalAuditEvery:    time.Minute,
}

// Lock describes a lock in force.
type Lock struct {
	Until     time.Time // zero when permanent
	Permanent bool
}

// LockFor is the lock that n consecutive failures impose, counted from the last of them
// (0: none). It is meaningless at or above PermanentAfter.
func (r Regulation) LockFor(n int) time.Duration {
	if n < r.LockAfter {
		return 0
	}
	d := r.BaseLock
	for i := r.LockAfter; i < n && d < r.MaxLock; i++ {
		d *= 2
	}
	return min(d, r.MaxLock)
}

// LockAt returns the lock in force at now for a user state, if any: whether the subject may
// try.
func (r Regulation) LockAt(s UserState, now time.Time) (Lock, bool) {
	n := s.ConsecutiveFailures
	if n >= r.PermanentAfter {
		return Lock{Permanent: true}, true
	}
	d := r.LockFor(n)
	if d == 0 {
		return Lock{}, false
	}
	until := s.LastFailureAt.Add(d)
	if !now.Before(until) {
		return Lock{}, false
	}
	return Lock{Until: until}, true
}

// OpenWindow is one set of user states in which verification is open: a consecutive-failure
// count in [MinFailures, MaxFailures] whose last failure is at or before LastFailureBy (zero:
// at any time).
type OpenWindow struct {
	MinFailures, MaxFailures int
	LastFailureBy            time.Time
}

// OpenAt lists the user states in which verification is open at now; a state in none of them
// is locked (LockAt says until when). The store makes counting a failure, and accepting a
// success, conditional on the user's state being in one of them at the moment of the write.
func (r Regulation) OpenAt(now time.Time) []OpenWindow {
	out := []OpenWindow{{MinFailures: 0, MaxFailures: r.LockAfter - 1}}
	for n := r.LockAfter; n < r.PermanentAfter; n++ {
		d := r.LockFor(n)
		w := OpenWindow{MinFailures: n, MaxFailures: n, LastFailureBy: now.Add(-d)}
		if d == r.MaxLock {
			// Every count from here to the permanent lock waits the same.
			w.MaxFailures = r.PermanentAfter - 1
			out = append(out, w)
			break
		}
		out = append(out, w)
	}
	return out
}

// MinTimeToPermanent is the shortest time in which answers can take a user from no failures
// to the permanent lock: every counted failure after the lock starts waits out the lock before
// it.
func (r Regulation) MinTimeToPermanent() time.Duration {
	var sum time.Duration
	for n := r.LockAfter; n < r.PermanentAfter; n++ {
		sum += r.LockFor(n)
	}
	return sum
}

func (r Regulation) refusalAuditEvery() time.Duration {
	return orDefault(r.RefusalAuditEvery, DefaultRegulation.RefusalAuditEvery)
}
