package dynamoclient_test

import (
	"context"
	"encoding/json"
	"fmt"
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
// bug); ours leaves them out.
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
		obj, _ := v.(map[string]any)
		typed := false
		for _, tag := range []string{"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"} {
			if obj[tag] != nil {
				typed = true
			}
		}
		if !typed {
			delete(item, k)
			continue
		}
		if m, ok := item[k].(*types.AttributeValueMemberM); ok {
			inner, _ := obj["M"].(map[string]any)
			prune(m.Value, inner)
		}
	}
}
