package awstest

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The functions build their clients with config.LoadDefaultConfig and no endpoint code; the
// harness must reach moto that way, through AWS_ENDPOINT_URL alone.
func TestDefaultConfigReachesMoto(t *testing.T) {
	if got := os.Getenv("AWS_ENDPOINT_URL"); got != Endpoint() || got == "" {
		t.Fatalf("AWS_ENDPOINT_URL = %q, want %q", got, Endpoint())
	}
	table := NewTable(t)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out.TableNames, table) {
		t.Errorf("tables = %v, want %s among them", out.TableNames, table)
	}
}

func TestNewTableIsFreshAndCleanedUp(t *testing.T) {
	db := dynamodb.NewFromConfig(Config(t))
	var name string
	t.Run("owner", func(t *testing.T) {
		name = NewTable(t)
		other := NewTable(t)
		if name == other {
			t.Fatalf("two NewTable calls gave the same table %s", name)
		}
		out, err := db.Scan(t.Context(), &dynamodb.ScanInput{TableName: &name})
		if err != nil {
			t.Fatal(err)
		}
		if out.Count != 0 {
			t.Errorf("fresh table holds %d items", out.Count)
		}
	})
	_, err := db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: &name})
	var nf *dbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("table %s after its test ended: err = %v, want ResourceNotFoundException", name, err)
	}

	// A test may delete its own table (to see the service fail closed); cleanup copes.
	t.Run("deletes its own table", func(t *testing.T) {
		name := NewTable(t)
		if _, err := db.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewKeyEncrypts(t *testing.T) {
	arn := NewKey(t)
	k := kms.NewFromConfig(Config(t))
	enc, err := k.Encrypt(t.Context(), &kms.EncryptInput{KeyId: &arn, Plaintext: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := k.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		t.Fatal(err)
	}
	if string(dec.Plaintext) != "secret" || aws.ToString(dec.KeyId) != arn {
		t.Errorf("decrypt = %q by %s, want %q by %s", dec.Plaintext, aws.ToString(dec.KeyId), "secret", arn)
	}
}

// Real DynamoDB serialises conditional writes to an item; a bare moto does not, so this is
// what the launcher's lock is for. The service's single-use guarantees rest on it.
func TestConcurrentConditionalPutHasOneWinner(t *testing.T) {
	const writers, rounds = 20, 5
	table := NewTable(t)
	db := dynamodb.NewFromConfig(Config(t))

	for round := range rounds {
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				<-start
				_, errs[i] = db.PutItem(t.Context(), &dynamodb.PutItemInput{
					TableName: &table,
					Item: map[string]dbtypes.AttributeValue{
						"pk":     &dbtypes.AttributeValueMemberS{Value: fmt.Sprintf("race#%d", round)},
						"sk":     &dbtypes.AttributeValueMemberS{Value: "once"},
						"writer": &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(i)},
					},
					ConditionExpression: aws.String("attribute_not_exists(pk)"),
				})
			})
		}
		close(start)
		wg.Wait()

		wins := 0
		for i, err := range errs {
			var failed *dbtypes.ConditionalCheckFailedException
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &failed):
				t.Errorf("round %d, writer %d: %v, want success or ConditionalCheckFailedException", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d of %d conditional puts succeeded, want exactly 1", round, wins, writers)
		}
	}
}

func TestTableName(t *testing.T) {
	name := tableName("TestX/sub test#1")
	if !regexp.MustCompile(`^t-TestX_sub_test_1-\d+$`).MatchString(name) {
		t.Errorf("tableName = %q", name)
	}
	if long := tableName(strings.Repeat("a", 1000)); len(long) > 255 {
		t.Errorf("tableName of a long test name has %d characters, DynamoDB allows 255", len(long))
	}
}
