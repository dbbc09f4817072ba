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
	"github.com/mfa-service/mfa/pkg/seal"
	"github.com/mfa-service/mfa/pkg/token"
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
	cfg, load := newTableAndKey(t)
	first := coldStart(t, cfg, load)
	c := &calls{}
	later := coldStart(t, cfg, load, c.middleware)
	if want := []string{"DynamoDB.Query", "KMS.Decrypt"}; !slices.Equal(c.ops, want) {
		t.Errorf("cold start calls %v, want %v", c.ops, want)
	}
	if later.signer.KID() != first.signer.KID() || string(later.signer.JWKS()) != string(first.signer.JWKS()) {
		t.Error("a later cold start loaded another signing key")
	}
	sealed, err := first.keyring.Seal([]byte("secret"), "u", "f")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := later.keyring.Open(sealed, "u", "f"); err != nil || string(got) != "secret" {
		t.Errorf("a later cold start cannot open what the first sealed: %q %v", got, err)
	}
}

type started struct {
	base    *app.Base
	keyring *seal.Keyring
	signer  *token.Signer
}

// coldStart builds what the functions that sign build: the keyring and the signer.
func coldStart(t *testing.T, cfg app.Config, load func(context.Context) (aws.Config, error), apiOptions ...func(*middleware.Stack) error) started {
	t.Helper()
	s, err := tryColdStart(cfg, load, apiOptions...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryColdStart(cfg app.Config, load func(context.Context) (aws.Config, error), apiOptions ...func(*middleware.Stack) error) (started, error) {
	ctx := context.Background()
	b, err := app.Load(ctx, cfg, load, apiOptions...)
	if err != nil {
		return started{}, err
	}
	keyring, err := b.Keyring(ctx)
	if err != nil {
		return started{}, err
	}
	signer, err := b.Signer(ctx, keyring)
	if err != nil {
		return started{}, err
	}
	return started{b, keyring, signer}, nil
}

func newTableAndKey(t *testing.T) (app.Config, func(context.Context) (aws.Config, error)) {
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-service", MFATokenAudience: "mfa-apps", MFATokenTTL: 5 * time.Minute, AuditRetention: 24 * time.Hour,
	}
	awsCfg := awstest.Config(t)
	return cfg, func(context.Context) (aws.Config, error) { return awsCfg, nil }
}

// A function that decides by the policy on every request reads it at cold start, alongside
// the keys (one DynamoDB read more, at the same time as the key Query), and its first
// request finds it cached.
func TestReadPolicyAheadReadsThePolicyAtInit(t *testing.T) {
	ctx := context.Background()
	cfg, load := newTableAndKey(t)
	coldStart(t, cfg, load) // creates the keys

	c := &calls{}
	b, err := app.Load(ctx, cfg, load, c.middleware)
	if err != nil {
		t.Fatal(err)
	}
	wait := b.ReadPolicyAhead(ctx)
	if _, err := b.Keyring(ctx); err != nil {
		t.Fatal(err)
	}
	wait()
	c.mu.Lock()
	init := slices.Clone(c.ops)
	c.ops = nil
	c.mu.Unlock()
	slices.Sort(init)
	if want := []string{"DynamoDB.GetItem", "DynamoDB.Query", "KMS.Decrypt"}; !slices.Equal(init, want) {
		t.Errorf("cold start calls %v, want %v (in any order)", init, want)
	}
	if _, err := b.Policies().Effective(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if len(c.ops) != 0 {
		t.Errorf("the first policy read after the read ahead called %v", c.ops)
	}
}

// Cold starts racing on a new table, each with its one-Query read of the keys finding none,
// agree on one data key and one signing key: the losers of each conditional create read the
// winner's key back.
func TestConcurrentFirstColdStartsAgreeOnTheKeys(t *testing.T) {
	cfg, load := newTableAndKey(t)
	const starts = 6
	got := make([]started, starts)
	errs := make([]error, starts)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = tryColdStart(cfg, load)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	sealed, err := got[0].keyring.Seal([]byte("secret"), "u", "f")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got {
		if s.signer.KID() != got[0].signer.KID() {
			t.Errorf("start %d signs with key %s, start 0 with %s", i, s.signer.KID(), got[0].signer.KID())
		}
		if plain, err := s.keyring.Open(sealed, "u", "f"); err != nil || string(plain) != "secret" {
			t.Errorf("start %d cannot open what start 0 sealed: %v", i, err)
		}
	}
}
