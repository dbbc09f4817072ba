package app_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// calls records every AWS call as "Service.Operation".
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops = append(c.ops, awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx))
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// A cold start on a table whose keys exist reads the wrapped data key and the signing keys
// with one Query, then unwraps the data key with one KMS Decrypt: two round trips in a row,
// and the keys it loads are the ones the first container created.
func TestColdStartReadsKeysWithOneQueryAndOneDecrypt(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-service", MFATokenAudience: "mfa-apps", MFATokenTTL: 5 * time.Minute, AuditRetention: 24 * time.Hour,
	}
	awsCfg := awstest.Config(t)
	load := app.WithAWSConfig(func(context.Context) (aws.Config, error) { return awsCfg, nil })
	first, err := app.New(ctx, cfg, load)
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{}
	later, err := app.New(ctx, cfg, load, app.WithAPIOptions(c.middleware))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"DynamoDB.Query", "KMS.Decrypt"}; !slices.Equal(c.ops, want) {
		t.Errorf("cold start calls %v, want %v", c.ops, want)
	}
	if later.Signer.KID() != first.Signer.KID() || string(later.Signer.JWKS()) != string(first.Signer.JWKS()) {
		t.Error("a later cold start loaded another signing key")
	}
	sealed, err := first.Service.Sealer.Seal([]byte("secret"), "u", "f")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := later.Service.Sealer.Open(sealed, "u", "f"); err != nil || string(got) != "secret" {
		t.Errorf("a later cold start cannot open what the first sealed: %q %v", got, err)
	}
}

// A function that decides by the policy on every request reads it at cold start, alongside
// the keys (one DynamoDB read more, at the same time as the key Query), and its first
// request finds it cached; a function without the warm-up reads no policy at init.
func TestPolicyWarmUpReadsThePolicyAtInit(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-service", MFATokenAudience: "mfa-apps", MFATokenTTL: 5 * time.Minute, AuditRetention: 24 * time.Hour,
	}
	awsCfg := awstest.Config(t)
	load := app.WithAWSConfig(func(context.Context) (aws.Config, error) { return awsCfg, nil })
	if _, err := app.New(ctx, cfg, load); err != nil { // creates the keys
		t.Fatal(err)
	}

	c := &calls{}
	a, err := app.New(ctx, cfg, load, app.WithAPIOptions(c.middleware), app.WithPolicyWarmUp())
	if err != nil {
		t.Fatal(err)
	}
	init := slices.Clone(c.ops)
	slices.Sort(init)
	if want := []string{"DynamoDB.GetItem", "DynamoDB.Query", "KMS.Decrypt"}; !slices.Equal(init, want) {
		t.Errorf("cold start calls %v, want %v (in any order)", init, want)
	}
	c.ops = nil
	if _, err := a.Service.Policy(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if len(c.ops) != 0 {
		t.Errorf("the first policy read after a warm-up called %v", c.ops)
	}

	c.ops = nil
	if _, err := app.New(ctx, cfg, load, app.WithAPIOptions(c.middleware)); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.ops, "DynamoDB.GetItem") {
		t.Errorf("a function without the warm-up read the policy at init: %v", c.ops)
	}
}

// Cold starts racing on a new table, each with its one-Query read of the keys finding none,
// agree on one data key and one signing key: the losers of each conditional create read the
// winner's key back.
func TestConcurrentFirstColdStartsAgreeOnTheKeys(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-service", MFATokenAudience: "mfa-apps", MFATokenTTL: 5 * time.Minute, AuditRetention: 24 * time.Hour,
	}
	awsCfg := awstest.Config(t)
	load := app.WithAWSConfig(func(context.Context) (aws.Config, error) { return awsCfg, nil })
	const starts = 6
	apps := make([]*app.App, starts)
	errs := make([]error, starts)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			apps[i], errs[i] = app.New(ctx, cfg, load)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	sealed, err := apps[0].Service.Sealer.Seal([]byte("secret"), "u", "f")
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range apps {
		if a.Signer.KID() != apps[0].Signer.KID() {
			t.Errorf("start %d signs with key %s, start 0 with %s", i, a.Signer.KID(), apps[0].Signer.KID())
		}
		if got, err := a.Service.Sealer.Open(sealed, "u", "f"); err != nil || string(got) != "secret" {
			t.Errorf("start %d cannot open what start 0 sealed: %v", i, err)
		}
	}
}
