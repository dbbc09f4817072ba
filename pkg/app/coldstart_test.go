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
