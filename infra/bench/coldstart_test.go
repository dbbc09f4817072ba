package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/notify"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// TestVerifyColdStartEventIsARealAnswer: the verify function's and the Cognito verify
// trigger's cold starts answer a real sign-in (200 with an mfaToken; answerCorrect), each run
// a fresh one, where their sample events — whose challenge ids no deployment's key signed —
// are refused without a verification.
func TestVerifyColdStartEventIsARealAnswer(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-bench", MFATokenAudience: "app", MFATokenTTL: 5 * time.Minute,
		TOTPIssuer: "Bench", AuditRetention: time.Hour,
	}
	// No email goes out in a TOTP sign-in: the sender needs no SES identity.
	a, err := app.New(ctx, cfg, append(fullstack.Options(), fullstack.WithNotify(notify.Config{Sender: "mfa@example.com"}))...)
	if err != nil {
		t.Fatal(err)
	}
	prepare := verifyColdStartEvent(a)
	seen := map[string]bool{}
	for range 2 {
		b, err := prepare.make()
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		if seen[ev.PathParameters["userId"]] {
			t.Fatalf("two runs answer for the same user %s: the second would replay its time step", ev.PathParameters["userId"])
		}
		seen[ev.PathParameters["userId"]] = true
		out, err := call(a.API.Verify(), ev, 200)
		if err != nil {
			t.Fatal(err)
		}
		if str(out, "mfaToken") == "" {
			t.Fatalf("no mfaToken: %v", out)
		}
	}
	// The Cognito verify trigger: the same, through its sample event's shape.
	cognitoSample, err := os.ReadFile(filepath.Join("..", "..", "events", "cognito-verify.json"))
	if err != nil {
		t.Fatal(err)
	}
	triggers := &cognito.Triggers{Service: cognito.Services{Decider: a.Challenges.Decider, Challenges: a.Challenges, Deliveries: a.Deliveries, Verifications: a.Verifications}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	prepareCognito := cognitoVerifyColdStartEvent(a, cognitoSample)
	for range 2 {
		b, err := prepareCognito.make()
		if err != nil {
			t.Fatal(err)
		}
		var ev events.CognitoEventUserPoolsVerifyAuthChallenge
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		out, err := triggers.Verify(ctx, ev)
		if err != nil || !out.Response.AnswerCorrect {
			t.Fatalf("the Cognito cold start's answer: %+v, %v; want correct", out.Response, err)
		}
	}
	var stale events.CognitoEventUserPoolsVerifyAuthChallenge
	if err := json.Unmarshal(cognitoSample, &stale); err != nil {
		t.Fatal(err)
	}
	if out, err := triggers.Verify(ctx, stale); err != nil || out.Response.AnswerCorrect {
		t.Fatalf("the Cognito sample event: %+v, %v (if it now answers for real, the bench could use it again)", out.Response, err)
	}

	sample, err := os.ReadFile(filepath.Join("..", "..", "events", "verify-totp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	if _, err := call(a.API.Verify(), ev, 404); err != nil {
		t.Fatalf("the sample event: %v (if it now answers for real, the bench could use it again)", err)
	}
}

// The comparison table names each compared function with both builds' figures, and is left
// out when nothing was compared.
func TestRenderComparison(t *testing.T) {
	var none strings.Builder
	renderComparison(&none, []ColdStartResult{{Function: "verify", MedianMs: 50}})
	if none.Len() != 0 {
		t.Errorf("printed %q without a compared build", none.String())
	}
	var out strings.Builder
	renderComparison(&out, []ColdStartResult{
		{Function: "verify", MedianMs: 57.8, ExclAWSMedianMs: 31, PageFaults: 998,
			Compared: &ComparedStart{Binary: "/tmp/old/verify", MedianMs: 55.1, ExclAWSMedianMs: 27.6, PageFaults: 739, Outcome: "HTTP 200"}},
		{Function: "ui", MedianMs: 19},
		{Function: "jwks", Error: "boom", Compared: &ComparedStart{Binary: "/tmp/old/jwks"}},
	})
	got := out.String()
	for _, want := range []string{"57.8 → 55.1 ms", "31.0 → 27.6 ms", "998 → 739", "HTTP 200", "/tmp/old/verify"} {
		if !strings.Contains(got, want) {
			t.Errorf("comparison lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "jwks") || strings.Contains(got, "\nui") {
		t.Errorf("comparison lists a function without a measured comparison:\n%s", got)
	}
}
