package mfa

import (
	"context"
	"testing"
	"time"
)

// tickingClock advances a millisecond at every reading, as a loaded machine's clock does
// between two readings of one request.
type tickingClock struct{ t time.Time }

func (c *tickingClock) Now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

// failureStore is the verification's store port holding one open TOTP challenge; it keeps the
// failure it is asked to record.
type failureStore struct {
	ch       Challenge
	factor   Factor
	recorded *Failure
}

func (f *failureStore) LoadProfile(context.Context, string) (Profile, error) {
	return Profile{Factors: []Factor{f.factor}}, nil
}

func (f *failureStore) LoadVerification(_ context.Context, ch Challenge) (Verification, error) {
	return Verification{Challenge: ch, State: UserState{UserID: ch.UserID, ConsecutiveFailures: 4}, Factors: []Factor{f.factor}}, nil
}

func (f *failureStore) RecordFailure(_ context.Context, fl Failure) error {
	f.recorded = &fl
	return nil
}

func (f *failureStore) RecordSuccess(context.Context, Success) error {
	panic("a wrong answer succeeded")
}

func (f *failureStore) RecordRefusal(context.Context, Refusal) error { return nil }

// plainSealer opens every sealed secret to itself.
type plainSealer struct{}

func (plainSealer) Seal(p []byte, _ ...string) ([]byte, error) { return p, nil }
func (plainSealer) Open(s []byte, _ ...string) ([]byte, error) { return s, nil }

// The audit event of a counted failure carries the instant the failure is recorded at: the
// lock it begins is judged at that instant (securityevents.LockStarted), and consumers order
// a User Locked after the failure of the same instant, so the two must not differ by however
// long the answer took to check.
func TestFailureEventAtTheFailuresInstant(t *testing.T) {
	clock := &tickingClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	secret := []byte("12345678901234567890")
	store := &failureStore{
		ch:     Challenge{ID: "abcdefghijklmnopqrstuvwxyz", UserID: "alice", Purpose: PurposeSignIn, Offered: []OfferedFactor{{ID: "totpfactorabcdefghijklmnop", Type: TypeTOTP}}, Status: ChallengeOpen, ExpiresAt: clock.t.Add(time.Hour)},
		factor: Factor{ID: "totpfactorabcdefghijklmnop", UserID: "alice", Type: TypeTOTP, SealedSecret: secret},
	}
	core := &Core{Hasher: fuzzHasher, Regulation: DefaultRegulation, Now: clock.Now}
	v := NewVerifications(core, store, plainSealer{}, nil, nil)

	wrong := "000000"
	for step := totpStep(clock.t) - 2; step <= totpStep(clock.t)+2; step++ {
		if c, _ := totpCode(secret, step, totpDigits); c == wrong {
			wrong = "999999"
		}
	}
	id, err := core.challengeToken(store.ch)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), Caller{Kind: CallerService}, "alice", id, VerifyRequest{FactorID: store.factor.ID, Type: TypeTOTP, Code: wrong})
	if AsError(err).Code != CodeVerificationFailed {
		t.Fatalf("wrong answer: %v", err)
	}
	if store.recorded == nil {
		t.Fatal("the wrong answer was not counted")
	}
	if f := store.recorded; !f.Event.At.Equal(f.At) {
		t.Errorf("failure recorded at %s, its audit event at %s", f.At.Format(time.StampMilli), f.Event.At.Format(time.StampMilli))
	}
}
