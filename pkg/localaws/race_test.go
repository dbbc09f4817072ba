package localaws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// With Python's default 5 ms thread switch interval a bare moto only rarely interleaves two
// conditional writes, so a race test against it passes with or without the lock. Switching
// threads every microsecond makes a bare moto let two writers win within a few rounds; the
// launcher must still give exactly one winner.
const adversarialPrelude = "import sys\nsys.setswitchinterval(1e-6)\n"

func TestLauncherSerialisesConditionalWritesUnderAdversarialScheduling(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := startMoto(ctx, "127.0.0.1", port, adversarialPrelude+motoLauncher)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()

	cfg, err := AWSConfig(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := tpl.Table(TableLogicalID)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	table := "race"
	if err := CreateTable(t.Context(), db, table, spec); err != nil {
		t.Fatal(err)
	}
	key := func(pk string) map[string]dbtypes.AttributeValue {
		return map[string]dbtypes.AttributeValue{
			"pk": &dbtypes.AttributeValueMemberS{Value: pk},
			"sk": &dbtypes.AttributeValueMemberS{Value: "once"},
		}
	}

	t.Run("PutItem", func(t *testing.T) {
		for round := range 20 {
			wins := race(t, 20, func(ctx context.Context, _ int) error {
				_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
					TableName:           &table,
					Item:                key(fmt.Sprintf("put#%d", round)),
					ConditionExpression: aws.String("attribute_not_exists(pk)"),
				})
				var failed *dbtypes.ConditionalCheckFailedException
				if errors.As(err, &failed) {
					return errLost
				}
				return err
			})
			if wins != 1 {
				t.Errorf("round %d: %d conditional puts succeeded, want 1", round, wins)
			}
		}
	})

	t.Run("TransactWriteItems", func(t *testing.T) {
		for round := range 10 {
			wins := race(t, 20, func(ctx context.Context, i int) error {
				pk := fmt.Sprintf("tx#%d", round)
				marker := key(pk)
				marker["sk"] = &dbtypes.AttributeValueMemberS{Value: fmt.Sprintf("writer#%d", i)}
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
					TransactItems: []dbtypes.TransactWriteItem{
						{Put: &dbtypes.Put{TableName: &table, Item: key(pk), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
						{Put: &dbtypes.Put{TableName: &table, Item: marker}},
					},
				})
				var cancelled *dbtypes.TransactionCanceledException
				if errors.As(err, &cancelled) {
					return errLost
				}
				return err
			})
			if wins != 1 {
				t.Errorf("round %d: %d transactions succeeded, want 1", round, wins)
			}
			// All or nothing: only the winner's second item may exist.
			out, err := db.Query(t.Context(), &dynamodb.QueryInput{
				TableName:                 &table,
				KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :w)"),
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": &dbtypes.AttributeValueMemberS{Value: fmt.Sprintf("tx#%d", round)}, ":w": &dbtypes.AttributeValueMemberS{Value: "writer#"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Count != 1 {
				t.Errorf("round %d: %d writers' items written, want 1", round, out.Count)
			}
		}
	})
}

var errLost = errors.New("lost the race")

// race runs write from n goroutines released at once and returns how many succeeded; an
// error other than errLost fails the test.
func race(t *testing.T, n int, write func(ctx context.Context, i int) error) int {
	t.Helper()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = write(t.Context(), i)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, errLost):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	return wins
}
