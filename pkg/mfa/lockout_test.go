package mfa

import (
	"testing"
	"time"
)

func TestRegulationBackoff(t *testing.T) {
	r := DefaultRegulation
	last := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		failures  int
		lockedFor time.Duration // 0: not locked
		permanent bool
	}{
		{0, 0, false},
		{4, 0, false},
		{5, time.Minute, false},
		{6, 2 * time.Minute, false},
		{7, 4 * time.Minute, false},
		{8, 8 * time.Minute, false},
		{9, 15 * time.Minute, false},
		{99, 15 * time.Minute, false},
		{100, 0, true},
		{250, 0, true},
	}
	for _, tc := range tests {
		s := UserState{ConsecutiveFailures: tc.failures, LastFailureAt: last}
		lock, locked := r.LockAt(s, last)
		if tc.permanent {
			if !locked || !lock.Permanent {
				t.Errorf("%d failures: want permanent lock, got %+v %v", tc.failures, lock, locked)
			}
			if _, still := r.LockAt(s, last.Add(365*24*time.Hour)); !still {
				t.Errorf("%d failures: a permanent lock must not expire", tc.failures)
			}
			continue
		}
		if tc.lockedFor == 0 {
			if locked {
				t.Errorf("%d failures: unexpected lock %+v", tc.failures, lock)
			}
			continue
		}
		if !locked || !lock.Until.Equal(last.Add(tc.lockedFor)) {
			t.Errorf("%d failures: lock %+v %v, want until +%v", tc.failures, lock, locked, tc.lockedFor)
		}
		if _, still := r.LockAt(s, last.Add(tc.lockedFor-time.Second)); !still {
			t.Errorf("%d failures: lock must hold until its end", tc.failures)
		}
		if _, still := r.LockAt(s, last.Add(tc.lockedFor)); still {
			t.Errorf("%d failures: lock must end after %v", tc.failures, tc.lockedFor)
		}
	}
}

func TestTooManyAttemptsCarriesRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	e := tooManyAttempts(Lock{Until: now.Add(90 * time.Second)}, now)
	if e.Kind != KindTooManyAttempts || e.Code != CodeTooManyAttempts || e.RetryAfter != 90*time.Second {
		t.Fatalf("%+v", e)
	}
}

// TestOpenAtAgreesWithLockAt: the windows the store's write is conditioned on are exactly the
// states LockAt calls unlocked, so the check in the domain and the one in the write agree.
func TestOpenAtAgreesWithLockAt(t *testing.T) {
	r := DefaultRegulation
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	open := r.OpenAt(now)
	inWindow := func(s UserState) bool {
		for _, w := range open {
			if s.ConsecutiveFailures >= w.MinFailures && s.ConsecutiveFailures <= w.MaxFailures &&
				(w.LastFailureBy.IsZero() || !s.LastFailureAt.After(w.LastFailureBy)) {
				return true
			}
		}
		return false
	}
	for n := 0; n <= r.PermanentAfter+5; n++ {
		for _, ago := range []time.Duration{0, time.Second, 59 * time.Second, time.Minute, 2*time.Minute - time.Millisecond, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15*time.Minute - time.Millisecond, 15 * time.Minute, time.Hour} {
			s := UserState{ConsecutiveFailures: n, LastFailureAt: now.Add(-ago)}
			_, locked := r.LockAt(s, now)
			if locked == inWindow(s) {
				t.Errorf("%d failures, last %v ago: LockAt locked=%v, OpenAt open=%v", n, ago, locked, inWindow(s))
			}
		}
	}
}

// TestMinTimeToPermanent: with answers during a lock uncounted, each failure after the fifth
// waits out the lock before it: 1+2+4+8 minutes, then 91 × 15 minutes, 23 hours (the README
// states it).
func TestMinTimeToPermanent(t *testing.T) {
	if got := DefaultRegulation.MinTimeToPermanent(); got != 23*time.Hour {
		t.Fatalf("MinTimeToPermanent = %v, want 23h", got)
	}
}
