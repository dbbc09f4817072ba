package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/notify"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// TestVerifyColdStartEventIsARealAnswer: the verify function's cold start answers a real
// sign-in (200, an mfaToken), each run with a fresh one, where its sample event — whose
// challenge id no deployment's key signed — answers 404 without doing a verification.
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
