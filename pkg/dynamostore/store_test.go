package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/mfa"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

type suite struct {
	db    *dynamoclient.Client
	table string
	store *dynamostore.Store
	now   time.Time
	audit *awstest.AuditLog
}

func newSuite(t *testing.T) *suite {
	t.Helper()
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	return &suite{db: db, table: table, store: dynamostore.New(db, table, 0), now: time.Now().UTC().Truncate(time.Millisecond), audit: awstest.WithAuditLog(t, table)}
}

func (s *suite) event(uid, action string) mfa.AuditEvent {
	return mfa.AuditEvent{UserID: uid, Action: action, Actor: "user:" + uid, Outcome: "ok", At: s.now}
}

var idSeq atomic.Int64

func newID() string { return fmt.Sprintf("%026d", idSeq.Add(1))[:26] }

// bindTOTP runs enrollment → activation for a factor whose last accepted step is step.
func (s *suite) bindTOTP(t *testing.T, uid string, step int64) mfa.Factor {
	t.Helper()
	ctx := context.Background()
	id := newID()
	e := mfa.Enrollment{ID: id, UserID: uid, Type: mfa.TypeTOTP, Label: "phone", SealedSecret: []byte("sealed"), CreatedAt: s.now, ExpiresAt: s.now.Add(10 * time.Minute)}
	if err := s.store.CreateEnrollment(ctx, e, nil, s.event(uid, mfa.ActionEnrollmentStarted)); err != nil {
		t.Fatal(err)
	}
	f := mfa.Factor{ID: id, UserID: uid, Type: mfa.TypeTOTP, Label: "phone", CreatedAt: s.now, SealedSecret: e.SealedSecret, LastStep: step}
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: id, Event: s.event(uid, mfa.ActionFactorActivated)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// openChallenge is a challenge as the domain opens one that offers no passkey: it is carried
// by its id, and the store sees it first when it is answered.
func (s *suite) openChallenge(t *testing.T, uid string, factors ...string) mfa.Challenge {
	t.Helper()
	c := mfa.Challenge{ID: newID(), UserID: uid, Purpose: "sign_in", Status: mfa.ChallengeOpen, CreatedAt: s.now, ExpiresAt: s.now.Add(10 * time.Minute)}
	for _, id := range factors {
		c.Offered = append(c.Offered, mfa.OfferedFactor{ID: id, Type: mfa.TypeTOTP})
	}
	return c
}

// use is what an answer to c counts on.
func use(c mfa.Challenge) mfa.ChallengeUse {
	return mfa.ChallengeUse{ID: c.ID, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
}

// state reads the user's state (with its tallies) and factors.
func (s *suite) state(t *testing.T, uid string) mfa.Profile {
	t.Helper()
	p, err := s.store.LoadProfile(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// auditCount counts the user's audit items once the audit writer has copied the events that
// rode on state writes.
func (s *suite) auditCount(t *testing.T, uid string) int {
	t.Helper()
	s.audit.Copy(t)
	out, err := s.db.Query(context.Background(), &dynamoclient.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": &dynamoclient.AttributeValueMemberS{Value: "AUDIT#" + uid}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func TestUnknownUserHasEmptyProfile(t *testing.T) {
	s := newSuite(t)
	p, err := s.store.LoadProfile(context.Background(), "nobody")
	if err != nil || len(p.Factors) != 0 || p.State.ConsecutiveFailures != 0 || p.State.UserID != "nobody" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestEnrollmentLifecycle(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 42)

	p, err := s.store.LoadProfile(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Factors) != 1 || p.Factors[0].ID != f.ID || p.Factors[0].LastStep != 42 || p.State.FactorCount != 1 || p.State.FirstSeenAt.IsZero() {
		t.Fatalf("profile after activation: %+v", p)
	}
	if _, _, err := s.store.LoadEnrollment(ctx, "alice", f.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("enrollment survives activation: %v", err)
	}
	// Completing the same enrollment twice (a replayed request) is refused.
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: f.ID, Event: s.event("alice", "x")}); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("second activation: %v, want ErrNotFound", err)
	}
	// Another user sees none of it.
	if p, _ := s.store.LoadProfile(ctx, "bob"); len(p.Factors) != 0 {
		t.Errorf("bob sees alice's factors: %+v", p.Factors)
	}
	if _, err := s.store.GetFactor(ctx, "bob", f.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("bob reads alice's factor by id: %v", err)
	}
	if n := s.auditCount(t, "alice"); n != 2 {
		t.Errorf("audit events = %d, want 2 (started, activated)", n)
	}

	if err := s.store.DeleteFactor(ctx, f, s.event("alice", mfa.ActionFactorRemoved), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.store.DeleteFactor(ctx, f, s.event("alice", mfa.ActionFactorRemoved), nil); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if p, _ := s.store.LoadProfile(ctx, "alice"); len(p.Factors) != 0 || p.State.FactorCount != 0 {
		t.Errorf("after delete: %+v", p)
	}
	if n := s.auditCount(t, "alice"); n != 3 {
		t.Errorf("audit events = %d, want 3: a refused delete writes nothing", n)
	}
}

func TestExpiredEnrollmentCannotBeActivated(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	e := mfa.Enrollment{ID: newID(), UserID: "alice", Type: mfa.TypeTOTP, CreatedAt: s.now.Add(-time.Hour), ExpiresAt: s.now.Add(-time.Minute)}
	if err := s.store.CreateEnrollment(ctx, e, nil, s.event("alice", "x")); err != nil {
		t.Fatal(err)
	}
	f := mfa.Factor{ID: e.ID, UserID: "alice", Type: mfa.TypeTOTP, CreatedAt: s.now}
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: e.ID, Event: s.event("alice", "x")}); !errors.Is(err, mfa.ErrNotFound) {
		t.Fatalf("activation of an expired enrollment: %v", err)
	}
	if p, _ := s.store.LoadProfile(ctx, "alice"); len(p.Factors) != 0 {
		t.Fatal("a factor was written by a cancelled transaction")
	}
}

func TestSecondFactorWithoutStepUpRefusedAtWriteTime(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	s.bindTOTP(t, "alice", 1)
	e := mfa.Enrollment{ID: newID(), UserID: "alice", Type: mfa.TypeTOTP, CreatedAt: s.now, ExpiresAt: s.now.Add(time.Minute)}
	if err := s.store.CreateEnrollment(ctx, e, nil, s.event("alice", "x")); err != nil {
		t.Fatal(err)
	}
	f := mfa.Factor{ID: e.ID, UserID: "alice", Type: mfa.TypeTOTP, CreatedAt: s.now}
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: e.ID, RequireNoFactors: true, Event: s.event("alice", "x")}); !errors.Is(err, mfa.ErrHasFactors) {
		t.Fatalf("got %v, want ErrHasFactors", err)
	}
	// The enrollment was not consumed by the refused transaction; with step-up it completes.
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: e.ID, Event: s.event("alice", "x")}); err != nil {
		t.Fatalf("with step-up: %v", err)
	}
}

func TestRecordSuccessConsumesEachStepOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 100)

	const n = 20
	var ok, reused, other atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c := s.openChallenge(t, "alice", f.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 101, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, mfa.ErrStepReused):
				reused.Add(1)
			default:
				other.Add(1)
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != n-1 {
		t.Fatalf("successes=%d reused=%d, want exactly 1 and %d", ok.Load(), reused.Load(), n-1)
	}
	// The step is kept on the user's state and read with the factor.
	if got := s.state(t, "alice").Factors[0]; got.LastStep != 101 || got.LastUsedAt.IsZero() {
		t.Errorf("factor after success: %+v", got)
	}
	// An older step is refused as well.
	c := s.openChallenge(t, "alice", f.ID)
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 100, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); !errors.Is(err, mfa.ErrStepReused) {
		t.Errorf("older step: %v", err)
	}
}

func TestChallengeAnsweredOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	c := s.openChallenge(t, "alice", f.ID)
	v, err := s.store.LoadVerification(ctx, c)
	if err != nil || v.Challenge.ID != c.ID || len(v.State.Tallies) != 0 || v.Factor(f.ID) == nil || v.Code != nil {
		t.Fatalf("LoadVerification: %+v %v", v, err)
	}
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 5, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 6, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); !errors.Is(err, mfa.ErrChallengeClosed) {
		t.Fatalf("second answer to one challenge: %v", err)
	}
	// The answer recorded the activity and the challenge's tally on the state.
	v, err = s.store.LoadVerification(ctx, c)
	if err != nil || len(v.State.Tallies) != 1 || !v.State.Tallies[0].Used || v.State.Tallies[0].ChallengeID != c.ID || !v.State.LastChallengeAt.Equal(c.CreatedAt) {
		t.Fatalf("after the answer: %+v %v", v.State, err)
	}
}

// TestExpiredTalliesArePruned: the state keeps the tally of a challenge only while it can be
// answered; the next answer's write removes the tallies the domain names as expired.
func TestExpiredTalliesArePruned(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	old := s.openChallenge(t, "alice", f.ID)
	if err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: old.ID, Challenge: use(old), MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "failed")}); err != nil {
		t.Fatal(err)
	}
	if st := s.state(t, "alice").State; len(st.Tallies) != 1 || st.Tallies[0].Failures != 1 || st.ConsecutiveFailures != 1 {
		t.Fatalf("after one failure: %+v", st)
	}
	later := s.now.Add(11 * time.Minute)
	c := mfa.Challenge{ID: newID(), UserID: "alice", CreatedAt: later, ExpiresAt: later.Add(10 * time.Minute)}
	u := use(c)
	u.Expired = []string{old.ID}
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: u, FactorID: f.ID, Step: 7, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(later), At: later, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	if st := s.state(t, "alice").State; len(st.Tallies) != 1 || st.Tallies[0].ChallengeID != c.ID || st.ConsecutiveFailures != 0 {
		t.Fatalf("after the next answer: %+v", st)
	}
}

// A code sent for a challenge that was never answered stays on the state until the challenge
// expired; then the next write removes it (the domain lists it with the expired tallies).
func TestExpiredCodesArePruned(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	quota := mfa.SendQuota{UserID: "alice", DestinationKey: "d", Window: time.Hour, MaxPerUser: 100, MaxPerDest: 100, At: s.now}
	abandoned := s.openChallenge(t, "alice")
	if err := s.store.RecordDelivery(ctx, s.delivery(abandoned, "f1", []byte("old"), quota)); err != nil {
		t.Fatal(err)
	}
	st := s.state(t, "alice").State
	if len(st.Tallies) != 1 || st.Tallies[0].ChallengeID != abandoned.ID || st.Tallies[0].Failures != 0 || st.Tallies[0].Used || st.Tallies[0].ExpiresAt.Before(abandoned.ExpiresAt) || st.Tallies[0].ExpiresAt.After(abandoned.ExpiresAt.Add(time.Second)) {
		t.Fatalf("a challenge sent a code has an empty tally until it expires: %+v", st.Tallies)
	}
	s.now = s.now.Add(11 * time.Minute)
	quota.At = s.now
	c := s.openChallenge(t, "alice")
	d := s.delivery(c, "f1", []byte("new"), quota)
	d.Expired = []string{abandoned.ID}
	if err := s.store.RecordDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if v, err := s.store.LoadVerification(ctx, abandoned); err != nil || v.Code != nil {
		t.Fatalf("the abandoned challenge's code survived: %+v %v", v.Code, err)
	}
	if st := s.state(t, "alice").State; len(st.Tallies) != 1 || st.Tallies[0].ChallengeID != c.ID {
		t.Fatalf("after the next send: %+v", st.Tallies)
	}
}

// TestFailuresCountedExactlyUnderConcurrency: a burst of wrong answers, all read before any
// lock, counts exactly up to the lock and not one past it (DESIGN §6.4): whether the user is
// locked is decided inside the write.
func TestFailuresCountedExactlyUnderConcurrency(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	reg := mfa.DefaultRegulation
	f := s.bindTOTP(t, "alice", 0)
	var challenges []mfa.Challenge
	for range 12 {
		challenges = append(challenges, s.openChallenge(t, "alice", f.ID))
	}
	before := s.auditCount(t, "alice")

	const n = 60
	var counted, locked, closed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: challenges[i%len(challenges)].ID, Challenge: use(challenges[i%len(challenges)]), MaxFailures: 5, Open: reg.OpenAt(s.now), At: s.now, Event: s.event("alice", "failed")})
			switch {
			case err == nil:
				counted.Add(1)
			case errors.Is(err, mfa.ErrLocked):
				locked.Add(1)
			case errors.Is(err, mfa.ErrChallengeClosed):
				closed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := s.state(t, "alice").State
	if counted.Load() != int64(reg.LockAfter) || st.ConsecutiveFailures != reg.LockAfter || locked.Load()+closed.Load() != n-int64(reg.LockAfter) {
		t.Fatalf("counted %d (state %d), locked %d, closed %d: want exactly %d counted", counted.Load(), st.ConsecutiveFailures, locked.Load(), closed.Load(), reg.LockAfter)
	}
	if got := s.auditCount(t, "alice") - before; got != reg.LockAfter {
		t.Errorf("%d failure events for %d counted failures: a refused failure left its event", got, reg.LockAfter)
	}
	if !st.LastFailureAt.Equal(s.now) {
		t.Errorf("lastFailureAt = %v", st.LastFailureAt)
	}
	// A success during the lock is refused and changes nothing.
	c2 := s.openChallenge(t, "alice", f.ID)
	err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c2.ID, Challenge: use(c2), FactorID: f.ID, Step: 9, MaxFailures: 5, Open: reg.OpenAt(s.now.Add(59 * time.Second)), At: s.now.Add(59 * time.Second), Event: s.event("alice", "ok")})
	var le *mfa.LockedError
	if !errors.Is(err, mfa.ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("success during the lock: %v, want ErrLocked with the state", err)
	}
	// The refusal carries the state that refused it: the lock's end needs no second read.
	if le.State.ConsecutiveFailures != reg.LockAfter || !le.State.LastFailureAt.Equal(s.now) {
		t.Errorf("state in the refusal: %+v", le.State)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != reg.LockAfter {
		t.Fatal("a refused success changed the failure count")
	}
	if got := s.state(t, "alice").Factors[0]; got.LastStep != 0 {
		t.Fatal("a refused success consumed the step: the write was half-done")
	}
	// The lock (1 minute at 5 failures) over, one more failure counts and locks again at once:
	// a second burst counts exactly one.
	later := s.now.Add(time.Minute)
	var again atomic.Int64
	for i := range 10 {
		wg.Go(func() {
			if err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: challenges[6+i%6].ID, Challenge: use(challenges[6+i%6]), MaxFailures: 5, Open: reg.OpenAt(later), At: later, Event: s.event("alice", "failed")}); err == nil {
				again.Add(1)
			} else if !errors.Is(err, mfa.ErrLocked) && !errors.Is(err, mfa.ErrChallengeClosed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := s.state(t, "alice").State; again.Load() != 1 || st.ConsecutiveFailures != reg.LockAfter+1 {
		t.Fatalf("after the lock: %d counted, state %d; want exactly one more", again.Load(), st.ConsecutiveFailures)
	}
	// After that lock (2 minutes), a success clears the count.
	done := later.Add(2 * time.Minute)
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c2.ID, Challenge: use(c2), FactorID: f.ID, Step: 9, MaxFailures: 5, Open: reg.OpenAt(done), At: done, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 0 || st.LastFactorID != f.ID {
		t.Fatalf("after success: %+v", st)
	}
}

// TestFailureOnClosedChallengeIsNotCounted: a wrong answer whose challenge closed (answered,
// dead or expired) before the write is refused without touching the user's count.
func TestFailureOnClosedChallengeIsNotCounted(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	open := mfa.DefaultRegulation.OpenAt(s.now)
	f := s.bindTOTP(t, "alice", 0)
	answered := s.openChallenge(t, "alice", f.ID)
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: answered.ID, Challenge: use(answered), FactorID: f.ID, Step: 3, MaxFailures: 5, Open: open, At: s.now, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	expired := mfa.Challenge{ID: newID(), UserID: "alice", Status: mfa.ChallengeOpen, CreatedAt: s.now.Add(-time.Hour), ExpiresAt: s.now.Add(-time.Second)}
	before := s.auditCount(t, "alice")
	for name, c := range map[string]mfa.Challenge{"answered": answered, "expired": expired} {
		if err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), MaxFailures: 5, Open: open, At: s.now, Event: s.event("alice", "failed")}); !errors.Is(err, mfa.ErrChallengeClosed) {
			t.Errorf("%s challenge: %v, want ErrChallengeClosed", name, err)
		}
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 0 {
		t.Errorf("failures on closed challenges were counted: %d", st.ConsecutiveFailures)
	}
	if got := s.auditCount(t, "alice"); got != before {
		t.Errorf("refused failures wrote %d events", got-before)
	}
}

// TestRefusalAuditIsRateLimited: a flood of refused answers writes one audit event per interval.
func TestRefusalAuditIsRateLimited(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	before := s.auditCount(t, "alice")
	refuse := func(at time.Time) error {
		ev := s.event("alice", mfa.ActionVerificationRefused)
		ev.At = at
		return s.store.RecordRefusal(ctx, mfa.Refusal{UserID: "alice", Every: time.Minute, At: at, Event: ev})
	}
	var written, throttled atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			switch err := refuse(s.now); {
			case err == nil:
				written.Add(1)
			case errors.Is(err, mfa.ErrThrottled):
				throttled.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if written.Load() != 1 || throttled.Load() != 19 {
		t.Fatalf("written %d, throttled %d: want 1 and 19", written.Load(), throttled.Load())
	}
	if err := refuse(s.now.Add(59 * time.Second)); !errors.Is(err, mfa.ErrThrottled) {
		t.Errorf("within the minute: %v", err)
	}
	if err := refuse(s.now.Add(time.Minute)); err != nil {
		t.Errorf("a minute later: %v", err)
	}
	if got := s.auditCount(t, "alice") - before; got != 2 {
		t.Errorf("%d refusal events, want 2", got)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 0 {
		t.Errorf("a refusal counted as a failure: %+v", st)
	}
}

func TestExpiredChallengeCannotSucceed(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	c := mfa.Challenge{ID: newID(), UserID: "alice", Offered: []mfa.OfferedFactor{{ID: f.ID, Type: mfa.TypeTOTP}}, Status: mfa.ChallengeOpen, CreatedAt: s.now.Add(-time.Hour), ExpiresAt: s.now.Add(-time.Second)}
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 3, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); !errors.Is(err, mfa.ErrChallengeClosed) {
		t.Fatalf("got %v", err)
	}
}

func TestSigningKeyGenerationsAreCreatedOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	if keys, err := s.store.LoadSigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("%v %v", keys, err)
	}
	wrapped, err := s.store.LoadWrappedKey(ctx)
	if err != nil || wrapped != nil {
		t.Fatalf("fresh table has a data key: %v %v", wrapped, err)
	}
	if created, err := s.store.CreateWrappedKey(ctx, []byte("w1")); !created || err != nil {
		t.Fatal(created, err)
	}
	if created, err := s.store.CreateWrappedKey(ctx, []byte("w2")); created || err != nil {
		t.Fatalf("second data key: created=%v err=%v", created, err)
	}
	if w, _ := s.store.LoadWrappedKey(ctx); string(w) != "w1" {
		t.Fatalf("data key replaced: %q", w)
	}
}
