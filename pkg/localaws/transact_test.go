package localaws

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// launcherTable starts a moto through the launcher and creates the template's table in it.
func launcherTable(t *testing.T) (*Moto, *dynamodb.Client, string) {
	t.Helper()
	m := runMoto(t)
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
	if err := CreateTable(t.Context(), db, "tx", spec); err != nil {
		t.Fatal(err)
	}
	return m, db, "tx"
}

func txKey(pk, sk string) map[string]dbtypes.AttributeValue {
	return map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: pk}, "sk": &dbtypes.AttributeValueMemberS{Value: sk}}
}

func txItem(pk, sk string, attrs map[string]dbtypes.AttributeValue) map[string]dbtypes.AttributeValue {
	it := txKey(pk, sk)
	for k, v := range attrs {
		it[k] = v
	}
	return it
}

// The launcher undoes a cancelled transaction from the before-images of the items it names
// (not from a copy of the table): an item updated in place, a new one, a deleted one and one
// created by an update all come back as they were.
func TestLauncherCancelledTransactionLeavesNoTrace(t *testing.T) {
	_, db, table := launcherTable(t)
	ctx := t.Context()
	n := func(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberN{Value: v} }
	state := txItem("U", "state", map[string]dbtypes.AttributeValue{"failures": n("2"), "codes": &dbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}}})
	gone := txItem("U", "gone", map[string]dbtypes.AttributeValue{"x": n("1")})
	for _, it := range []map[string]dbtypes.AttributeValue{state, gone} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() []map[string]dbtypes.AttributeValue {
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: &table, ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": &dbtypes.AttributeValueMemberS{Value: "U"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Items
	}
	before := snapshot()

	items := []dbtypes.TransactWriteItem{
		{Update: &dbtypes.Update{TableName: &table, Key: txKey("U", "state"),
			UpdateExpression:          aws.String("ADD failures :one DELETE codes :used"),
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": n("1"), ":used": &dbtypes.AttributeValueMemberSS{Value: []string{"a"}}}}},
		{Put: &dbtypes.Put{TableName: &table, Item: txItem("U", "new", nil)}},
		{Delete: &dbtypes.Delete{TableName: &table, Key: txKey("U", "gone")}},
		{Update: &dbtypes.Update{TableName: &table, Key: txKey("U", "created"),
			UpdateExpression: aws.String("SET y = :one"), ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": n("1")}}},
		{ConditionCheck: &dbtypes.ConditionCheck{TableName: &table, Key: txKey("U", "missing"), ConditionExpression: aws.String("attribute_exists(pk)")}},
	}
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *dbtypes.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		t.Fatalf("transaction with a failing condition: %v, want cancelled", err)
	}
	if after := snapshot(); !reflect.DeepEqual(after, before) {
		t.Fatalf("a cancelled transaction left a trace:\nbefore %v\nafter  %v", before, after)
	}

	// Without the failing check, all of it is written.
	if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items[:4]}); err != nil {
		t.Fatal(err)
	}
	sks := map[string]bool{}
	for _, it := range snapshot() {
		sks[it["sk"].(*dbtypes.AttributeValueMemberS).Value] = true
	}
	if !sks["state"] || !sks["new"] || sks["gone"] || !sks["created"] {
		t.Fatalf("committed transaction: items %v, want state, new and created", sks)
	}
}

// A transaction costs what it touches, not the size of the table: moto's own rollback copied
// the whole table once per item of the transaction, and kept every copy (they show in
// data.json), which made a long-running local stack slower with every write.
func TestLauncherTransactionDoesNotCopyTheTable(t *testing.T) {
	m, db, table := launcherTable(t)
	ctx := t.Context()
	const filler = 300
	var batch []dbtypes.WriteRequest
	for i := range filler {
		batch = append(batch, dbtypes.WriteRequest{PutRequest: &dbtypes.PutRequest{Item: txItem(fmt.Sprintf("F%d", i%30), fmt.Sprintf("item#%d", i), nil)}})
		if len(batch) == 25 {
			if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]dbtypes.WriteRequest{table: batch}}); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	items := func() int {
		resp, err := http.Get(m.Endpoint() + "/moto-api/data.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var data struct {
			DynamoDB struct {
				Item []json.RawMessage `json:"Item"`
			} `json:"dynamodb"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
			t.Fatal(err)
		}
		return len(data.DynamoDB.Item)
	}
	start := items()
	if start < filler {
		t.Fatalf("data.json lists %d DynamoDB items, want at least the %d written", start, filler)
	}
	for i := range 3 {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{
			{Put: &dbtypes.Put{TableName: &table, Item: txItem("T", fmt.Sprintf("a%d", i), nil)}},
			{Put: &dbtypes.Put{TableName: &table, Item: txItem("T", fmt.Sprintf("b%d", i), nil)}},
			{Update: &dbtypes.Update{TableName: &table, Key: txKey("T", "n"), UpdateExpression: aws.String("ADD c :one"),
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": &dbtypes.AttributeValueMemberN{Value: "1"}}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each transaction makes its new items and a few copies of the ones it touches; a copy
	// of the table would add 300 or more.
	if grown := items() - start; grown > 30 {
		t.Fatalf("3 transactions of 3 items added %d DynamoDB items to moto's state, want a few: the table was copied", grown)
	}

	// And a Query still sees exactly its partition, in order, page by page.
	var got []string
	var next map[string]dbtypes.AttributeValue
	for {
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: &table, Limit: aws.Int32(4), ExclusiveStartKey: next, ScanIndexForward: aws.Bool(false),
			KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": &dbtypes.AttributeValueMemberS{Value: "F7"}, ":p": &dbtypes.AttributeValueMemberS{Value: "item#"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			got = append(got, it["sk"].(*dbtypes.AttributeValueMemberS).Value)
		}
		if next = out.LastEvaluatedKey; next == nil {
			break
		}
	}
	var want []string
	for i := filler - 1; i >= 0; i-- {
		if i%30 == 7 {
			want = append(want, fmt.Sprintf("item#%d", i))
		}
	}
	// Sort keys are strings: item#97 sorts after item#277, and so on.
	slices.Sort(want)
	slices.Reverse(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("query of one partition: %v, want %v", got, want)
	}
}

// A transaction sent again with its ClientRequestToken (an SDK retry of one whose answer was
// lost) answers as the first did and changes nothing, as in DynamoDB; another token is another
// transaction.
func TestLauncherTransactionTokenIsIdempotent(t *testing.T) {
	_, db, table := launcherTable(t)
	ctx := t.Context()
	put := func(token string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			ClientRequestToken: aws.String(token),
			TransactItems: []dbtypes.TransactWriteItem{
				{Put: &dbtypes.Put{TableName: &table, Item: txItem("T", "once", map[string]dbtypes.AttributeValue{"hash": &dbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2}}}), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
				{Update: &dbtypes.Update{TableName: &table, Key: txKey("T", "count"), UpdateExpression: aws.String("ADD n :one"),
					ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": &dbtypes.AttributeValueMemberN{Value: "1"}}}},
			},
		})
		return err
	}
	if err := put("token-1"); err != nil {
		t.Fatal(err)
	}
	if err := put("token-1"); err != nil {
		t.Fatalf("the same transaction sent again with its token: %v", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: txKey("T", "count"), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item["n"].(*dbtypes.AttributeValueMemberN).Value != "1" {
		t.Fatalf("count %v, %v: the repeat wrote again", out.Item, err)
	}
	var cancelled *dbtypes.TransactionCanceledException
	if err := put("token-2"); !errors.As(err, &cancelled) {
		t.Fatalf("another token: %v, want its condition to fail", err)
	}
}
