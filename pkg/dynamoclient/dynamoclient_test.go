package dynamoclient_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
	"github.com/mfa-service/mfa/pkg/awstest"
	dc "github.com/mfa-service/mfa/pkg/dynamoclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var dynamoJSON = awsapitest.Protocol{SigningName: "dynamodb", ContentType: "application/x-amz-json-1.0", Headers: []string{"X-Amz-Target", "Accept-Encoding"}}

func newClient(t *testing.T, cfg aws.Config) *dc.Client {
	t.Helper()
	c, err := dc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ours and sdk make the same call through each client.
func ours(ctx context.Context, c *dc.Client, in any) (any, error) {
	switch in := in.(type) {
	case *dc.GetItemInput:
		return c.GetItem(ctx, in)
	case *dc.PutItemInput:
		return c.PutItem(ctx, in)
	case *dc.UpdateItemInput:
		return c.UpdateItem(ctx, in)
	case *dc.DeleteItemInput:
		return c.DeleteItem(ctx, in)
	case *dc.QueryInput:
		return c.Query(ctx, in)
	case *dc.BatchGetItemInput:
		return c.BatchGetItem(ctx, in)
	case *dc.BatchWriteItemInput:
		return c.BatchWriteItem(ctx, in)
	case *dc.TransactWriteItemsInput:
		return c.TransactWriteItems(ctx, in)
	}
	panic("unknown input")
}

func sdk(ctx context.Context, c *dynamodb.Client, in any) (any, error) {
	switch in := in.(type) {
	case *dynamodb.GetItemInput:
		return c.GetItem(ctx, in)
	case *dynamodb.PutItemInput:
		return c.PutItem(ctx, in)
	case *dynamodb.UpdateItemInput:
		return c.UpdateItem(ctx, in)
	case *dynamodb.DeleteItemInput:
		return c.DeleteItem(ctx, in)
	case *dynamodb.QueryInput:
		return c.Query(ctx, in)
	case *dynamodb.BatchGetItemInput:
		return c.BatchGetItem(ctx, in)
	case *dynamodb.BatchWriteItemInput:
		return c.BatchWriteItem(ctx, in)
	case *dynamodb.TransactWriteItemsInput:
		return c.TransactWriteItems(ctx, in)
	}
	panic("unknown input")
}

// withoutMetadata is an SDK output without its ResultMetadata, which ours does not have.
func withoutMetadata(out any) any {
	v := reflect.ValueOf(out).Elem()
	if f := v.FieldByName("ResultMetadata"); f.IsValid() {
		f.Set(reflect.ValueOf(middleware.Metadata{}))
	}
	return out
}

// every kind of value, with strings that need escaping (quotes, control characters, line
// separators, astral and invalid UTF-8 runes) and every member kind nested.
func everyValue() map[string]dc.AttributeValue {
	return map[string]dc.AttributeValue{
		"pk":      &dc.AttributeValueMemberS{Value: "USER#u-1"},
		"quoted":  &dc.AttributeValueMemberS{Value: "a \"b\" \\c\n\t\x01 </script> & é 𝄞 \u2028 \xff"},
		"empty":   &dc.AttributeValueMemberS{Value: ""},
		"n":       &dc.AttributeValueMemberN{Value: "-12.5e3"},
		"b":       &dc.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xfe, 0xff}},
		"ss":      &dc.AttributeValueMemberSS{Value: []string{"x", "y\"z"}},
		"ns":      &dc.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":      &dc.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"null":    &dc.AttributeValueMemberNULL{Value: true},
		"t":       &dc.AttributeValueMemberBOOL{Value: true},
		"f":       &dc.AttributeValueMemberBOOL{Value: false},
		"l":       &dc.AttributeValueMemberL{Value: []dc.AttributeValue{&dc.AttributeValueMemberS{Value: "in a list"}, &dc.AttributeValueMemberN{Value: "7"}, &dc.AttributeValueMemberL{Value: []dc.AttributeValue{}}}},
		"m":       &dc.AttributeValueMemberM{Value: map[string]dc.AttributeValue{"inner": &dc.AttributeValueMemberM{Value: map[string]dc.AttributeValue{"deep": &dc.AttributeValueMemberB{Value: []byte("deep")}}}, "z": &dc.AttributeValueMemberBOOL{Value: true}}},
		"emptyM":  &dc.AttributeValueMemberM{Value: map[string]dc.AttributeValue{}},
		"naïve 名": &dc.AttributeValueMemberS{Value: "key with non-ASCII name"},
	}
}

func key(pk, sk string) map[string]dc.AttributeValue {
	return map[string]dc.AttributeValue{"pk": &dc.AttributeValueMemberS{Value: pk}, "sk": &dc.AttributeValueMemberS{Value: sk}}
}

// everyInput is one input of each operation, with every member this package has set.
func everyInput() []any {
	table := aws.String("mfa-table")
	names := map[string]string{"#a": "attempts", "#q": "quo\"ted"}
	values := everyValue()
	values[":one"] = &dc.AttributeValueMemberN{Value: "1"}
	onFailure := dc.ReturnValuesOnConditionCheckFailureAllOld
	return []any{
		&dc.GetItemInput{TableName: table, Key: key("USER#u", "U#STATE"), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#a"), ExpressionAttributeNames: names, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.GetItemInput{TableName: table, Key: key("USER#u", "U#STATE")},
		&dc.PutItemInput{TableName: table, Item: everyValue(), ConditionExpression: aws.String("attribute_not_exists(pk) OR #a < :one"), ExpressionAttributeNames: names,
			ExpressionAttributeValues: values, ReturnValues: dc.ReturnValueAllOld, ReturnValuesOnConditionCheckFailure: onFailure, ReturnConsumedCapacity: dc.ReturnConsumedCapacityIndexes},
		&dc.UpdateItemInput{TableName: table, Key: key("USER#u", "U#STATE"), UpdateExpression: aws.String("SET #a = #a + :one"), ConditionExpression: aws.String("#a < :one"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: dc.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: onFailure, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.UpdateItemInput{TableName: table, Key: key("USER#u", "U#STATE"), UpdateExpression: aws.String("REMOVE x"), ExpressionAttributeNames: map[string]string{}},
		&dc.DeleteItemInput{TableName: table, Key: key("USER#u", "U#DEVICE#d"), ConditionExpression: aws.String("#a = :one"), ExpressionAttributeNames: names,
			ExpressionAttributeValues: values, ReturnValues: dc.ReturnValueAllOld, ReturnValuesOnConditionCheckFailure: onFailure, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.QueryInput{TableName: table, IndexName: aws.String("byActivity"), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"), FilterExpression: aws.String("#a > :one"),
			ProjectionExpression: aws.String("pk, sk, #a"), ExpressionAttributeNames: names, ExpressionAttributeValues: values, ConsistentRead: aws.Bool(false),
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(25), ExclusiveStartKey: key("USER#u", "U#FACTOR#f"), Select: dc.SelectSpecificAttributes, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.QueryInput{TableName: table, KeyConditionExpression: aws.String("pk = :pk"), ExpressionAttributeValues: map[string]dc.AttributeValue{":pk": &dc.AttributeValueMemberS{Value: "POLICY"}}},
		&dc.BatchGetItemInput{RequestItems: map[string]dc.KeysAndAttributes{
			"mfa-table": {Keys: []map[string]dc.AttributeValue{key("USER#u", "U#STATE"), key("USER#u", "CHALLENGE#c")}, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#a"), ExpressionAttributeNames: names},
			"other":     {Keys: []map[string]dc.AttributeValue{key("a", "b")}},
		}, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.BatchWriteItemInput{RequestItems: map[string][]dc.WriteRequest{
			"mfa-table": {{PutRequest: &dc.PutRequest{Item: everyValue()}}, {DeleteRequest: &dc.DeleteRequest{Key: key("AUDIT#u", "EVENT#1")}}},
		}, ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal},
		&dc.TransactWriteItemsInput{ClientRequestToken: aws.String("0b9c3f3c-7c57-4e11-9f0e-4c2a4f8a9d10"), ReturnConsumedCapacity: dc.ReturnConsumedCapacityTotal, TransactItems: []dc.TransactWriteItem{
			{ConditionCheck: &dc.ConditionCheck{TableName: table, Key: key("USER#u", "U#STATE"), ConditionExpression: aws.String("#a < :one"), ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValuesOnConditionCheckFailure: onFailure}},
			{Put: &dc.Put{TableName: table, Item: everyValue(), ConditionExpression: aws.String("attribute_not_exists(pk)"), ReturnValuesOnConditionCheckFailure: onFailure}},
			{Update: &dc.Update{TableName: table, Key: key("USER#u", "U#STATE"), UpdateExpression: aws.String("SET #a = :one"), ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
			{Delete: &dc.Delete{TableName: table, Key: key("USER#u", "U#CODE#c"), ConditionExpression: aws.String("attribute_exists(pk)")}},
		}},
	}
}

// Each operation goes over the wire as the SDK's client sends it: the same target, body (every
// member, every kind of value, escapes), headers and signature.
func TestRequestsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 200, Body: `{}`})
	cfg := awsapitest.StaticConfig(rec.URL)
	c, s := newClient(t, cfg), dynamodb.NewFromConfig(cfg)
	for _, in := range everyInput() {
		name := fmt.Sprintf("%T", in)
		if _, err := ours(ctx, c, in); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := sdk(ctx, s, sdkInput(in)); err != nil {
			t.Fatalf("%s, the SDK: %v", name, err)
		}
		reqs := rec.Taken()
		if len(reqs) == 2 && reqs[0].Header.Get("X-Amz-Target") != "DynamoDB_20120810."+strings.TrimSuffix(strings.TrimPrefix(name, "*dynamoclient."), "Input") {
			t.Errorf("%s: target %q", name, reqs[0].Header.Get("X-Amz-Target"))
		}
		dynamoJSON.SameRequest(t, reqs)
	}
}

// A transaction without a ClientRequestToken gets a fresh UUID, as from the SDK, which its
// retries keep: DynamoDB then answers a retry of a transaction that went through as the first.
func TestTransactionTokens(t *testing.T) {
	ctx := context.Background()
	rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 500, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}`}, awsapitest.Answer{Status: 200, Body: `{}`})
	c := newClient(t, awsapitest.StaticConfig(rec.URL))
	in := &dc.TransactWriteItemsInput{TransactItems: []dc.TransactWriteItem{{Delete: &dc.Delete{TableName: aws.String("t"), Key: key("a", "b")}}}}
	if _, err := c.TransactWriteItems(ctx, in); err != nil {
		t.Fatal(err)
	}
	rec.SetAnswers(awsapitest.Answer{Status: 200, Body: `{}`})
	if _, err := c.TransactWriteItems(ctx, in); err != nil {
		t.Fatal(err)
	}
	reqs := rec.Taken()
	token := func(i int) string { s, _ := reqs[i].Body["ClientRequestToken"].(string); return s }
	if len(reqs) != 3 || len(token(0)) != 36 || token(0)[14] != '4' || token(0) != token(1) || token(2) == token(0) || in.ClientRequestToken != nil {
		t.Errorf("tokens %q %q %q (of %d requests), input's %v: want one per call, kept by its retry", token(0), token(1), token(2), len(reqs), in.ClientRequestToken)
	}
}

// answers has an answer of each operation with every member this package reads, and the
// input that asks for it.
var answers = []struct {
	in   any
	body string
}{
	{&dc.GetItemInput{TableName: aws.String("t"), Key: key("a", "b")}, `{"Item":` + everyValueJSON + `,"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5,"Table":{"CapacityUnits":0.5,"ReadCapacityUnits":0.5}}}`},
	{&dc.GetItemInput{TableName: aws.String("t"), Key: key("a", "b")}, `{}`},
	{&dc.PutItemInput{TableName: aws.String("t"), Item: key("a", "b")}, `{"Attributes":` + everyValueJSON + `,"ConsumedCapacity":{"TableName":"t","CapacityUnits":2.0,"WriteCapacityUnits":2,"GlobalSecondaryIndexes":{"byActivity":{"CapacityUnits":1,"WriteCapacityUnits":1}}}}`},
	{&dc.UpdateItemInput{TableName: aws.String("t"), Key: key("a", "b")}, `{"Attributes":{"n":{"N":"3"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":1,"LocalSecondaryIndexes":{"l":{"ReadCapacityUnits":1}}}}`},
	{&dc.DeleteItemInput{TableName: aws.String("t"), Key: key("a", "b")}, `{"Attributes":{"s":{"S":"gone"}}}`},
	{&dc.QueryInput{TableName: aws.String("t")}, `{"Count":2,"Items":[` + everyValueJSON + `,{"pk":{"S":"p"}}],"LastEvaluatedKey":{"pk":{"S":"p"},"sk":{"S":"s"}},"ScannedCount":3,"ConsumedCapacity":{"TableName":"t","CapacityUnits":1.5},"Extra":{"ignored":[1,2,{"a":null}]}}`},
	{&dc.QueryInput{TableName: aws.String("t")}, ` { "Count" : 0 , "Items" : [ ] , "ScannedCount" : 0 } `},
	{&dc.BatchGetItemInput{RequestItems: map[string]dc.KeysAndAttributes{"t": {Keys: []map[string]dc.AttributeValue{key("a", "b")}}}}, `{"Responses":{"t":[` + everyValueJSON + `],"u":[]},"UnprocessedKeys":{"t":{"Keys":[{"pk":{"S":"a"},"sk":{"S":"b"}}],"ConsistentRead":true,"ProjectionExpression":"#a","ExpressionAttributeNames":{"#a":"a"}}},"ConsumedCapacity":[{"TableName":"t","CapacityUnits":2},{"TableName":"u","CapacityUnits":0.5}]}`},
	{&dc.BatchWriteItemInput{RequestItems: writeOne}, `{"UnprocessedItems":{"t":[{"PutRequest":{"Item":` + everyValueJSON + `}},{"DeleteRequest":{"Key":{"pk":{"S":"a"},"sk":{"S":"b"}}}}]},"ConsumedCapacity":[{"TableName":"t","CapacityUnits":4}]}`},
	{&dc.BatchWriteItemInput{RequestItems: writeOne}, `{"UnprocessedItems":{}}`},
	{&dc.TransactWriteItemsInput{TransactItems: deleteOne}, `{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":6,"WriteCapacityUnits":6}]}`},
}

var (
	writeOne  = map[string][]dc.WriteRequest{"t": {{PutRequest: &dc.PutRequest{Item: key("a", "b")}}}}
	deleteOne = []dc.TransactWriteItem{{Delete: &dc.Delete{TableName: aws.String("t"), Key: key("a", "b")}}}
)

// everyValueJSON is an item with every kind of value as DynamoDB writes it, escapes included.
const everyValueJSON = `{"s":{"S":"plain"},"esc":{"S":"q\"b\\s\/ \b\f\n\r\t \u00e9 \ud834\udd1e \u2028 é"},"n":{"N":"12.50"},"b":{"B":"AAEC/v8="},` +
	`"ss":{"SS":["a","b"]},"ns":{"NS":["1","-2e3"]},"bs":{"BS":["AQ==","AgM="]},"nul":{"NULL":true},"t":{"BOOL":true},"f":{"BOOL":false},` +
	`"l":{"L":[{"S":"x"},{"N":"1"},{"L":[]},{"M":{}}]},"m":{"M":{"in":{"M":{"deep":{"B":"ZGVlcA=="}}},"z":{"BOOL":true}}},"ssEmpty":{"SS":[]}}`

// Each answer reads as the SDK's client reads it.
func TestAnswersAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	for _, a := range answers {
		rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 200, Body: a.body})
		cfg := awsapitest.StaticConfig(rec.URL)
		got, err := ours(ctx, newClient(t, cfg), a.in)
		if err != nil {
			t.Fatalf("%T %s: %v", a.in, a.body, err)
		}
		want, err := sdk(ctx, dynamodb.NewFromConfig(cfg), sdkInput(a.in))
		if err != nil {
			t.Fatalf("%T %s, the SDK: %v", a.in, a.body, err)
		}
		if g, w := sdkOutput(got), withoutMetadata(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%T %s:\nours    %#v\nthe SDK %#v", a.in, a.body, g, w)
		}
	}
}

// Malformed answers are errors, never a half-read output; a value of a type this client does
// not know is left out of its item.
func TestMalformedAnswers(t *testing.T) {
	for _, body := range []string{``, `{`, `{"Items":[}`, `{"Items":[{"a":{"S":1}}]}`, `{"Items":[{"a":{"B":"***"}}]}`, `{"Count":"x"}`, `{"Count":1e99}`,
		`{"Items":[{"a":{"S":"\x01"}}]}`, `{"Items":[{"a":{"S":"\u12"}}]}`, `{"Items":[{"a":{"BOOL":1}}]}`, `{} {}`, `[]`, `{"Items":[{"a":{"S":"x"}]}`} {
		rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 200, Body: body})
		c := newClient(t, awsapitest.StaticConfig(rec.URL))
		if out, err := c.Query(context.Background(), &dc.QueryInput{TableName: aws.String("t")}); err == nil {
			t.Errorf("%q read as %+v", body, out)
		}
	}
	rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 200, Body: `{"Item":{"pk":{"S":"p"},"v":{"VECTOR":[1,2]}}}`})
	out, err := newClient(t, awsapitest.StaticConfig(rec.URL)).GetItem(context.Background(), &dc.GetItemInput{TableName: aws.String("t")})
	if err != nil || !reflect.DeepEqual(out.Item, map[string]dc.AttributeValue{"pk": &dc.AttributeValueMemberS{Value: "p"}}) {
		t.Errorf("an unknown type: %+v, %v", out, err)
	}
}

// DynamoDB's errors read as the SDK's: the two the store reads typed, with the item as it was
// and the transaction's reasons; the others by code and message.
func TestErrorsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	in := &dc.UpdateItemInput{TableName: aws.String("t"), Key: key("a", "b")}
	t.Run("conditional check", func(t *testing.T) {
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":` + everyValueJSON + `}`
		rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 400, Body: body})
		cfg := awsapitest.StaticConfig(rec.URL)
		_, err := newClient(t, cfg).UpdateItem(ctx, in)
		_, sdkErr := dynamodb.NewFromConfig(cfg).UpdateItem(ctx, sdkInput(in).(*dynamodb.UpdateItemInput))
		var a *dc.ConditionalCheckFailedException
		var b *types.ConditionalCheckFailedException
		if !errors.As(err, &a) || !errors.As(sdkErr, &b) || !reflect.DeepEqual(sdkItem(a.Item), b.Item) || *a.Message != *b.Message || a.ErrorCode() != b.ErrorCode() {
			t.Fatalf("ours %v, the SDK's %v", err, sdkErr)
		}
		if len(rec.Taken()) != 2 {
			t.Error("a failed condition was retried")
		}
		var api *dc.APIError
		if !errors.As(err, &api) || api.StatusCode != 400 || api.RequestID != "req-1" {
			t.Errorf("%v does not carry the answer's status and request id", err)
		}
	})
	t.Run("transaction cancelled", func(t *testing.T) {
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",` +
			`"CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":` + everyValueJSON + `},{"Code":"TransactionConflict","Message":null}]}`
		rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 400, Body: body})
		cfg := awsapitest.StaticConfig(rec.URL)
		tin := &dc.TransactWriteItemsInput{ClientRequestToken: aws.String("t"), TransactItems: deleteOne}
		_, err := newClient(t, cfg).TransactWriteItems(ctx, tin)
		_, sdkErr := dynamodb.NewFromConfig(cfg).TransactWriteItems(ctx, sdkInput(tin).(*dynamodb.TransactWriteItemsInput))
		var a *dc.TransactionCanceledException
		var b *types.TransactionCanceledException
		if !errors.As(err, &a) || !errors.As(sdkErr, &b) || len(a.CancellationReasons) != 3 || len(b.CancellationReasons) != 3 || *a.Message != *b.Message {
			t.Fatalf("ours %v, the SDK's %v", err, sdkErr)
		}
		for i, r := range a.CancellationReasons {
			s := b.CancellationReasons[i]
			if !reflect.DeepEqual(r.Code, s.Code) || !reflect.DeepEqual(r.Message, s.Message) || !reflect.DeepEqual(sdkItem(r.Item), s.Item) {
				t.Errorf("reason %d: ours %+v, the SDK's %+v", i, r, s)
			}
		}
	})
	for _, tc := range []struct {
		status int
		body   string
		code   string
	}{
		{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`, "ResourceNotFoundException"},
		{400, `{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}`, "ValidationException"},
		{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"no item"}`, "ConditionalCheckFailedException"},
	} {
		rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: tc.status, Body: tc.body})
		cfg := awsapitest.StaticConfig(rec.URL)
		_, err := newClient(t, cfg).UpdateItem(ctx, in)
		_, sdkErr := dynamodb.NewFromConfig(cfg).UpdateItem(ctx, sdkInput(in).(*dynamodb.UpdateItemInput))
		var a, b smithy.APIError
		if !errors.As(err, &a) || !errors.As(sdkErr, &b) || a.ErrorCode() != tc.code || b.ErrorCode() != tc.code || a.ErrorMessage() != b.ErrorMessage() {
			t.Errorf("%s: ours %v, the SDK's %v", tc.body, err, sdkErr)
		}
	}
}

// Throttling and server errors are retried up to DynamoDB's 4 attempts; a client error is
// not; an answer whose CRC32 is not its body's is an error, as from the SDK.
func TestRetriesAndChecksums(t *testing.T) {
	ctx := context.Background()
	ok := awsapitest.Answer{Status: 200, Body: `{"Count":0,"Items":[]}`}
	internal := awsapitest.Answer{Status: 500, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}`}
	throttled := awsapitest.Answer{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}`}
	for _, tc := range []struct {
		name     string
		answers  []awsapitest.Answer
		requests int
		fails    bool
	}{
		{"throttled once", []awsapitest.Answer{throttled, ok}, 2, false},
		{"failing three times", []awsapitest.Answer{internal, internal, internal, ok}, 4, false},
		{"failing throughout", []awsapitest.Answer{internal}, 4, true},
		{"unavailable once", []awsapitest.Answer{{Status: 503}, ok}, 2, false},
		{"invalid", []awsapitest.Answer{{Status: 400, Body: `{"__type":"ValidationException"}`}, ok}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := awsapitest.NewRecorder(t, dynamoJSON, tc.answers...)
			cfg := awsapitest.StaticConfig(rec.URL)
			cfg.Retryer = nil // DynamoDB's own
			_, err := newClient(t, cfg).Query(ctx, &dc.QueryInput{TableName: aws.String("t")})
			if n := len(rec.Taken()); (err != nil) != tc.fails || n != tc.requests {
				t.Errorf("err %v after %d requests; want failure %v after %d", err, n, tc.fails, tc.requests)
			}
		})
	}

	body := `{"Item":{"pk":{"S":"a"}}}`
	for _, tc := range []struct {
		crc   string
		fails bool
	}{{fmt.Sprint(crc32.ChecksumIEEE([]byte(body))), false}, {fmt.Sprint(crc32.ChecksumIEEE([]byte(body)) + 1), true}, {"", false}, {"x", true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.crc != "" {
				w.Header().Set("X-Amz-Crc32", tc.crc)
			}
			w.Write([]byte(body))
		}))
		cfg := awsapitest.StaticConfig(srv.URL)
		in := &dc.GetItemInput{TableName: aws.String("t"), Key: key("a", "b")}
		_, err := newClient(t, cfg).GetItem(ctx, in)
		_, sdkErr := dynamodb.NewFromConfig(cfg).GetItem(ctx, sdkInput(in).(*dynamodb.GetItemInput))
		if (err != nil) != tc.fails || (sdkErr != nil) != tc.fails {
			t.Errorf("X-Amz-Crc32 %q: ours %v, the SDK's %v; want failure %v", tc.crc, err, sdkErr, tc.fails)
		}
		srv.Close()
	}
}

// The config's APIOptions see each call once, with the input as its parameters (so a meter can
// ask for the consumed capacity) and the output as its result (so it can read it).
func TestAPIOptionsSeeEachCall(t *testing.T) {
	rec := awsapitest.NewRecorder(t, dynamoJSON, awsapitest.Answer{Status: 503}, awsapitest.Answer{Status: 200, Body: `{"ConsumedCapacity":{"CapacityUnits":1}}`})
	cfg := awsapitest.StaticConfig(rec.URL)
	calls := awsapitest.WatchCalls(&cfg)
	var result any
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("capacity", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			in.Parameters.(*dc.UpdateItemInput).ReturnConsumedCapacity = dc.ReturnConsumedCapacityTotal
			out, md, err := next.HandleInitialize(ctx, in)
			result = out.Result
			return out, md, err
		}), middleware.After)
	})
	out, err := newClient(t, cfg).UpdateItem(context.Background(), &dc.UpdateItemInput{TableName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.Taken()
	if len(calls.Names) != 1 || calls.Names[0] != "DynamoDB.UpdateItem" || len(reqs) != 2 || reqs[1].Body["ReturnConsumedCapacity"] != "TOTAL" || *out.ConsumedCapacity.CapacityUnits != 1 || result != any(out) {
		t.Errorf("middleware saw %v over %d attempts, sent %v", calls.Names, len(reqs), reqs)
	}
}

// With no endpoint configured, a call goes where the SDK's client sends it, signed for the
// same service and region, in each partition and with each variant.
func TestEndpointsAreTheSDKs(t *testing.T) {
	in := &dc.GetItemInput{TableName: aws.String("t"), Key: key("a", "b")}
	for _, region := range []string{"eu-west-1", "us-east-1", "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1", "eusc-de-east-1"} {
		for _, v := range awsapitest.EveryVariant {
			w := awsapitest.NewWire(dynamoJSON, `{}`)
			cfg := aws.Config{Region: region, Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			_, sdkErr := dynamodb.NewFromConfig(cfg).GetItem(context.Background(), sdkInput(in).(*dynamodb.GetItemInput))
			if sdkErr != nil {
				continue // the SDK has no such endpoint (FIPS with dual stack in some partitions)
			}
			if _, err := newClient(t, cfg).GetItem(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			if seen := w.Seen(); len(seen) != 2 || seen[0] != seen[1] || !strings.HasSuffix(seen[0], " "+region+"/dynamodb/aws4_request") {
				t.Errorf("%s %+v: the SDK's, then ours: %q", region, v, seen)
			}
		}
	}
}

// Against moto: each operation does what it says, conditions fail with the item as it was,
// transactions are all or nothing with their reasons, and pages follow LastEvaluatedKey.
func TestAgainstMoto(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, awstest.Config(t))
	table := aws.String(awstest.NewTable(t))
	item := everyValue()
	delete(item, "quoted") // moto keeps invalid UTF-8 as it is, DynamoDB refuses it
	item["sk"] = &dc.AttributeValueMemberS{Value: "U#STATE"}
	if _, err := c.PutItem(ctx, &dc.PutItemInput{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dc.GetItemInput{TableName: table, Key: key("USER#u-1", "U#STATE"), ConsistentRead: aws.Bool(true)})
	if err != nil || !reflect.DeepEqual(got.Item, item) {
		t.Fatalf("read back %v (%v), want %v", got, err, item)
	}

	_, err = c.PutItem(ctx, &dc.PutItemInput{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"), ReturnValuesOnConditionCheckFailure: dc.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *dc.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || !reflect.DeepEqual(ccf.Item, item) {
		t.Fatalf("second put: %v, want a failed condition with the item", err)
	}

	up, err := c.UpdateItem(ctx, &dc.UpdateItemInput{TableName: table, Key: key("USER#u-1", "U#STATE"), UpdateExpression: aws.String("SET #c = if_not_exists(#c, :zero) + :one"),
		ExpressionAttributeNames: map[string]string{"#c": "count"}, ExpressionAttributeValues: map[string]dc.AttributeValue{":zero": &dc.AttributeValueMemberN{Value: "0"}, ":one": &dc.AttributeValueMemberN{Value: "1"}},
		ReturnValues: dc.ReturnValueUpdatedNew})
	if err != nil || !reflect.DeepEqual(up.Attributes, map[string]dc.AttributeValue{"count": &dc.AttributeValueMemberN{Value: "1"}}) {
		t.Fatalf("update: %+v, %v", up, err)
	}

	var writes []dc.WriteRequest
	for i := range 30 {
		writes = append(writes, dc.WriteRequest{PutRequest: &dc.PutRequest{Item: key("AUDIT#u", fmt.Sprintf("EVENT#%03d", i))}})
		if len(writes) == 25 || i == 29 {
			if out, err := c.BatchWriteItem(ctx, &dc.BatchWriteItemInput{RequestItems: map[string][]dc.WriteRequest{*table: writes}}); err != nil || len(out.UnprocessedItems[*table]) != 0 {
				t.Fatalf("batch write: %+v, %v", out, err)
			}
			writes = nil
		}
	}
	var pages, seen int
	var start map[string]dc.AttributeValue
	for {
		out, err := c.Query(ctx, &dc.QueryInput{TableName: table, KeyConditionExpression: aws.String("pk = :pk"), ExpressionAttributeValues: map[string]dc.AttributeValue{":pk": &dc.AttributeValueMemberS{Value: "AUDIT#u"}},
			Limit: aws.Int32(12), ExclusiveStartKey: start, ScanIndexForward: aws.Bool(false)})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range out.Items {
			if want := fmt.Sprintf("EVENT#%03d", 29-seen); it["sk"].(*dc.AttributeValueMemberS).Value != want {
				t.Fatalf("item %d is %v, want %s", seen, it["sk"], want)
			}
			seen++
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	if seen != 30 || pages != 3 {
		t.Errorf("%d items in %d pages, want 30 in 3", seen, pages)
	}

	batch, err := c.BatchGetItem(ctx, &dc.BatchGetItemInput{RequestItems: map[string]dc.KeysAndAttributes{*table: {Keys: []map[string]dc.AttributeValue{key("AUDIT#u", "EVENT#001"), key("AUDIT#u", "EVENT#404")}, ConsistentRead: aws.Bool(true)}}})
	if err != nil || len(batch.Responses[*table]) != 1 {
		t.Fatalf("batch get: %+v, %v", batch, err)
	}

	_, err = c.TransactWriteItems(ctx, &dc.TransactWriteItemsInput{TransactItems: []dc.TransactWriteItem{
		{Put: &dc.Put{TableName: table, Item: key("USER#u-1", "U#FACTOR#new")}},
		{ConditionCheck: &dc.ConditionCheck{TableName: table, Key: key("USER#u-1", "U#STATE"), ConditionExpression: aws.String("#c > :n"), ExpressionAttributeNames: map[string]string{"#c": "count"},
			ExpressionAttributeValues: map[string]dc.AttributeValue{":n": &dc.AttributeValueMemberN{Value: "5"}}, ReturnValuesOnConditionCheckFailure: dc.ReturnValuesOnConditionCheckFailureAllOld}},
	}})
	var tce *dc.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) != 2 || *tce.CancellationReasons[1].Code != "ConditionalCheckFailed" || tce.CancellationReasons[1].Item["count"] == nil {
		t.Fatalf("cancelled transaction: %v (%+v)", err, tce)
	}
	if got, _ := c.GetItem(ctx, &dc.GetItemInput{TableName: table, Key: key("USER#u-1", "U#FACTOR#new"), ConsistentRead: aws.Bool(true)}); got.Item != nil {
		t.Error("a cancelled transaction wrote its put")
	}
	if _, err := c.TransactWriteItems(ctx, &dc.TransactWriteItemsInput{TransactItems: []dc.TransactWriteItem{
		{Put: &dc.Put{TableName: table, Item: key("USER#u-1", "U#FACTOR#new")}},
		{Delete: &dc.Delete{TableName: table, Key: key("AUDIT#u", "EVENT#000"), ConditionExpression: aws.String("attribute_exists(pk)")}},
	}}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteItem(ctx, &dc.DeleteItemInput{TableName: table, Key: key("USER#u-1", "U#FACTOR#new"), ReturnValues: dc.ReturnValueAllOld})
	if err != nil || del.Attributes["sk"] == nil {
		t.Fatalf("delete: %+v, %v", del, err)
	}
}

// One conditional write among concurrent ones wins, through this client as through the SDK's.
func TestConcurrentConditionalWritesHaveOneWinner(t *testing.T) {
	c := newClient(t, awstest.Config(t))
	table := aws.String(awstest.NewTable(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for range 8 {
		wg.Go(func() {
			_, err := c.PutItem(context.Background(), &dc.PutItemInput{TableName: table, Item: key("p", "s"), ConditionExpression: aws.String("attribute_not_exists(pk)")})
			var ccf *dc.ConditionalCheckFailedException
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.As(err, &ccf):
				lost++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Errorf("%d won, %d lost; want 1 and 7", won, lost)
	}
}

// The retryer's quota and the config's RetryMaxAttempts (AWS_MAX_ATTEMPTS) bound retries as
// they bound the SDK client's: a failing service gets no more requests from ours than from
// the SDK's, call after call, and a success gives back what its retry took.
func TestRetryQuotaAndMaxAttemptsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	failing := awsapitest.Answer{Status: 500, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}`}
	ok := awsapitest.Answer{Status: 200, Body: `{"Count":0,"Items":[]}`}
	quota := func() aws.Retryer { // room for two retries of a server error, then none
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = awsapitest.NoBackoff{}
			o.RateLimiter = ratelimit.NewTokenRateLimit(28)
			o.RetryCost = 14
		})
	}
	for _, tc := range []struct {
		name    string
		retryer func() aws.Retryer
		max     int
		answers []awsapitest.Answer
		calls   int
	}{
		{"quota spent over three failing calls", quota, 0, []awsapitest.Answer{failing}, 3},
		{"quota given back by a success", quota, 0, []awsapitest.Answer{failing, ok, failing, ok, failing, ok, failing}, 4},
		{"AWS_MAX_ATTEMPTS 2", nil, 2, []awsapitest.Answer{failing}, 2},
		{"AWS_MAX_ATTEMPTS 6 over DynamoDB's retryer", nil, 6, []awsapitest.Answer{failing, failing, failing, failing, failing, ok}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests := func(call func(cfg aws.Config) error) []int {
				rec := awsapitest.NewRecorder(t, dynamoJSON, tc.answers...)
				cfg := awsapitest.StaticConfig(rec.URL)
				cfg.Retryer, cfg.RetryMaxAttempts = tc.retryer, tc.max // nil: DynamoDB's own
				var per []int
				for range tc.calls {
					_ = call(cfg)
					per = append(per, len(rec.Taken()))
				}
				return per
			}
			in := &dc.QueryInput{TableName: aws.String("t")}
			var c *dc.Client
			ours := requests(func(cfg aws.Config) error {
				if c == nil {
					c = newClient(t, cfg)
				}
				_, err := c.Query(ctx, in)
				return err
			})
			var s *dynamodb.Client
			sdks := requests(func(cfg aws.Config) error {
				if s == nil {
					s = dynamodb.NewFromConfig(cfg)
				}
				_, err := s.Query(ctx, sdkInput(in).(*dynamodb.QueryInput))
				return err
			})
			if !reflect.DeepEqual(ours, sdks) {
				t.Errorf("requests per call: ours %v, the SDK's %v", ours, sdks)
			}
		})
	}
}
