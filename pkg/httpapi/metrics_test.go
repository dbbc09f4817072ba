package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mfa-service/mfa/pkg/awstest"
)

// recordedMetrics keeps what the service counted, by name and dimensions.
type recordedMetrics struct {
	mu     sync.Mutex
	counts map[string]int
}

func (r *recordedMetrics) Count(name string, dims map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := name
	for _, k := range []string{"FactorType", "Outcome", "Channel", "Limit", "Permanent"} {
		if v, ok := dims[k]; ok {
			key += " " + k + "=" + v
		}
	}
	r.counts[key]++
}

func TestOperatorMetrics(t *testing.T) {
	e := newEnv(t)
	m := &recordedMetrics{counts: map[string]int{}}
	e.app.Core.Metrics = m
	alice := user("alice")
	u := e.enrollTOTP(alice, "alice")
	e.clock.Advance(time.Minute)
	e.signIn(alice, u, 0)
	cid := e.challenge(alice, "alice").str("challengeId")
	for i := 0; i < 5; i++ {
		e.verify(alice, "alice", cid, map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 5)})
	}
	e.verify(alice, "alice", e.challenge(alice, "alice").str("challengeId"), map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), 1)})
	fid, _ := e.enrollEmail(user("bob"), "bob", "bob-metrics@example.com")
	bc := e.challenge(user("bob"), "bob").str("challengeId")
	e.deliver(user("bob"), "bob", bc, fid)
	e.deliver(user("bob"), "bob", bc, fid) // inside the cool-down

	want := map[string]int{
		"Verifications FactorType=totp Outcome=success": 1,
		"Verifications FactorType=totp Outcome=failure": 5,
		"Verifications FactorType=totp Outcome=locked":  1,
		"Lockouts Permanent=false":                      1,
		"CodesSent Channel=email":                       2, // enrollment + delivery
	}
	for k, n := range want {
		if m.counts[k] != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, m.counts[k], n, m.counts)
		}
	}
}

// Lambda's request id is on a failure's line, where Lambda's own records of the invocation
// (kept at SystemLogLevel WARN) can be found with it, and on no other: there it would join
// nothing.
func TestRequestLogCarriesLambdaRequestIDOnFailures(t *testing.T) {
	e := newEnv(t)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-42"})
	h := handlersByRoute["GET /.well-known/jwks.json"](e.app.API)
	if _, err := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /.well-known/jwks.json"}); err != nil {
		t.Fatal(err)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"status":200`) || strings.Contains(logs, "lambdaRequestId") {
		t.Fatalf("a successful request's line: %s", logs)
	}
	// The store is gone: the answer is 503, its line an error's.
	if _, err := dynamodb.NewFromConfig(awstest.Config(t)).DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &e.table}); err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/users/{userId}/factors", PathParameters: map[string]string{"userId": "alice"}}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}}
	resp, err := handlersByRoute[ev.RouteKey](e.app.API)(ctx, ev)
	if err != nil || resp.StatusCode < 500 {
		t.Fatalf("store down: %d %v", resp.StatusCode, err)
	}
	last := strings.TrimSpace(e.logs.String())
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.Contains(last, `"level":"ERROR"`) || !strings.Contains(last, `"lambdaRequestId":"lambda-req-42"`) {
		t.Fatalf("a failure's line without the Lambda request id: %s", last)
	}
}
