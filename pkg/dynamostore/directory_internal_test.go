package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient/dynamoclienttest"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// roundTrips counts the DynamoDB operations a client makes, with the SDK's middleware.
type roundTrips struct {
	mu  sync.Mutex
	ops []string
}

func (r *roundTrips) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countRoundTrips",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.ops = append(r.ops, awsmiddleware.GetOperationName(ctx))
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

// seedUsers writes users' state and factor items as the store's own writes shape them, 25 to
// a BatchWriteItem: 2,000 users one transaction at a time would take minutes in moto. The
// writes that keep these items are tested one by one through the service (pkg/httpapi
// TestAdminDirectory) and in TestDirectoryFollowsWrites.
func seedUsers(t *testing.T, db *dynamoclient.Client, table string, n int, at func(i int) time.Time, uid func(i int) string, withEmail func(i int) bool) {
	t.Helper()
	var batch []dynamoclient.WriteRequest
	flush := func() {
		req := map[string][]dynamoclient.WriteRequest{table: batch}
		for len(req) > 0 {
			out, err := db.BatchWriteItem(t.Context(), &dynamoclient.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				t.Fatal(err)
			}
			req = out.UnprocessedItems
		}
		batch = nil
	}
	put := func(v any) {
		item, err := attributevalue.MarshalMap(v)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, dynamoclient.WriteRequest{PutRequest: &dynamoclient.PutRequest{Item: dynamoclienttest.Item(item)}})
		if len(batch) == 25 {
			flush()
		}
	}
	for i := 0; i < n; i++ {
		u := uid(i)
		st := stateItem{PK: userPK(u), SK: skState, FirstSeenAt: millis(at(i)), FactorCount: 1,
			directoryFields: directoryFields{DirPK: directoryPK, DirSK: activityKey(u, at(i)), DirUser: u, TOTP: 1}}
		if withEmail(i) {
			st.FactorCount, st.Email = 2, 1
			put(newFactorItem(mfa.Factor{ID: fmt.Sprintf("e%025d", i), UserID: u, Type: mfa.TypeEmail, Destination: u + "@example.com", AddressKey: "key-" + u, CreatedAt: at(i)}))
		}
		put(st)
		put(newFactorItem(mfa.Factor{ID: fmt.Sprintf("t%025d", i), UserID: u, Type: mfa.TypeTOTP, CreatedAt: at(i)}))
	}
	if len(batch) > 0 {
		flush()
	}
}

// TestDirectoryAtScale pages 2,000 users: each page is one Query of an index and one
// BatchGetItem (never a Scan), every user comes once in order of activity, filters and
// look-ups hold, and a walk stays exact while factors are bound and new users arrive.
func TestDirectoryAtScale(t *testing.T) {
	rt := &roundTrips{}
	cfg := awstest.Config(t)
	cfg.APIOptions = append(cfg.APIOptions, rt.add)
	db := awstest.DBWith(t, cfg)
	table := awstest.NewTable(t)
	s := New(db, table, 0)
	const users = 2000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	uid := func(i int) string { return fmt.Sprintf("user-%04d", i) }
	// Activity a second apart, with ties every tenth user (broken by user id).
	at := func(i int) time.Time { return base.Add(time.Duration(i/10*10) * time.Second) }
	withEmail := func(i int) bool { return i%50 == 7 }
	seedUsers(t, db, table, users, at, uid, withEmail)
	rt.take()

	page := func(q mfa.DirectoryQuery) ([]mfa.UserState, string) {
		t.Helper()
		rt.take()
		got, next, err := s.ListUsers(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		ops := rt.take()
		if len(ops) > 2 {
			t.Errorf("%+v: %d round trips %v, want at most 2", q, len(ops), ops)
		}
		for _, op := range ops {
			if op == "Scan" {
				t.Errorf("%+v: scanned the table", q)
			}
		}
		return got, next
	}
	walk := func(q mfa.DirectoryQuery, during func()) []string {
		t.Helper()
		var ids []string
		for pages := 0; ; pages++ {
			got, next := page(q)
			for _, st := range got {
				ids = append(ids, st.UserID)
			}
			if during != nil {
				during()
			}
			if next == "" {
				return ids
			}
			if pages > users {
				t.Fatal("paging does not end")
			}
			q.Cursor = next
		}
	}

	t.Run("all users, newest activity first", func(t *testing.T) {
		ids := walk(mfa.DirectoryQuery{Limit: 100}, nil)
		if len(ids) != users {
			t.Fatalf("%d users listed, want %d", len(ids), users)
		}
		for k, id := range ids {
			// Newest first; equal times by user id, descending.
			want := users - 1 - k
			if id != uid(want) {
				t.Fatalf("position %d: %s, want %s", k, id, uid(want))
			}
		}
	})

	t.Run("factor type filter", func(t *testing.T) {
		ids := walk(mfa.DirectoryQuery{Limit: 25, FactorType: mfa.TypeEmail}, nil)
		var want []string
		for i := users - 1; i >= 0; i-- {
			if withEmail(i) {
				want = append(want, uid(i))
			}
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("email users %v, want %v", ids, want)
		}
		if ids := walk(mfa.DirectoryQuery{Limit: 100, FactorType: mfa.TypeSMS}, nil); len(ids) != 0 {
			t.Errorf("sms users %v", ids)
		}
	})

	t.Run("user id prefix and address", func(t *testing.T) {
		ids := walk(mfa.DirectoryQuery{Limit: 40, IDPrefix: "user-12"}, nil)
		if len(ids) != 100 || ids[0] != "user-1200" || ids[99] != "user-1299" {
			t.Errorf("prefix: %d %v", len(ids), ids)
		}
		got, next := page(mfa.DirectoryQuery{Limit: 25, AddressKey: "key-" + uid(1257)})
		if len(got) != 1 || got[0].UserID != uid(1257) || next != "" || got[0].TypeCounts[mfa.TypeEmail] != 1 {
			t.Errorf("address: %+v %q", got, next)
		}
	})

	t.Run("exact under concurrent binds and new users", func(t *testing.T) {
		var n atomic.Int64
		during := func() {
			// Between pages: the support desk binds a fallback for users on pages already
			// read and not yet read, and users the service never saw arrive.
			for k := 0; k < 3; k++ {
				i := int(n.Add(1))
				u := uid((i * 389) % users)
				f := mfa.Factor{ID: fmt.Sprintf("c%025d", i), UserID: u, Type: mfa.TypeSMS, Destination: fmt.Sprintf("+1415555%04d", i), AddressKey: fmt.Sprint("k", i), CreatedAt: base.Add(time.Hour)}
				if err := s.ActivateFactor(t.Context(), mfa.Activation{Factor: f, Event: mfa.AuditEvent{UserID: u, Action: mfa.ActionFactorActivated, Actor: "admin:root", Outcome: "ok", At: base.Add(time.Hour)}}); err != nil {
					t.Fatal(err)
				}
				nu := fmt.Sprintf("new-%d", i)
				f = mfa.Factor{ID: fmt.Sprintf("n%025d", i), UserID: nu, Type: mfa.TypeTOTP, CreatedAt: base.Add(time.Hour)}
				if err := s.ActivateFactor(t.Context(), mfa.Activation{Factor: f, Event: mfa.AuditEvent{UserID: nu, Action: mfa.ActionFactorActivated, Actor: "admin:root", Outcome: "ok", At: base.Add(time.Hour)}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The listing starts before the writes: every user it started with, exactly once.
		ids := walk(mfa.DirectoryQuery{Limit: 100}, during)
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for i := 0; i < users; i++ {
			if seen[uid(i)] != 1 {
				t.Errorf("%s listed %d times", uid(i), seen[uid(i)])
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("%s listed %d times", id, c)
			}
		}
		if n.Load() == 0 {
			t.Fatal("no write ran during the walk")
		}
		// The bound SMS factors show in the filter.
		if ids := walk(mfa.DirectoryQuery{Limit: 100, FactorType: mfa.TypeSMS}, nil); len(ids) == 0 {
			t.Error("the SMS factors bound during the walk are not in the directory")
		}
	})

	t.Run("cursors", func(t *testing.T) {
		_, next := page(mfa.DirectoryQuery{Limit: 10})
		for _, q := range []mfa.DirectoryQuery{
			{Limit: 10, Cursor: next, IDPrefix: "user-1"}, // another listing's cursor
			{Limit: 10, Cursor: "e30"},                    // {}
			{Limit: 10, Cursor: "not base64!"},            // garbage
			{Limit: 10, Cursor: encodeCursor(directoryCursor{Index: indexByActivity, Sort: "0000000000000#other", User: "user-1"})}, // sort key of another user
			{Limit: 10, Cursor: next, AddressKey: "k"}, // a look-up is one page
		} {
			if _, _, err := s.ListUsers(t.Context(), q); err != mfa.ErrBadCursor {
				t.Errorf("%+v: %v, want ErrBadCursor", q, err)
			}
		}
	})
}

// TestDirectoryFollowsWrites checks that the writes that change a user keep the directory
// true: a bind puts the user in (without moving a known one), a challenge moves them to the
// top, removal and reset keep the type counters exact.
func TestDirectoryFollowsWrites(t *testing.T) {
	db := awstest.DB(t)
	s := New(db, awstest.NewTable(t), 0)
	ctx := t.Context()
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	ev := func(u string, at time.Time) mfa.AuditEvent {
		return mfa.AuditEvent{UserID: u, Action: mfa.ActionFactorActivated, Actor: "admin:root", Outcome: "ok", At: at}
	}
	bind := func(u, id string, typ mfa.FactorType, at time.Time) mfa.Factor {
		f := mfa.Factor{ID: id, UserID: u, Type: typ, CreatedAt: at}
		if typ == mfa.TypeEmail {
			f.Destination, f.AddressKey = u+"@example.com", "addr-"+u
		}
		if err := s.ActivateFactor(ctx, mfa.Activation{Factor: f, Event: ev(u, at)}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	order := func() []string {
		got, _, err := s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, st := range got {
			ids = append(ids, st.UserID)
		}
		return ids
	}
	bind("ann", "a0000000000000000000000001", mfa.TypeTOTP, t0)
	bind("bob", "b0000000000000000000000001", mfa.TypeTOTP, t0.Add(time.Minute))
	if got := strings.Join(order(), ","); got != "bob,ann" {
		t.Fatalf("order %s", got)
	}
	// A second factor does not move ann; her email is found by its key.
	email := bind("ann", "a0000000000000000000000002", mfa.TypeEmail, t0.Add(time.Hour))
	if got := strings.Join(order(), ","); got != "bob,ann" {
		t.Fatalf("after a bind: %s", got)
	}
	got, _, err := s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 10, AddressKey: "addr-ann"})
	if err != nil || len(got) != 1 || got[0].TypeCounts[mfa.TypeEmail] != 1 || got[0].TypeCounts[mfa.TypeTOTP] != 1 {
		t.Fatalf("by address: %+v %v", got, err)
	}
	// An answered challenge is activity (a challenge answered by nobody stores nothing):
	// ann moves to the top, at the time the challenge opened.
	c := mfa.Challenge{ID: "c0000000000000000000000001", UserID: "ann", Purpose: "sign_in", Status: mfa.ChallengeOpen, CreatedAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(3 * time.Hour)}
	answer := func(c mfa.Challenge, moves bool) {
		t.Helper()
		at := c.CreatedAt.Add(time.Minute)
		u := mfa.ChallengeUse{ID: c.ID, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, MovesInDirectory: moves}
		if err := s.RecordFailure(ctx, mfa.Failure{UserID: c.UserID, ChallengeID: c.ID, Challenge: u, MaxFailures: 5, Open: mfa.DefaultRegulation.OpenAt(at), At: at, Event: ev(c.UserID, at)}); err != nil {
			t.Fatal(err)
		}
	}
	// An answer that does not move (the user moved within the day) leaves the order, and
	// the index key, as it was; the state still has the exact time.
	answer(mfa.Challenge{ID: "c0000000000000000000000009", UserID: "ann", CreatedAt: t0.Add(90 * time.Minute), ExpiresAt: t0.Add(3 * time.Hour)}, false)
	if got := strings.Join(order(), ","); got != "bob,ann" {
		t.Fatalf("after an answer in place: %s", got)
	}
	if p, _ := s.LoadProfile(ctx, "ann"); !p.State.LastChallengeAt.Equal(t0.Add(90*time.Minute)) || !p.State.ListedAt.Equal(t0) {
		t.Fatalf("state after an answer in place: %+v", p.State)
	}
	answer(c, true)
	if got := strings.Join(order(), ","); got != "ann,bob" {
		t.Fatalf("after an answered challenge: %s", got)
	}
	if p, _ := s.LoadProfile(ctx, "ann"); !p.State.ListedAt.Equal(c.CreatedAt) {
		t.Fatalf("listed at %v, want %v", p.State.ListedAt, c.CreatedAt)
	}
	// A user who was only challenged (never enrolled) is known too, with no factor type: the
	// first challenge of a user never seen records the first contact.
	c = mfa.Challenge{ID: "c0000000000000000000000002", UserID: "cat", Purpose: "sign_in", Status: mfa.ChallengeOpen, CreatedAt: t0.Add(150 * time.Minute), ExpiresAt: t0.Add(3 * time.Hour)}
	if err := s.OpenChallenge(ctx, c, "", ev("cat", c.CreatedAt)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order(), ","); got != "cat,ann,bob" {
		t.Fatalf("after a first challenge: %s", got)
	}
	if got, _, err := s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 10, IDPrefix: "cat"}); err != nil || len(got) != 1 || len(got[0].TypeCounts) != 0 || !got[0].LastChallengeAt.Equal(c.CreatedAt) {
		t.Fatalf("challenged user: %+v %v", got, err)
	}
	// Removing the email factor: no longer an email user, no longer found by the address.
	if err := s.DeleteFactor(ctx, email, ev("ann", t0.Add(3*time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 10, FactorType: mfa.TypeEmail}); len(got) != 0 {
		t.Fatalf("email filter after removal: %+v", got)
	}
	if got, _, _ := s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 10, AddressKey: "addr-ann"}); len(got) != 0 {
		t.Fatalf("address after removal: %+v", got)
	}
	// Backup codes count as a type; a reset clears every counter but keeps the user listed.
	set := mfa.Factor{ID: "a0000000000000000000000003", UserID: "ann", Type: mfa.TypeBackupCodes, BackupCodes: []string{"h1"}, CreatedAt: t0}
	if err := s.ReplaceBackupCodes(ctx, set, true, ev("ann", t0.Add(4*time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	p, err := s.LoadProfile(ctx, "ann")
	if err != nil || p.State.TypeCounts[mfa.TypeBackupCodes] != 1 || p.State.TypeCounts[mfa.TypeTOTP] != 1 || len(p.State.TypeCounts) != 2 {
		t.Fatalf("counts %+v %v", p.State.TypeCounts, err)
	}
	if err := s.ResetUser(ctx, p, ev("ann", t0.Add(5*time.Hour))); err != nil {
		t.Fatal(err)
	}
	got, _, err = s.ListUsers(ctx, mfa.DirectoryQuery{Limit: 10, IDPrefix: "ann"})
	if err != nil || len(got) != 1 || len(got[0].TypeCounts) != 0 {
		t.Fatalf("after reset: %+v %v", got, err)
	}
}
