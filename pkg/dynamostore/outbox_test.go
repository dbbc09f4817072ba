package dynamostore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// actions pages the user's audit log with the given page size and returns the actions, newest
// first, page by page.
func (s *suite) actions(t *testing.T, uid string, limit int) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for {
		evs, next, err := s.store.ListEvents(context.Background(), uid, limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, e := range evs {
			page = append(page, e.Action)
		}
		pages = append(pages, page)
		if next == "" {
			return pages
		}
		if len(pages) > 10 {
			t.Fatalf("paging does not end: %v", pages)
		}
		cursor = next
	}
}

// TestAnswersEventRidesOnTheStateWrite: an answer writes one item, the user's state, which
// carries its audit event (DESIGN §6.9: the event and the change are one atomic write); the
// log shows the latest at once, merged in its place across pages, and every one once the
// audit writer has copied them from the stream, none twice.
func TestAnswersEventRidesOnTheStateWrite(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	reg := mfa.DefaultRegulation
	f := s.bindTOTP(t, "alice", 0) // enrollment.started, factor.activated: written with their change
	c := s.openChallenge(t, "alice", f.ID)
	for i, action := range []string{"first wrong answer", "second wrong answer"} {
		at := s.now.Add(time.Duration(i+1) * time.Second)
		ev := s.event("alice", action)
		ev.At = at
		if err := s.store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: c.ID, Challenge: use(c), MaxFailures: 5, Open: reg.OpenAt(at), At: at, Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.db.Query(ctx, &dynamoclient.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("pk = :pk"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": &dynamoclient.AttributeValueMemberS{Value: "AUDIT#alice"}},
	})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("audit items before the writer ran: %d, %v: the answers wrote beside the state", len(out.Items), err)
	}
	// Before the copy: the latest answer's event is in the log in its place; the first one,
	// replaced on the state by the second, is not yet. (The binding's two events have the
	// same instant: their order is the log's, either way.)
	binding := []string{mfa.ActionEnrollmentStarted, mfa.ActionFactorActivated}
	got := s.actions(t, "alice", 2)
	if len(got) != 2 || len(got[0]) != 2 || len(got[1]) != 1 || got[0][0] != "second wrong answer" || !sameSet([]string{got[0][1], got[1][0]}, binding) {
		t.Errorf("before the copy: %q, want the second wrong answer then the binding's two events", got)
	}
	if got := s.actions(t, "alice", 1); len(got) != 3 || got[0][0] != "second wrong answer" {
		t.Errorf("pages of one: %q", got)
	}
	if n := s.auditCount(t, "alice"); n != 4 { // copies first
		t.Fatalf("%d audit items after the copy, want 4", n)
	}
	got = s.actions(t, "alice", 2)
	if len(got) != 2 || !equalPages(got[:1], [][]string{{"second wrong answer", "first wrong answer"}}) || !sameSet(got[1], binding) {
		t.Errorf("after the copy: %q, want both answers then the binding (the pending event is not shown twice)", got)
	}
	if got := s.actions(t, "bob", 2); !equalPages(got, [][]string{nil}) {
		t.Errorf("another user's log: %q", got)
	}
}

func equalPages(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
