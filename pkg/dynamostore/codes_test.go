package dynamostore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
)

func TestBackupCodeUsedExactlyOnceUnderConcurrency(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	primary := s.bindTOTP(t, "alice", 0)
	set := mfa.Factor{ID: newID(), UserID: "alice", Type: mfa.TypeBackupCodes, Label: "Backup codes", CreatedAt: s.now, BackupCodes: []string{"h1", "h2", "h3"}}
	if err := s.store.ReplaceBackupCodes(ctx, set, true, s.event("alice", "x"), nil); err != nil {
		t.Fatal(err)
	}
	// A second creation (a concurrent regeneration) is refused: one set per user.
	other := set
	other.ID = newID()
	if err := s.store.ReplaceBackupCodes(ctx, other, true, s.event("alice", "x"), nil); !errors.Is(err, mfa.ErrConflict) {
		t.Fatalf("second set: %v", err)
	}

	const n = 30
	var ok, used atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c := s.openChallenge(t, "alice", primary.ID, set.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: set.ID, BackupHash: "h2", MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, mfa.ErrCodeUsed):
				used.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || used.Load() != n-1 {
		t.Fatalf("successes=%d used=%d, want 1 and %d", ok.Load(), used.Load(), n-1)
	}
	got, _ := s.store.GetFactor(ctx, "alice", set.ID)
	if len(got.BackupCodes) != 2 {
		t.Fatalf("codes left %v, want h1 and h3", got.BackupCodes)
	}
	// Replacing the set kills the old codes.
	renewed := set
	renewed.BackupCodes = []string{"n1", "n2"}
	if err := s.store.ReplaceBackupCodes(ctx, renewed, false, s.event("alice", "x"), nil); err != nil {
		t.Fatal(err)
	}
	c := s.openChallenge(t, "alice", set.ID)
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: set.ID, BackupHash: "h1", MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("old code after regeneration: %v", err)
	}
	p, _ := s.store.LoadProfile(ctx, "alice")
	if p.State.BackupFactorID != set.ID || p.State.FactorCount != 2 || p.State.Primaries() != 1 {
		t.Fatalf("state %+v", p.State)
	}
	// Deleting the set clears the user's backup id, so a new set can be created.
	if err := s.store.DeleteFactor(ctx, renewed, s.event("alice", "x"), nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.store.LoadProfile(ctx, "alice"); p.State.BackupFactorID != "" || p.State.FactorCount != 1 {
		t.Fatalf("after delete %+v", p.State)
	}
}

// delivery is a send for challenge c as the domain makes it: with the challenge's code record
// as read just before (the one the send replaces) and the user's send windows.
func (s *suite) delivery(c mfa.Challenge, fid string, hash []byte, quota mfa.SendQuota) mfa.Delivery {
	v, err := s.store.LoadVerification(context.Background(), c)
	if err != nil {
		panic(err)
	}
	quota.Windows = v.State.SendWindows
	return mfa.Delivery{
		Code:   mfa.CodeRecord{ChallengeID: c.ID, FactorID: fid, Hash: hash, ExpiresAt: s.now.Add(10 * time.Minute)},
		Resent: v.Code, UserID: c.UserID, Quota: quota, MaxSends: 3, Cooldown: 30 * time.Second, ChallengeEnds: c.ExpiresAt,
		Event: s.event(c.UserID, mfa.ActionCodeSent), Withdrawn: s.event(c.UserID, mfa.ActionCodeRefused),
	}
}

// Concurrent sends for one challenge, each replacing the record it read: exactly one goes
// out, the others meet the cool-down; the code stored is the winner's.
func TestConcurrentSendsForOneChallenge(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	c := s.openChallenge(t, "alice")
	quota := mfa.SendQuota{UserID: "alice", DestinationKey: "d", Window: time.Hour, MaxPerUser: 100, MaxPerDest: 100, At: s.now}
	const n = 10
	ds := make([]mfa.Delivery, n)
	for i := range ds {
		ds[i] = s.delivery(c, "f1", []byte{byte('a' + i)}, quota) // all read before any is written
	}
	var sent, cooled atomic.Int64
	var winner atomic.Int64
	var wg sync.WaitGroup
	for i := range ds {
		wg.Go(func() {
			var le *mfa.LimitError
			switch err := s.store.RecordDelivery(ctx, ds[i]); {
			case err == nil:
				sent.Add(1)
				winner.Store(int64(i))
			case errors.As(err, &le) && le.Limit == "cooldown":
				cooled.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if sent.Load() != 1 || cooled.Load() != n-1 {
		t.Fatalf("sent %d, cooled %d: want exactly 1 and %d", sent.Load(), cooled.Load(), n-1)
	}
	v, err := s.store.LoadVerification(ctx, c)
	if err != nil || v.Code == nil || v.Code.Sends != 1 || v.Code.Hash[0] != byte('a'+winner.Load()) {
		t.Fatalf("code record %+v, %v: want the winner's, sent once", v.Code, err)
	}
}

func TestSendCountersAreExactUnderConcurrency(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	quota := mfa.SendQuota{UserID: "alice", DestinationKey: "dest-a", Window: time.Hour, MaxPerUser: 7, MaxPerDest: 100, At: s.now}
	const n = 20
	var ok, userLimited atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c := s.openChallenge(t, "alice")
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("h"), quota))
			var le *mfa.LimitError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &le) && le.Limit == "user":
				userLimited.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 7 || userLimited.Load() != n-7 {
		t.Fatalf("sent=%d refused=%d, want exactly 7 and %d", ok.Load(), userLimited.Load(), n-7)
	}
	// Another user sending to the same destination is capped by the destination counter.
	destQuota := mfa.SendQuota{UserID: "bob", DestinationKey: "dest-a", Window: time.Hour, MaxPerUser: 100, MaxPerDest: 8, At: s.now}
	c := s.openChallenge(t, "bob")
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("h"), destQuota)); err != nil {
		t.Fatalf("8th send to the destination: %v", err)
	}
	c = s.openChallenge(t, "bob")
	var le *mfa.LimitError
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("h"), destQuota)); !errors.As(err, &le) || le.Limit != "destination" {
		t.Fatalf("9th send to the destination: %v", err)
	}
	// The next window starts afresh.
	s.now = s.now.Add(time.Hour)
	quota.At = s.now
	c = s.openChallenge(t, "alice")
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("h"), quota)); err != nil {
		t.Fatalf("next window: %v", err)
	}
}

func TestChallengeSendCapAndCooldown(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	c := s.openChallenge(t, "alice")
	quota := func(at time.Time) mfa.SendQuota {
		return mfa.SendQuota{UserID: "alice", DestinationKey: "d", Window: time.Hour, MaxPerUser: 100, MaxPerDest: 100, At: at}
	}
	at := s.now
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("a"), quota(at))); err != nil {
		t.Fatal(err)
	}
	var le *mfa.LimitError
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("b"), quota(at.Add(10*time.Second)))); !errors.As(err, &le) || le.Limit != "cooldown" {
		t.Fatalf("resend inside the cool-down: %v", err)
	}
	for i := 1; i <= 2; i++ {
		at = at.Add(31 * time.Second)
		if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte{byte('a' + i)}, quota(at))); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	at = at.Add(31 * time.Second)
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("z"), quota(at))); err == nil {
		t.Fatal("a 4th send for a challenge capped at 3 went out")
	}
	// Only the newest code is stored, and it is consumed once.
	v, err := s.store.LoadVerification(ctx, c)
	if rec := v.Code; err != nil || rec == nil || string(rec.Hash) != "c" || rec.FactorID != "f1" || rec.Sends != 3 {
		t.Fatalf("code record %+v %v", rec, err)
	}
}

func TestCodeRecordConsumedOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	c1 := s.openChallenge(t, "alice", f.ID)
	quota := mfa.SendQuota{UserID: "alice", DestinationKey: "d", Window: time.Hour, MaxPerUser: 100, MaxPerDest: 100, At: s.now}
	if err := s.store.RecordDelivery(ctx, s.delivery(c1, f.ID, []byte("hash1"), quota)); err != nil {
		t.Fatal(err)
	}
	success := func(c mfa.Challenge, fid, hash string) error {
		return s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: fid, CodeHash: []byte(hash), MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")})
	}
	if err := success(c1, f.ID, "other"); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("a hash that is not the stored one: %v", err)
	}
	if err := success(c1, "another-factor", "hash1"); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("the code of another factor of the challenge: %v", err)
	}
	if err := success(c1, f.ID, "hash1"); err != nil {
		t.Fatal(err)
	}
	c2 := s.openChallenge(t, "alice", f.ID)
	if err := success(c2, f.ID, "hash1"); !errors.Is(err, mfa.ErrCodeUsed) {
		t.Fatalf("a code of another challenge: %v", err)
	}
	if v, _ := s.store.LoadVerification(ctx, c1); v.Code != nil {
		t.Fatal("the code record survives its use")
	}
}

// The user's count of sends lives on the state, one attribute per window (named by its end);
// a send in a later window removes the windows that ended, so the state does not grow with the
// user's history, and a window of another length that has not ended stays.
func TestEndedSendWindowsArePruned(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	quota := mfa.SendQuota{UserID: "alice", DestinationKey: "d", Window: time.Hour, MaxPerUser: 2, MaxPerDest: 100, At: s.now}
	for range 2 {
		if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("h"), quota)); err != nil {
			t.Fatal(err)
		}
	}
	var le *mfa.LimitError
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("h"), quota)); !errors.As(err, &le) || le.Limit != "user" {
		t.Fatalf("a third send in the window: %v, want the user limit", err)
	}
	first := s.state(t, "alice").State.SendWindows
	if len(first) != 1 || !first[0].Equal(s.now.Truncate(time.Hour).Add(time.Hour)) {
		t.Fatalf("send windows %v", first)
	}
	s.now = s.now.Add(time.Hour)
	quota.At = s.now
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("h"), quota)); err != nil {
		t.Fatalf("the next window: %v", err)
	}
	if got := s.state(t, "alice").State.SendWindows; len(got) != 1 || !got[0].Equal(s.now.Truncate(time.Hour).Add(time.Hour)) {
		t.Fatalf("send windows after a send in the next window: %v, want only the current one", got)
	}
	// A day-long window (another channel's) is not ended by the next hour's send.
	day := quota
	day.Window, day.MaxPerUser = 24*time.Hour, 100
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("h"), day)); err != nil {
		t.Fatal(err)
	}
	s.now = s.now.Add(time.Hour)
	quota.At = s.now
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("h"), quota)); err != nil {
		t.Fatal(err)
	}
	got := s.state(t, "alice").State.SendWindows
	if !slices.ContainsFunc(got, func(end time.Time) bool { return end.Equal(day.At.Truncate(24 * time.Hour).Add(24 * time.Hour)) }) {
		t.Errorf("the day's window was removed by an hour's send: %v", got)
	}
}

// The state and the destination's count are written at once; when only one of them takes the
// send, the other is undone: a code the destination's cap refused is withdrawn (its count on
// the user given back, the withdrawal audited), and a destination count taken for a send the
// user's limits refused is given back.
func TestOneSidedSendIsUndone(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	q := func(uid, dest string, maxUser, maxDest int) mfa.SendQuota {
		return mfa.SendQuota{UserID: uid, DestinationKey: dest, Window: time.Hour, MaxPerUser: maxUser, MaxPerDest: maxDest, At: s.now}
	}
	// alice takes the only send dest-w allows; bob's send to it is refused by the destination.
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "alice"), "f1", []byte("a"), q("alice", "dest-w", 5, 1))); err != nil {
		t.Fatal(err)
	}
	before := s.auditCount(t, "bob")
	c := s.openChallenge(t, "bob")
	var le *mfa.LimitError
	if err := s.store.RecordDelivery(ctx, s.delivery(c, "f1", []byte("b"), q("bob", "dest-w", 1, 1))); !errors.As(err, &le) || le.Limit != "destination" {
		t.Fatalf("send past the destination's cap: %v", err)
	}
	if v, err := s.store.LoadVerification(ctx, c); err != nil || v.Code != nil {
		t.Fatalf("the refused send left a code: %+v %v", v.Code, err)
	}
	// Bob's count was given back: his one send an hour is still his.
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "bob"), "f1", []byte("c"), q("bob", "dest-x", 1, 5))); err != nil {
		t.Fatalf("bob's own send after the withdrawal: %v", err)
	}
	if got := s.auditCount(t, "bob") - before; got != 3 {
		t.Fatalf("%d events for bob's two sends, want the refused one's issue and withdrawal and the other's", got)
	}
	evs, _, err := s.store.ListEvents(ctx, "bob", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, mfa.ActionCodeRefused) {
		t.Fatalf("bob's events %v: no withdrawal", actions)
	}

	// carol's cool-down refuses her resend: the destination's count it took is given back,
	// so dave still gets the destination's second send.
	cc := s.openChallenge(t, "carol")
	if err := s.store.RecordDelivery(ctx, s.delivery(cc, "f1", []byte("d"), q("carol", "dest-y", 5, 2))); err != nil {
		t.Fatal(err)
	}
	if err := s.store.RecordDelivery(ctx, s.delivery(cc, "f1", []byte("e"), q("carol", "dest-y", 5, 2))); !errors.As(err, &le) || le.Limit != "cooldown" {
		t.Fatalf("resend inside the cool-down: %v", err)
	}
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "dave"), "f1", []byte("f"), q("dave", "dest-y", 5, 2))); err != nil {
		t.Fatalf("the destination's second send: %v", err)
	}
	if err := s.store.RecordDelivery(ctx, s.delivery(s.openChallenge(t, "erin"), "f1", []byte("g"), q("erin", "dest-y", 5, 2))); !errors.As(err, &le) || le.Limit != "destination" {
		t.Fatalf("the destination's third send: %v", err)
	}
}
