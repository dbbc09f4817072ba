package dynamoclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
	dc "github.com/mfa-service/mfa/pkg/dynamoclient"
)

// Any JSON answer the SDK's client reads, ours reads the same; ours refuses an empty answer
// and anything that is not one JSON value, which the SDK reads (the seeds are the answers of
// TestAnswersAreTheSDKs and odd ones; `go test -fuzz FuzzQueryAnswersAreTheSDKs` looks
// further).
func FuzzQueryAnswersAreTheSDKs(f *testing.F) {
	for _, a := range answers {
		f.Add(a.body)
	}
	f.Add(`{"Items":[{"a":{"S":"x"},"a":{"N":"1"}}]}`)
	f.Add(`{"Items":[{"a":{"S":"x","N":"1"}}]}`)
	f.Add(`{"Count":2147483648}`)
	// The SDK's DynamoDB client (v1.74.1's schema-based deserializer) panics on this one
	// (slice bounds out of range in smithy-go's ReadMapKey); ours answers an error.
	f.Add(`{"00000":0,"Items":[{"":{"BS":[,{}]`)
	f.Add(`{"Items":[{"0":{"L":[{"B":""},{}]}}]}`)
	f.Add(`{"Items":[{"":{"BS":[]},"":{}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		in := &dc.QueryInput{TableName: aws.String("t")}
		cfg := aws.Config{Region: "eu-west-1", Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: awsapitest.NewWire(dynamoJSON, body)}
		got, err := newClient(t, cfg).Query(context.Background(), in) // never panics
		want, sdkErr := sdkQuery(cfg, in)
		if strings.TrimSpace(body) == "" {
			// The SDK reads an empty answer as an empty output (a GetItem's item not found);
			// ours refuses it: for a security service a lost answer is not "no factors".
			if err == nil {
				t.Fatalf("an empty answer read as %+v", got)
			}
			return
		}
		if sdkErr != nil {
			return // what the SDK refuses, ours may refuse or read
		}
		if err != nil {
			if !json.Valid([]byte(body)) {
				return // ours refuses what is not one JSON value (the SDK reads its first)
			}
			t.Fatalf("%q: the SDK reads it, ours: %v", body, err)
		}
		pruneUntyped(body, want)
		if g, w := sdkOutput(got), withoutMetadata(want); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q:\nours    %#v\nthe SDK %#v", body, g, w)
		}
	})
}

// sdkQuery is the SDK client's Query, a panic in it (its deserializer's, on some malformed
// answers) as an error.
func sdkQuery(cfg aws.Config, in *dc.QueryInput) (out *dynamodb.QueryOutput, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the SDK panicked: %v", p)
		}
	}()
	return dynamodb.NewFromConfig(cfg).Query(context.Background(), sdkInput(in).(*dynamodb.QueryInput))
}

// pruneUntyped removes from the SDK's output the attributes whose value in body has no type
// ours knows ({} or {"X":…}): the SDK keeps them as nil, or as another attribute's value (a
// bug); ours leaves them out of an item or a map, and nil in a list.
func pruneUntyped(body string, out *dynamodb.QueryOutput) {
	var raw struct {
		Items            []map[string]any
		LastEvaluatedKey map[string]any
	}
	if json.Unmarshal([]byte(body), &raw) != nil {
		return
	}
	for i, it := range out.Items {
		if i < len(raw.Items) {
			prune(it, raw.Items[i])
		}
	}
	prune(out.LastEvaluatedKey, raw.LastEvaluatedKey)
}

func prune(item map[string]types.AttributeValue, raw map[string]any) {
	for k, v := range raw {
		if !typed(v) {
			delete(item, k)
			continue
		}
		pruneInside(item[k], v)
	}
}

// pruneInside prunes the maps and lists inside v (raw is its JSON); an untyped element of a
// list stays, as nil (ours keeps the list's length; the SDK repeats the element before it,
// another form of the same bug).
func pruneInside(v types.AttributeValue, raw any) {
	obj, _ := raw.(map[string]any)
	switch v := v.(type) {
	case *types.AttributeValueMemberM:
		inner, _ := obj["M"].(map[string]any)
		prune(v.Value, inner)
	case *types.AttributeValueMemberL:
		list, _ := obj["L"].([]any)
		for i := range v.Value {
			if i < len(list) {
				if !typed(list[i]) {
					v.Value[i] = nil
					continue
				}
				pruneInside(v.Value[i], list[i])
			}
		}
	}
}

// typed says whether raw, an attribute's value in the answer's JSON, has a type ours knows.
func typed(raw any) bool {
	obj, _ := raw.(map[string]any)
	for _, tag := range []string{"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"} {
		if obj[tag] != nil {
			return true
		}
	}
	return false
}

// bodies is an HTTP client that keeps each request's body and answers {}.
type bodies struct{ seen [][]byte }

func (b *bodies) Do(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	b.seen = append(b.seen, body)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
}

// fuzzItem makes an item from shape (each byte picks a value kind, nesting included) and
// texts (the strings, split at '|').
func fuzzItem(shape []byte, texts string) map[string]dc.AttributeValue {
	words := strings.Split(texts, "|")
	next := func(i int) string { return words[i%len(words)] }
	var value func(depth int) dc.AttributeValue
	pos := 0
	value = func(depth int) dc.AttributeValue {
		if pos >= len(shape) {
			return &dc.AttributeValueMemberS{Value: next(pos)}
		}
		b := shape[pos]
		pos++
		w := next(pos)
		switch b % 10 {
		case 0:
			return &dc.AttributeValueMemberS{Value: w}
		case 1:
			return &dc.AttributeValueMemberN{Value: w}
		case 2:
			return &dc.AttributeValueMemberB{Value: []byte(w)}
		case 3:
			return &dc.AttributeValueMemberSS{Value: []string{w, next(pos + 1)}}
		case 4:
			return &dc.AttributeValueMemberNS{Value: []string{w}}
		case 5:
			return &dc.AttributeValueMemberBS{Value: [][]byte{[]byte(w), nil}}
		case 6:
			return &dc.AttributeValueMemberNULL{Value: b&0x80 != 0}
		case 7:
			return &dc.AttributeValueMemberBOOL{Value: b&0x80 != 0}
		case 8:
			if depth > 3 {
				return &dc.AttributeValueMemberL{}
			}
			return &dc.AttributeValueMemberL{Value: []dc.AttributeValue{value(depth + 1), value(depth + 1)}}
		default:
			if depth > 3 {
				return &dc.AttributeValueMemberM{}
			}
			return &dc.AttributeValueMemberM{Value: map[string]dc.AttributeValue{w: value(depth + 1), next(pos + 1): value(depth + 1)}}
		}
	}
	item := map[string]dc.AttributeValue{}
	for pos < len(shape) && len(item) < 16 {
		item[next(pos)+string(rune('a'+pos%26))] = value(0)
	}
	return item
}

// Any item, of any shape and any (valid UTF-8) text, goes out as the SDK's client writes it.
func FuzzItemsAreWrittenAsTheSDKs(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x86, 0x87}, "a|1|é \"q\" \\ \x01 </x> & \u2028|𝄞")
	f.Add([]byte{9, 9, 8, 8, 0}, "k|v")
	f.Fuzz(func(t *testing.T, shape []byte, texts string) {
		// Invalid UTF-8 goes out as U+FFFD from ours, as it is from the SDK's: the same once
		// read, but two such keys of one map would then be one (TestStringsAreEncodingJSONs
		// holds ours to encoding/json on them).
		texts = strings.ToValidUTF8(texts, "?")
		in := &dc.PutItemInput{TableName: aws.String("t"), Item: fuzzItem(shape, texts), ConditionExpression: aws.String(texts)}
		var ours, sdks bodies
		cfg := aws.Config{Region: "eu-west-1", Credentials: awsapitest.StaticConfig("").Credentials}
		cfg.HTTPClient = &ours
		if _, err := newClient(t, cfg).PutItem(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		cfg.HTTPClient = &sdks
		if _, err := dynamodb.NewFromConfig(cfg).PutItem(context.Background(), sdkInput(in).(*dynamodb.PutItemInput)); err != nil {
			return // the SDK refuses it (its validation); DynamoDB would too
		}
		var a, b any
		if err := json.Unmarshal(ours.seen[0], &a); err != nil {
			t.Fatalf("ours is not JSON: %v\n%s", err, ours.seen[0])
		}
		if err := json.Unmarshal(sdks.seen[0], &b); err != nil {
			t.Fatalf("the SDK's is not JSON: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("ours    %s\nthe SDK %s", ours.seen[0], sdks.seen[0])
		}
	})
}
