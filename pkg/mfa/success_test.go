package mfa

import (
	"context"
	"testing"
	"time"
)

// successStore is the verification's store port holding one TOTP factor and the user's state;
// it keeps the success it is asked to record.
type successStore struct {
	factor   Factor
	state    UserState
	recorded *Success
}

func (s *successStore) LoadProfile(context.Context, string) (Profile, error) {
	return Profile{State: s.state, Factors: []Factor{s.factor}}, nil
}

func (s *successStore) LoadVerification(_ context.Context, ch Challenge) (Verification, error) {
	return Verification{Challenge: ch, State: s.state, Factors: []Factor{s.factor}}, nil
}

func (s *successStore) RecordFailure(context.Context, Failure) error {
	panic("a right answer failed")
}

func (s *successStore) RecordSuccess(_ context.Context, r Success) error {
	s.recorded = &r
	return nil
}

func (s *successStore) RecordRefusal(context.Context, Refusal) error { return nil }

type fixedTokens struct{}

func (fixedTokens) IssueMFAToken(MFATokenClaims) (string, error) { return "token", nil }

// A success tells the store which facts of the state as read it leaves as they are (so the
// write sends only what changes): the user's first-seen time and place in the directory when
// they stay, no failures to reset, the same factor as last time. Each is said only when true.
func TestSuccessSaysWhatItLeavesUnchanged(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	secret := []byte("12345678901234567890")
	factor := Factor{ID: "totpfactorabcdefghijklmnop", UserID: "alice", Type: TypeTOTP, SealedSecret: secret}
	returning := UserState{UserID: "alice", FirstSeenAt: now.Add(-30 * 24 * time.Hour), ListedAt: now.Add(-time.Hour), LastFactorID: factor.ID}
	cases := []struct {
		name                                string
		state                               UserState
		settled, noFailures, sameFactor, mv bool
	}{
		{"returning user, same factor", returning, true, true, true, false},
		{"first answer ever", UserState{UserID: "alice"}, false, true, false, true},
		{"failures to reset", func() UserState { s := returning; s.ConsecutiveFailures = 3; return s }(), true, false, true, false},
		{"another factor last time", func() UserState { s := returning; s.LastFactorID = "backupfactorabcdefghijklmn"; return s }(), true, true, false, false},
		{"listed a day ago: moves", func() UserState { s := returning; s.ListedAt = now.Add(-25 * time.Hour); return s }(), false, true, true, true},
		{"listed, no first-seen time", func() UserState { s := returning; s.FirstSeenAt = time.Time{}; return s }(), false, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := &successStore{factor: factor, state: tc.state}
			core := &Core{Hasher: fuzzHasher, Regulation: DefaultRegulation, Now: func() time.Time { return now }}
			v := NewVerifications(core, store, plainSealer{}, fixedTokens{}, nil)
			ch := Challenge{ID: "abcdefghijklmnopqrstuvwxyz", UserID: "alice", Purpose: PurposeSignIn, Offered: []OfferedFactor{{ID: factor.ID, Type: TypeTOTP}}, Status: ChallengeOpen, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute)}
			id, err := core.challengeToken(ch)
			if err != nil {
				t.Fatal(err)
			}
			code, err := totpCode(secret, totpStep(now), totpDigits)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(context.Background(), Caller{Kind: CallerService}, "alice", id, VerifyRequest{FactorID: factor.ID, Type: TypeTOTP, Code: code}); err != nil {
				t.Fatal(err)
			}
			r := store.recorded
			if r == nil {
				t.Fatal("the right answer was not recorded")
			}
			if r.Challenge.Settled != tc.settled || r.NoFailures != tc.noFailures || r.SameFactor != tc.sameFactor || r.Challenge.MovesInDirectory != tc.mv {
				t.Errorf("settled %v, no failures %v, same factor %v, moves %v; want %v %v %v %v",
					r.Challenge.Settled, r.NoFailures, r.SameFactor, r.Challenge.MovesInDirectory, tc.settled, tc.noFailures, tc.sameFactor, tc.mv)
			}
		})
	}
}
