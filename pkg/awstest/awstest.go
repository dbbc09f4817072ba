// Package awstest is the test harness for code that talks to AWS: one moto server per test
// binary, reached through the SDK's standard AWS_ENDPOINT_URL setting, and helpers that give
// each test its own table and KMS key. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
package awstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// endpoint is the harness moto's URL; Main sets it before any test runs.
var endpoint string

// Main starts moto, points the process's AWS environment at it, runs the tests and stops
// moto. It returns the exit code for os.Exit. If moto cannot start, the tests fail: they
// never skip because a tool is missing.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	moto, err := localaws.StartMoto(ctx, "127.0.0.1", 0)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "awstest: cannot start moto, so no test can run: %v\n", err)
		return 1
	}
	endpoint = moto.Endpoint()
	if err := setEnv(endpoint); err != nil {
		moto.Stop()
		fmt.Fprintf(os.Stderr, "awstest: %v\n", err)
		return 1
	}

	code := m.Run()

	if err := moto.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "awstest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// setEnv makes aws-sdk-go-v2's default config (config.LoadDefaultConfig, as the functions
// use it) reach moto and nothing else. Every AWS_* variable of the developer's shell is
// dropped first: a profile, a service-specific AWS_ENDPOINT_URL_*, FIPS or a session token
// would each send requests elsewhere or make the SDK refuse the custom endpoint.
func setEnv(endpoint string) error {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			if err := os.Unsetenv(name); err != nil {
				return fmt.Errorf("unset %s: %w", name, err)
			}
		}
	}
	for name, value := range map[string]string{
		"AWS_ENDPOINT_URL":      endpoint,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            localaws.Region,
		// Keep ~/.aws out of it, and never wait for an instance metadata service.
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		if err := os.Setenv(name, value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// Endpoint is the harness moto's URL, e.g. http://127.0.0.1:40123.
func Endpoint() string { return endpoint }

// Config returns an SDK config for the harness moto.
func Config(t testing.TB) aws.Config {
	t.Helper()
	if endpoint == "" {
		t.Fatal("awstest: no moto running; add `func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }` to the package's tests")
	}
	cfg, err := localaws.AWSConfig(t.Context(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// DB is the service's DynamoDB client (pkg/dynamoclient) for the harness moto.
func DB(t testing.TB) *dynamoclient.Client {
	t.Helper()
	return DBWith(t, Config(t))
}

// DBWith is the service's DynamoDB client made from cfg (e.g. Config's with middleware).
func DBWith(t testing.TB, cfg aws.Config) *dynamoclient.Client {
	t.Helper()
	db, err := dynamoclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// NewTable creates a table named for the test from template.yaml's MfaTable definition and
// deletes it when the test ends. Each call gets a fresh, empty table.
func NewTable(t testing.TB) string {
	t.Helper()
	spec, err := tableSpec()
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(Config(t))
	name := tableName(t.Name())
	if err := localaws.CreateTable(t.Context(), db, name, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The test's context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
		// A test may remove its table itself (to prove the service fails closed without it).
		var gone *dbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("awstest: delete table %s: %v", name, err)
		}
	})
	return name
}

// NewKey creates a symmetric KMS key for the test and returns its ARN. The key is scheduled
// for deletion when the test ends.
func NewKey(t testing.TB) string {
	t.Helper()
	k := kms.NewFromConfig(Config(t))
	out, err := k.CreateKey(t.Context(), &kms.CreateKeyInput{Description: aws.String("awstest " + t.Name())})
	if err != nil {
		t.Fatalf("awstest: create KMS key: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
			KeyId:               out.KeyMetadata.KeyId,
			PendingWindowInDays: aws.Int32(7), // the minimum KMS allows
		})
		if err != nil {
			t.Errorf("awstest: schedule deletion of KMS key %s: %v", aws.ToString(out.KeyMetadata.Arn), err)
		}
	})
	return aws.ToString(out.KeyMetadata.Arn)
}

// tableSpec reads MfaTable from the template once per test binary.
var tableSpec = sync.OnceValues(func() (*samtemplate.Table, error) {
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		return nil, fmt.Errorf("awstest: %w", err)
	}
	spec, err := tpl.Table(localaws.TableLogicalID)
	if err != nil {
		return nil, fmt.Errorf("awstest: %w", err)
	}
	return spec, nil
})

var (
	tableSeq     atomic.Int64
	notTableChar = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// tableName derives a valid, unique table name from a test name, so a leftover table in
// moto's state says which test made it.
func tableName(test string) string {
	base := notTableChar.ReplaceAllString(test, "_")
	if len(base) > 200 { // DynamoDB allows 255 characters
		base = base[:200]
	}
	return fmt.Sprintf("t-%s-%d", base, tableSeq.Add(1))
}
