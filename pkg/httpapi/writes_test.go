package httpapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
)

// writeLog records the items of every write: a TransactWriteItems call's, or 1 for an
// UpdateItem (an answer that writes only the user's state).
type writeLog struct {
	mu    sync.Mutex
	items []int
}

func (l *writeLog) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countItems",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			n := 0
			switch w := in.Parameters.(type) {
			case *dynamoclient.TransactWriteItemsInput:
				n = len(w.TransactItems)
			case *dynamoclient.UpdateItemInput:
				n = 1
			}
			if n > 0 {
				l.mu.Lock()
				l.items = append(l.items, n)
				l.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (l *writeLog) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.items
	l.items = nil
	return out
}

// A success remembers the sign-in's device and address for adaptive MFA only when they are
// new or were last remembered long ago: the usual device writes nothing for them.
func TestSuccessRemembersContextOnlyWhenNew(t *testing.T) {
	log := &writeLog{}
	table := awstest.NewTable(t)
	a, err := app.New(context.Background(), testConfig(t, table), testOptions(app.WithAPIOptions(log.middleware))...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, clock: &clock{t: time.Unix(1_800_000_000, 0).UTC()}, logs: &syncBuffer{}, table: table}
	a.Core.Now = e.clock.Now
	a.API.Log = httpapi.NewLogger(e.logs, 0)
	u := e.enrollTOTP(user("carol"), "carol")

	signIn := func(ctx map[string]any) int {
		t.Helper()
		e.clock.Advance(time.Minute)
		ch := e.do(service(), "POST /v1/users/{userId}/challenges", map[string]string{"userId": "carol"}, map[string]any{"context": ctx})
		if ch.status != 201 {
			t.Fatalf("challenge: %d %s", ch.status, ch.raw)
		}
		log.take()
		r := e.verify(service(), "carol", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 0)})
		if r.status != 200 {
			t.Fatalf("verify: %d %s", r.status, r.raw)
		}
		writes := log.take()
		if len(writes) != 1 {
			t.Fatalf("verify made %v writes, want one", writes)
		}
		return writes[0]
	}
	home := map[string]any{"ip": "198.51.100.7", "deviceId": "laptop-1"}
	first := signIn(home)
	again := signIn(home)
	if again != first-2 {
		t.Fatalf("sign-in from a known device and address: %d items, the first %d: want 2 fewer", again, first)
	}
	if moved := signIn(map[string]any{"ip": "203.0.113.9", "deviceId": "laptop-1"}); moved != again+1 {
		t.Fatalf("new address, known device: %d items, want %d", moved, again+1)
	}
	e.clock.Advance(31 * 24 * time.Hour) // both records are due for a refresh
	if stale := signIn(home); stale != first {
		t.Fatalf("after a month: %d items, want %d (device and address recorded again)", stale, first)
	}
}
