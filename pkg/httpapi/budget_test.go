package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/passkey/passkeytest"
)

// callLog records every AWS API call the service makes, as "Service.Operation", marked
// "∥ " when it was made while another call was in flight (no round trip of its own).
type callLog struct {
	mu       sync.Mutex
	calls    []string
	inflight int
}

func (l *callLog) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			l.mu.Lock()
			op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			if l.inflight > 0 {
				op = "∥ " + op
			}
			l.calls = append(l.calls, op)
			l.inflight++
			l.mu.Unlock()
			defer func() { l.mu.Lock(); l.inflight--; l.mu.Unlock() }()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// peek is the calls since the last take, left in the log.
func (l *callLog) peek() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// TestRoundTripBudgets proves DESIGN §8: verify, challenge and enrollment completion each make
// at most two DynamoDB round trips, and no warm request calls KMS.
func TestRoundTripBudgets(t *testing.T) {
	log := &callLog{}
	table := awstest.NewTable(t)
	cfg := testConfig(t, table)
	cfg.RPID, cfg.RPName, cfg.Origins = "example.com", "Example", []string{budgetOrigin}
	a, err := app.New(context.Background(), cfg, testOptions(app.WithAPIOptions(log.middleware))...)
	if err != nil {
		t.Fatal(err)
	}
	coldStart := log.take()
	kmsAtColdStart := 0
	for _, c := range coldStart {
		if strings.HasPrefix(c, "KMS.") {
			kmsAtColdStart++
		}
	}
	if kmsAtColdStart != 1 {
		t.Errorf("cold start made %d KMS calls (%v), want exactly 1", kmsAtColdStart, coldStart)
	}

	// The policy is read through a per-container cache refreshed once a minute: warm it, as
	// any request after the first would find it.
	if _, err := a.Core.Policy(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	log.take()
	e := &env{t: t, app: a, clock: &clock{t: time.Unix(1_800_000_000, 0).UTC()}, logs: &syncBuffer{}, table: table}
	a.Core.Now = e.clock.Now
	a.API.Log = httpapi.NewLogger(e.logs, 0)

	check := func(op string, max int) {
		t.Helper()
		calls := log.take()
		sort.Strings(calls)
		dynamo := 0
		for _, c := range calls {
			switch {
			case strings.HasPrefix(c, "KMS."):
				t.Errorf("%s called KMS on a warm request: %v", op, calls)
			case strings.HasPrefix(c, "DynamoDB."): // a call marked "∥ " overlapped another
				dynamo++
			}
		}
		if dynamo > max {
			t.Errorf("%s: %d DynamoDB round trips %v, budget %d", op, dynamo, calls, max)
		}
		t.Logf("%s: %d round trips %v", op, dynamo, calls)
	}

	r := e.do(user("alice"), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "alice"}, map[string]any{"type": "totp"})
	check("enrollment start", 2)
	secret := decodeSecret(t, r.body["totp"].(map[string]any)["secret"].(string))
	r = e.do(user("alice"), "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "alice", "enrollmentId": r.str("enrollmentId")}, map[string]any{"code": codeAt(secret, e.clock.Now(), 0)})
	if r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.raw)
	}
	check("enrollment complete", 2)
	factorID := r.body["factor"].(map[string]any)["id"].(string)

	e.clock.Advance(time.Minute)
	ch := e.challenge(user("alice"), "alice")
	check("challenge", 2)
	r = e.verify(user("alice"), "alice", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": factorID, "code": codeAt(secret, e.clock.Now(), 0)})
	if r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	check("verify (totp, success)", 2)
	ch = e.challenge(user("alice"), "alice")
	log.take()
	e.verify(user("alice"), "alice", ch.str("challengeId"), map[string]any{"type": "totp", "factorId": factorID, "code": "000000"})
	check("verify (totp, wrong code)", 2)
	e.do(who{}, "GET /.well-known/jwks.json", nil, nil)
	check("jwks", 1)

	// An email user: a code sent by its own route, or with the challenge (its two writes go
	// out together).
	r = e.do(service(), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "bob"}, map[string]any{"type": "email", "email": "bob.budget@example.com", "preVerified": true})
	if r.status != 201 || r.str("status") != "active" {
		t.Fatalf("bind bob's email: %d %s", r.status, r.raw)
	}
	bobFactor := r.body["factor"].(map[string]any)["id"].(string)
	e.clock.Advance(time.Minute)
	ch = e.challenge(user("bob"), "bob")
	log.take()
	if r := e.deliver(user("bob"), "bob", ch.str("challengeId"), bobFactor); r.status != 202 {
		t.Fatalf("delivery: %d %s", r.status, r.raw)
	}
	check("delivery (email)", 2)
	e.clock.Advance(time.Minute)
	r = e.do(user("bob"), "POST /v1/users/{userId}/challenges", map[string]string{"userId": "bob"}, map[string]any{"sendCode": true})
	if r.status != 201 || r.body["delivery"] == nil {
		t.Fatalf("challenge with its code: %d %s", r.status, r.raw)
	}
	check("challenge (email code sent)", 2)

	// A user whose email a service bound, never challenged: binding recorded the user's first
	// contact, so the first challenge, with its code, writes only the send's two writes.
	r = e.do(service(), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "erin"}, map[string]any{"type": "email", "email": "erin.budget@example.com", "preVerified": true})
	if r.status != 201 {
		t.Fatalf("bind erin's email: %d %s", r.status, r.raw)
	}
	erinFactor := r.body["factor"].(map[string]any)["id"].(string)
	e.clock.Advance(time.Minute)
	log.take()
	r = e.do(user("erin"), "POST /v1/users/{userId}/challenges", map[string]string{"userId": "erin"}, map[string]any{"sendCode": true})
	if r.status != 201 || r.body["delivery"] == nil {
		t.Fatalf("erin's first challenge with its code: %d %s", r.status, r.raw)
	}
	check("challenge (never challenged, email code sent)", 2)
	if v := e.verify(user("erin"), "erin", r.str("challengeId"), map[string]any{"type": "email", "factorId": erinFactor, "code": e.lastCode("erin.budget@example.com")}); v.status != 200 {
		t.Fatalf("erin answers: %d %s", v.status, v.raw)
	}
	// Nor does the next plain challenge write anything.
	e.clock.Advance(time.Minute)
	log.take()
	e.challenge(user("erin"), "erin")
	check("challenge (erin, seen)", 1)

	// A passkey user's challenge stores the WebAuthn session alone (one put: no transaction
	// with the user's state, no event), and the passkey answers it.
	auth, err := passkeytest.New()
	if err != nil {
		t.Fatal(err)
	}
	r = e.do(user("dave"), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": "dave"}, map[string]any{"type": "webauthn"})
	if r.status != 201 {
		t.Fatalf("passkey enrollment: %d %s", r.status, r.raw)
	}
	options, _ := json.Marshal(r.body["webauthn"])
	handle, err := passkeytest.UserHandleOf(options)
	if err != nil {
		t.Fatal(err)
	}
	att, err := auth.Register(options, passkeytest.Honest(budgetOrigin, "example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if r = e.do(user("dave"), "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": "dave", "enrollmentId": r.str("enrollmentId")}, map[string]any{"credential": json.RawMessage(att)}); r.status != 200 {
		t.Fatalf("passkey complete: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Minute)
	log.take()
	r = e.challenge(user("dave"), "dave")
	if calls := log.peek(); !slices.Equal(calls, []string{"DynamoDB.Query", "DynamoDB.PutItem"}) {
		t.Errorf("a passkey challenge made %v, want a Query and the session's put", calls)
	}
	check("challenge (passkey)", 2)
	request, _ := json.Marshal(r.body["webauthn"])
	assertion, err := auth.Assert(request, passkeytest.Honest(budgetOrigin, "example.com"), handle)
	if err != nil {
		t.Fatal(err)
	}
	if v := e.verify(user("dave"), "dave", r.str("challengeId"), map[string]any{"type": "webauthn", "credential": json.RawMessage(assertion)}); v.status != 200 {
		t.Fatalf("the passkey answers: %d %s", v.status, v.raw)
	}
	check("verify (passkey)", 2)
}

const budgetOrigin = "https://app.example.com"
