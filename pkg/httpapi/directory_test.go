package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// newCountingEnv is newEnv with every AWS call recorded.
func newCountingEnv(t *testing.T) (*env, *callLog) {
	t.Helper()
	log := &callLog{}
	table := awstest.NewTable(t)
	a, err := app.New(context.Background(), testConfig(t, table), testOptions(app.WithAPIOptions(log.middleware))...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, clock: &clock{t: time.Unix(1_800_000_000, 0).UTC()}, logs: &syncBuffer{}, table: table}
	a.Core.Now = e.clock.Now
	a.Log = httpapi.NewLogger(e.logs, -8)
	a.API.Log = a.Log
	return e, log
}

type dirUser struct {
	UserID          string
	FactorTypes     []string
	MFAEnrolled     bool
	LastChallengeAt string
	LockedUntil     any
	Locked          bool
}

// listUsers calls GET /v1/admin/users with query and returns the page.
func (e *env) listUsers(query map[string]string) ([]dirUser, string, response) {
	e.t.Helper()
	e.query = query
	r := e.do(admin(), "GET /v1/admin/users", nil, nil)
	if r.status != 200 {
		return nil, "", r
	}
	var users []dirUser
	for _, raw := range r.body["users"].([]any) {
		m := raw.(map[string]any)
		u := dirUser{UserID: m["userId"].(string), MFAEnrolled: m["mfaEnrolled"].(bool), LockedUntil: m["lockedUntil"]}
		for _, t := range m["factorTypes"].([]any) {
			u.FactorTypes = append(u.FactorTypes, t.(string))
		}
		u.LastChallengeAt, _ = m["lastChallengeAt"].(string)
		u.Locked = m["lockedUntil"] != nil || m["lockedPermanently"] == true
		users = append(users, u)
	}
	return users, r.str("nextCursor"), r
}

// dynamoCalls takes the recorded calls and fails on any Scan or more than max DynamoDB calls.
func dynamoCalls(t *testing.T, log *callLog, what string, max int) {
	t.Helper()
	n := 0
	for _, c := range log.take() {
		if strings.HasPrefix(c, "DynamoDB.") {
			n++
		}
		if c == "DynamoDB.Scan" {
			t.Errorf("%s: the directory scanned the table", what)
		}
	}
	if n > max {
		t.Errorf("%s: %d DynamoDB round trips, want at most %d", what, n, max)
	}
}

// TestAdminDirectory drives GET /v1/admin/users against moto, every user made by the
// service's own writes: the order, every page's round trips (no Scan), the filters, the
// searches, and paging while the support desk binds factors and new users arrive. (The store
// test TestDirectoryAtScale pages 2,000 users.)
func TestAdminDirectory(t *testing.T) {
	e, log := newCountingEnv(t)
	ctx := context.Background()
	root := mfa.Caller{Kind: mfa.CallerAdmin, Subject: "root"}
	const users = 150
	uid := func(i int) string { return fmt.Sprintf("dir-%04d", i) }

	// Users, each bound a TOTP factor through the service's own admin bind.
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	secrets := map[string]string{}
	errs := make(chan error, users)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				b, err := e.app.Administration.AdminBind(ctx, root, uid(i), mfa.BindRequest{Type: "totp"})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", uid(i), err)
					return
				}
				mu.Lock()
				secrets[uid(i)] = b.TOTP.Secret
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Some users sign in a day later, in a known order: they come first, newest first. (A
	// sign-in is activity when it is answered, a challenge nobody answers stores nothing; and
	// the directory's order moves a user at most once per mfa.DirectoryActivityStep.)
	e.clock.Advance(mfa.DirectoryActivityStep)
	var signedIn []string
	for i := 0; i < 10; i++ {
		e.clock.Advance(time.Second)
		u := uid(i * 13)
		ch := e.challenge(service(), u)
		if r := e.verify(service(), u, ch.str("challengeId"), map[string]any{"type": "totp", "code": codeAt(decodeSecret(t, secrets[u]), e.clock.Now(), 0)}); r.status != 200 {
			t.Fatalf("sign-in: %d %s", r.status, r.raw)
		}
		signedIn = append([]string{u}, signedIn...)
	}
	// Email fallbacks for a few, bound by the admin route.
	emailUsers := map[string]bool{}
	for i := 5; i < users; i += 40 {
		u := uid(i)
		r := e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": u}, map[string]any{"type": "email", "email": u + "@Example.com"})
		if r.status != 201 {
			t.Fatalf("bind email: %d %s", r.status, r.raw)
		}
		emailUsers[u] = true
	}
	log.take()

	t.Run("every user once, newest activity first, two round trips a page", func(t *testing.T) {
		seen := map[string]int{}
		var order []string
		cursor, pages := "", 0
		for {
			q := map[string]string{"limit": "100"}
			if cursor != "" {
				q["cursor"] = cursor
			}
			page, next, r := e.listUsers(q)
			if r.status != 200 {
				t.Fatalf("page %d: %d %s", pages, r.status, r.raw)
			}
			dynamoCalls(t, log, fmt.Sprintf("page %d", pages), 2)
			pages++
			for _, u := range page {
				seen[u.UserID]++
				order = append(order, u.UserID)
				if len(u.FactorTypes) == 0 || !u.MFAEnrolled {
					t.Errorf("%s: %+v", u.UserID, u)
				}
			}
			if next == "" {
				break
			}
			cursor = next
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != users {
			t.Errorf("%d distinct users listed, want %d", len(seen), users)
		}
		for u, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", u, n)
			}
		}
		if len(order) >= len(signedIn) && strings.Join(order[:len(signedIn)], ",") != strings.Join(signedIn, ",") {
			t.Errorf("first users %v, want the signed-in ones newest first %v", order[:len(signedIn)], signedIn)
		}
	})

	t.Run("factor type filter", func(t *testing.T) {
		var page []dirUser
		q := map[string]string{"factorType": "email", "limit": "3"}
		for pages := 0; ; pages++ {
			log.take()
			more, next, r := e.listUsers(q)
			if r.status != 200 || pages > 10 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			dynamoCalls(t, log, "filtered page", 2)
			page = append(page, more...)
			if next == "" {
				break
			}
			q["cursor"] = next
		}
		got := map[string]bool{}
		for _, u := range page {
			got[u.UserID] = true
			if !contains(u.FactorTypes, "email") || !contains(u.FactorTypes, "totp") {
				t.Errorf("%s: types %v", u.UserID, u.FactorTypes)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(emailUsers) {
			t.Errorf("email users %v, want %v", got, emailUsers)
		}
		// Logto's name is accepted; an unknown type is refused.
		if page, _, r := e.listUsers(map[string]string{"factorType": "EmailVerificationCode"}); r.status != 200 || len(page) != len(emailUsers) {
			t.Errorf("Logto type name: %d %d", r.status, len(page))
		}
		if _, _, r := e.listUsers(map[string]string{"factorType": "carrier_pigeon"}); r.status != 400 || r.body["field"] != "factorType" {
			t.Errorf("unknown type: %d %s", r.status, r.raw)
		}
	})

	t.Run("search by email and by user id prefix", func(t *testing.T) {
		log.take()
		page, next, r := e.listUsers(map[string]string{"q": "  DIR-0045@example.COM "})
		if r.status != 200 || next != "" || len(page) != 1 || page[0].UserID != "dir-0045" {
			t.Fatalf("by email: %d %s", r.status, r.raw)
		}
		dynamoCalls(t, log, "email search", 2)
		// A phone number is found in any spelling that parses to the same E.164 number.
		if r := e.do(admin(), "POST /v1/admin/users/{userId}/factors", map[string]string{"userId": uid(77)}, map[string]any{"type": "sms", "phone": "+14155550177"}); r.status != 201 {
			t.Fatalf("bind sms: %d %s", r.status, r.raw)
		}
		log.take()
		page, _, r = e.listUsers(map[string]string{"q": "+1 (415) 555-0177"})
		if r.status != 200 || len(page) != 1 || page[0].UserID != uid(77) || !contains(page[0].FactorTypes, "sms") {
			t.Fatalf("by phone: %d %s", r.status, r.raw)
		}
		dynamoCalls(t, log, "phone search", 2)
		if page, _, _ := e.listUsers(map[string]string{"q": "nobody@example.com"}); len(page) != 0 {
			t.Errorf("unknown address found %v", page)
		}
		// An address is looked up exactly, never by prefix.
		if page, _, _ := e.listUsers(map[string]string{"q": "dir-0045@example.co"}); len(page) != 0 {
			t.Errorf("partial address found %v", page)
		}
		log.take()
		page, next, r = e.listUsers(map[string]string{"q": "dir-01", "limit": "30"})
		if r.status != 200 || len(page) != 30 || next == "" {
			t.Fatalf("prefix: %d %d %q", r.status, len(page), next)
		}
		dynamoCalls(t, log, "prefix page", 2)
		rest, last, _ := e.listUsers(map[string]string{"q": "dir-01", "limit": "30", "cursor": next})
		all := append(page, rest...)
		if last != "" || len(all) != 50 {
			t.Fatalf("prefix dir-01: %d users, next %q", len(all), last)
		}
		for i, u := range all {
			if u.UserID != fmt.Sprintf("dir-01%02d", i) {
				t.Fatalf("prefix result %d is %s", i, u.UserID)
			}
		}
		// A cursor belongs to its listing.
		if _, _, r := e.listUsers(map[string]string{"q": "dir-00", "cursor": next}); r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("cursor of another search: %d %s", r.status, r.raw)
		}
		if _, _, r := e.listUsers(map[string]string{"cursor": next}); r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("prefix cursor on the activity listing: %d %s", r.status, r.raw)
		}
		if _, _, r := e.listUsers(map[string]string{"cursor": "bm90IGEgY3Vyc29y"}); r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("forged cursor: %d %s", r.status, r.raw)
		}
	})

	t.Run("locked filter", func(t *testing.T) {
		victim := uid(123)
		for i := 0; i < mfa.DefaultRegulation.LockAfter; i++ {
			ch := e.challenge(service(), victim)
			if r := e.verify(service(), victim, ch.str("challengeId"), map[string]any{"type": "totp", "code": "000000"}); r.status != 401 {
				t.Fatalf("wrong code: %d %s", r.status, r.raw)
			}
		}
		log.take()
		page, _, r := e.listUsers(map[string]string{"locked": "true"})
		if r.status != 200 || len(page) != 1 || page[0].UserID != victim || !page[0].Locked {
			t.Fatalf("locked: %d %s", r.status, r.raw)
		}
		dynamoCalls(t, log, "locked page", 2)
		if page, _, _ := e.listUsers(map[string]string{"locked": "false", "q": victim}); len(page) != 0 {
			t.Errorf("locked user listed as not locked")
		}
		// The lock runs out by itself: the user is no longer listed as locked.
		e.clock.Advance(time.Hour)
		if page, _, _ := e.listUsers(map[string]string{"locked": "true"}); len(page) != 0 {
			t.Errorf("expired lock still listed: %v", page)
		}
		if _, _, r := e.listUsers(map[string]string{"locked": "maybe"}); r.status != 400 {
			t.Errorf("locked=maybe: %d", r.status)
		}
	})

	t.Run("stable paging while factors are bound and users arrive", func(t *testing.T) {
		stop := make(chan struct{})
		var writers sync.WaitGroup
		var binds atomic.Int64
		for w := 0; w < 2; w++ {
			writers.Add(1)
			go func(w int) {
				defer writers.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// A fallback for an existing user, and a user the service never saw.
					existing := uid((w*997 + i*13) % users)
					if _, err := e.app.Administration.AdminBind(ctx, root, existing, mfa.BindRequest{Type: "email", Email: fmt.Sprintf("c%d-%d@example.com", w, i)}); err != nil {
						t.Errorf("bind: %v", err)
						return
					}
					if _, err := e.app.Administration.AdminBind(ctx, root, fmt.Sprintf("new-%d-%d", w, i), mfa.BindRequest{Type: "totp"}); err != nil {
						t.Errorf("bind: %v", err)
						return
					}
					binds.Add(2)
				}
			}(w)
		}
		seen := map[string]int{}
		cursor := ""
		for pages := 0; ; pages++ {
			q := map[string]string{"limit": "20"}
			if cursor != "" {
				q["cursor"] = cursor
			}
			page, next, r := e.listUsers(q)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			for _, u := range page {
				seen[u.UserID]++
			}
			if next == "" || pages > 100 {
				break
			}
			cursor = next
		}
		close(stop)
		writers.Wait()
		if binds.Load() == 0 {
			t.Fatal("no bind ran during the walk")
		}
		for i := 0; i < users; i++ {
			if seen[uid(i)] != 1 {
				t.Errorf("%s listed %d times", uid(i), seen[uid(i)])
			}
		}
		for u, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", u, n)
			}
		}
	})

	t.Run("only admins", func(t *testing.T) {
		for _, as := range []who{user("dir-0001"), service()} {
			r := e.do(as, "GET /v1/admin/users", nil, nil)
			if r.status != 403 || r.str("code") != "admin_scope_required" || strings.Contains(r.raw, "dir-") {
				t.Errorf("%+v: %d %s", as, r.status, r.raw)
			}
		}
		e.query = map[string]string{"sort": "name"}
		if r := e.do(admin(), "GET /v1/admin/users", nil, nil); r.status != 400 {
			t.Errorf("unknown parameter: %d", r.status)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
