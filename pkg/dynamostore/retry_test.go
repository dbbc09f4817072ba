package dynamostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// resendingDB sends every UpdateItem twice and answers the second: what an SDK retry does
// when a write went through but its answer was lost with the connection.
type resendingDB struct{ *dynamoclient.Client }

func (r resendingDB) UpdateItem(ctx context.Context, in *dynamoclient.UpdateItemInput) (*dynamoclient.UpdateItemOutput, error) {
	if _, err := r.Client.UpdateItem(ctx, in); err != nil {
		return nil, err
	}
	return r.Client.UpdateItem(ctx, in)
}

// An answer whose write is sent again is recorded once and succeeds: a right answer is not
// refused by its own first attempt, a wrong one is not counted twice, a refusal not throttled
// by itself. (Transactions are idempotent by their ClientRequestToken.)
func TestAnswerWriteSentTwiceCountsOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	f := s.bindTOTP(t, "alice", 0)
	resent := dynamostore.New(resendingDB{s.db}, s.table, 0)
	reg := mfa.DefaultRegulation

	c := s.openChallenge(t, "alice", f.ID)
	if err := resent.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), MaxFailures: 5, Open: reg.OpenAt(s.now), At: s.now, Event: s.event("alice", "wrong")}); err != nil {
		t.Fatalf("a wrong answer sent twice: %v", err)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 1 || len(st.Tallies) != 1 || st.Tallies[0].Failures != 1 {
		t.Fatalf("a wrong answer sent twice counted %d failures (tally %+v), want 1", st.ConsecutiveFailures, st.Tallies)
	}
	at := s.now.Add(time.Second)
	if err := resent.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 5, MaxFailures: 5, Open: reg.OpenAt(at), At: at, Event: s.event("alice", "right")}); err != nil {
		t.Fatalf("a right answer sent twice: %v", err)
	}
	if st := s.state(t, "alice").State; st.ConsecutiveFailures != 0 || !st.LastVerifiedAt.Equal(at) {
		t.Fatalf("after the right answer: %+v", st)
	}
	ev := s.event("alice", mfa.ActionVerificationRefused)
	if err := resent.RecordRefusal(ctx, mfa.Refusal{UserID: "alice", Every: time.Minute, At: at, Event: ev}); err != nil {
		t.Fatalf("a refusal's audit sent twice: %v", err)
	}
	// The answer that went through is still used: a new attempt on it is refused.
	if err := s.store.RecordSuccess(ctx, mfa.Success{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), FactorID: f.ID, Step: 6, MaxFailures: 5, Open: reg.OpenAt(at), At: at, Event: s.event("alice", "again")}); err == nil {
		t.Fatal("the used challenge took another answer")
	}
	if n := s.auditCount(t, "alice"); n != 2+3 { // binding's two, then wrong, right, refused
		t.Errorf("%d audit events, want 5", n)
	}
}

var _ = awstest.Config
