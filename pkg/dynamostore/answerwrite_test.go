package dynamostore_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// updateRecorder is the table's client keeping the update expression of the last UpdateItem.
type updateRecorder struct {
	*dynamoclient.Client
	last string
}

func (r *updateRecorder) UpdateItem(ctx context.Context, in *dynamoclient.UpdateItemInput) (*dynamoclient.UpdateItemOutput, error) {
	r.last = aws.ToString(in.UpdateExpression)
	return r.Client.UpdateItem(ctx, in)
}

func n(v int64) dynamoclient.AttributeValue {
	return &dynamoclient.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// rawState reads the user's state item as stored.
func (s *suite) rawState(t *testing.T, uid string) map[string]dynamoclient.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamoclient.GetItemInput{
		TableName: &s.table, ConsistentRead: aws.Bool(true),
		Key: map[string]dynamoclient.AttributeValue{"pk": &dynamoclient.AttributeValueMemberS{Value: "USER#" + uid}, "sk": &dynamoclient.AttributeValueMemberS{Value: "U#STATE"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// The condition the store puts on an answer's write is the domain's lock rule: walked through
// every failure count the rule treats differently, each a moment before and at the end of its
// lock, a success is written exactly when mfa.Regulation.LockAt says the user is not locked.
func TestAnswerWriteFollowsTheLockRule(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	reg := mfa.DefaultRegulation
	counts := []int{0, 1, reg.LockAfter - 1}
	for c := reg.LockAfter; c <= reg.LockAfter+6; c++ {
		counts = append(counts, c)
	}
	counts = append(counts, reg.PermanentAfter-1, reg.PermanentAfter, reg.PermanentAfter+1)
	for _, failures := range counts {
		for _, since := range []time.Duration{reg.LockFor(failures) - time.Millisecond, reg.LockFor(failures)} {
			if since < 0 {
				continue
			}
			uid := "lockrule-" + strconv.Itoa(failures) + "-" + strconv.FormatInt(since.Milliseconds(), 10)
			st := mfa.UserState{ConsecutiveFailures: failures, LastFailureAt: s.now.Add(-since)}
			if _, err := s.db.PutItem(ctx, &dynamoclient.PutItemInput{TableName: &s.table, Item: map[string]dynamoclient.AttributeValue{
				"pk": &dynamoclient.AttributeValueMemberS{Value: "USER#" + uid}, "sk": &dynamoclient.AttributeValueMemberS{Value: "U#STATE"},
				"failures": n(int64(failures)), "lastFailureAt": n(st.LastFailureAt.UnixMilli()),
			}}); err != nil {
				t.Fatal(err)
			}
			c := s.openChallenge(t, uid)
			err := s.store.RecordSuccess(ctx, mfa.Success{UserID: uid, ChallengeID: c.ID, Challenge: use(c), FactorID: newID(), Step: 7, MaxFailures: 5, Open: reg.OpenAt(s.now), At: s.now, Event: s.event(uid, "ok")})
			_, locked := reg.LockAt(st, s.now)
			switch {
			case locked && !errors.Is(err, mfa.ErrLocked):
				t.Errorf("%d failures, the last %s ago: locked by the rule, the write said %v", failures, since, err)
			case !locked && err != nil:
				t.Errorf("%d failures, the last %s ago: open by the rule, the write said %v", failures, since, err)
			}
		}
	}
}

// An answer's write sends only what it changes. A returning user's success that leaves the
// first-seen time, the directory's keys, the failure count and the last factor as they were
// keeps them (and lists the user where they were); the write of the same success without
// those facts sets them. A failure counted between the read the success relied on (no
// failures) and its write then stands: the count errs on the closed side.
func TestAnswerWritesOnlyWhatChanges(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	reg := mfa.DefaultRegulation
	f := s.bindTOTP(t, "alice", 0)
	first := s.openChallenge(t, "alice", f.ID)
	// The first answer: nothing to leave, so it writes all (and moves the user in the directory).
	u := use(first)
	u.MovesInDirectory = true
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: first.ID, Challenge: u, FactorID: f.ID, Step: 1, MaxFailures: 5, Open: reg.OpenAt(s.now), At: s.now, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	before := s.rawState(t, "alice")
	rec := &updateRecorder{Client: s.db}
	s.store = dynamostore.New(rec, s.table, 0)
	for _, a := range []string{"firstSeenAt", "dirPk", "dirSk", "dirUser", "failures", "lastFactorId"} {
		if before[a] == nil {
			t.Fatalf("the first answer did not write %s: %v", a, before)
		}
	}

	later := s.now.Add(time.Minute)
	again := s.openChallenge(t, "alice", f.ID)
	again.CreatedAt = later
	u = use(again)
	u.Settled = true
	// A wrong answer to another challenge lands after the success's read (which found no
	// failures) and before its write.
	other := s.openChallenge(t, "alice", f.ID)
	if err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: other.ID, Challenge: use(other), MaxFailures: 5, Open: reg.OpenAt(later), At: later, Event: s.event("alice", "failed")}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: again.ID, Challenge: u, FactorID: f.ID, Step: 3, MaxFailures: 5, Open: reg.OpenAt(later), At: later, Event: s.event("alice", "ok"), NoFailures: true, SameFactor: true}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"firstSeenAt", "dirPk", "dirSk", "dirUser", "failures", "lastFactorId"} {
		if strings.Contains(rec.last, a) {
			t.Errorf("the write sent %s, which it leaves: %s", a, rec.last)
		}
	}
	after := s.rawState(t, "alice")
	for _, a := range []string{"firstSeenAt", "dirPk", "dirSk", "dirUser", "lastFactorId"} {
		if !equalAttr(before[a], after[a]) {
			t.Errorf("%s changed from %v to %v: the write was to leave it", a, before[a], after[a])
		}
	}
	if !equalAttr(after["failures"], n(1)) {
		t.Errorf("failures = %v: the failure counted after the read must stand", after["failures"])
	}
	if !equalAttr(after["lastVerifiedAt"], n(later.UnixMilli())) || !equalAttr(after["lastChallengeAt"], n(later.UnixMilli())) {
		t.Errorf("lastVerifiedAt %v, lastChallengeAt %v: want the success's %d", after["lastVerifiedAt"], after["lastChallengeAt"], later.UnixMilli())
	}
	if got := s.state(t, "alice"); got.Factors[0].LastStep != 3 {
		t.Errorf("step %d consumed, want 3", got.Factors[0].LastStep)
	}

	// Without those facts the same kind of success sets each: the count is reset, the factor
	// named.
	third := s.openChallenge(t, "alice", f.ID)
	u = use(third)
	u.Settled = true
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: third.ID, Challenge: u, FactorID: f.ID, Step: 5, MaxFailures: 5, Open: reg.OpenAt(later), At: later, Event: s.event("alice", "ok")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.last, "failures = ") || !strings.Contains(rec.last, "lastFactorId = ") || strings.Contains(rec.last, "dirSk") {
		t.Errorf("the write of a settled success that resets: %s", rec.last)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 0 || st.LastFactorID != f.ID {
		t.Errorf("after a success that resets: %+v", st)
	}
}

func equalAttr(a, b dynamoclient.AttributeValue) bool {
	switch x := a.(type) {
	case *dynamoclient.AttributeValueMemberS:
		y, ok := b.(*dynamoclient.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *dynamoclient.AttributeValueMemberN:
		y, ok := b.(*dynamoclient.AttributeValueMemberN)
		return ok && x.Value == y.Value
	}
	return false
}

// A passkey offer's session is stored alone: one put, which an SDK retry of itself does not
// refuse, which another session for the same challenge cannot replace, and which the answer's
// read finds; the user's state is untouched and no event is written.
func TestPasskeySessionStoredAlone(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	before := s.rawState(t, "alice")
	events := s.auditCount(t, "alice")
	c := s.openChallenge(t, "alice", f.ID)
	c.PasskeySession, c.HasPasskeySession = []byte(`{"challenge":"abc"}`), true
	if err := s.store.StorePasskeySession(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.store.StorePasskeySession(ctx, c); err != nil {
		t.Fatalf("the same put again (a retry): %v", err)
	}
	other := c
	other.PasskeySession = []byte(`{"challenge":"forged"}`)
	if err := s.store.StorePasskeySession(ctx, other); !errors.Is(err, mfa.ErrExists) {
		t.Fatalf("another session for the challenge: %v, want ErrExists", err)
	}
	v, err := s.store.LoadVerification(ctx, c)
	if err != nil || string(v.Challenge.PasskeySession) != `{"challenge":"abc"}` {
		t.Fatalf("the answer's read: %q %v", v.Challenge.PasskeySession, err)
	}
	after := s.rawState(t, "alice")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("the state changed: %v → %v", before, after)
	}
	if got := s.auditCount(t, "alice"); got != events {
		t.Errorf("%d audit events after storing a session, %d before", got, events)
	}
}
