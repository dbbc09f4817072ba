package dynamoclient_test

// Conversions between this package's shapes and the SDK's, for the tests that hold the one to
// the other.

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	dc "github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/dynamoclient/dynamoclienttest"
)

var (
	sdkValue = dynamoclienttest.SDKValue
	sdkItem  = dynamoclienttest.SDKItem
)

func sdkItems(items []map[string]dc.AttributeValue) []map[string]types.AttributeValue {
	if items == nil {
		return nil
	}
	out := make([]map[string]types.AttributeValue, len(items))
	for i, it := range items {
		out[i] = sdkItem(it)
	}
	return out
}

func sdkCapacity(c dc.Capacity) types.Capacity {
	return types.Capacity{CapacityUnits: c.CapacityUnits, ReadCapacityUnits: c.ReadCapacityUnits, WriteCapacityUnits: c.WriteCapacityUnits}
}

func sdkIndexCapacities(m map[string]dc.Capacity) map[string]types.Capacity {
	if m == nil {
		return nil
	}
	out := map[string]types.Capacity{}
	for k, c := range m {
		out[k] = sdkCapacity(c)
	}
	return out
}

func sdkConsumed(c *dc.ConsumedCapacity) *types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	out := &types.ConsumedCapacity{TableName: c.TableName, CapacityUnits: c.CapacityUnits, ReadCapacityUnits: c.ReadCapacityUnits, WriteCapacityUnits: c.WriteCapacityUnits,
		GlobalSecondaryIndexes: sdkIndexCapacities(c.GlobalSecondaryIndexes), LocalSecondaryIndexes: sdkIndexCapacities(c.LocalSecondaryIndexes)}
	if c.Table != nil {
		t := sdkCapacity(*c.Table)
		out.Table = &t
	}
	return out
}

func sdkConsumedMany(cs []dc.ConsumedCapacity) []types.ConsumedCapacity {
	if cs == nil {
		return nil
	}
	out := make([]types.ConsumedCapacity, len(cs))
	for i := range cs {
		out[i] = *sdkConsumed(&cs[i])
	}
	return out
}

func sdkKeysAndAttributes(ka dc.KeysAndAttributes) types.KeysAndAttributes {
	return types.KeysAndAttributes{Keys: sdkItems(ka.Keys), ConsistentRead: ka.ConsistentRead, ProjectionExpression: ka.ProjectionExpression, ExpressionAttributeNames: ka.ExpressionAttributeNames}
}

func sdkWriteRequests(ws []dc.WriteRequest) []types.WriteRequest {
	out := make([]types.WriteRequest, len(ws))
	for i, w := range ws {
		if w.PutRequest != nil {
			out[i].PutRequest = &types.PutRequest{Item: sdkItem(w.PutRequest.Item)}
		}
		if w.DeleteRequest != nil {
			out[i].DeleteRequest = &types.DeleteRequest{Key: sdkItem(w.DeleteRequest.Key)}
		}
	}
	return out
}

// sdkInput is the SDK's input for one of ours.
func sdkInput(in any) any {
	switch in := in.(type) {
	case *dc.GetItemInput:
		return &dynamodb.GetItemInput{TableName: in.TableName, Key: sdkItem(in.Key), ConsistentRead: in.ConsistentRead, ProjectionExpression: in.ProjectionExpression,
			ExpressionAttributeNames: in.ExpressionAttributeNames, ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
	case *dc.PutItemInput:
		return &dynamodb.PutItemInput{TableName: in.TableName, Item: sdkItem(in.Item), ConditionExpression: in.ConditionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames,
			ExpressionAttributeValues: sdkItem(in.ExpressionAttributeValues), ReturnValues: types.ReturnValue(in.ReturnValues),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(in.ReturnValuesOnConditionCheckFailure), ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
	case *dc.UpdateItemInput:
		return &dynamodb.UpdateItemInput{TableName: in.TableName, Key: sdkItem(in.Key), UpdateExpression: in.UpdateExpression, ConditionExpression: in.ConditionExpression,
			ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: sdkItem(in.ExpressionAttributeValues), ReturnValues: types.ReturnValue(in.ReturnValues),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(in.ReturnValuesOnConditionCheckFailure), ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
	case *dc.DeleteItemInput:
		return &dynamodb.DeleteItemInput{TableName: in.TableName, Key: sdkItem(in.Key), ConditionExpression: in.ConditionExpression,
			ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: sdkItem(in.ExpressionAttributeValues), ReturnValues: types.ReturnValue(in.ReturnValues),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(in.ReturnValuesOnConditionCheckFailure), ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
	case *dc.QueryInput:
		return &dynamodb.QueryInput{TableName: in.TableName, IndexName: in.IndexName, KeyConditionExpression: in.KeyConditionExpression, FilterExpression: in.FilterExpression,
			ProjectionExpression: in.ProjectionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: sdkItem(in.ExpressionAttributeValues),
			ConsistentRead: in.ConsistentRead, ScanIndexForward: in.ScanIndexForward, Limit: in.Limit, ExclusiveStartKey: sdkItem(in.ExclusiveStartKey),
			Select: types.Select(in.Select), ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
	case *dc.BatchGetItemInput:
		out := &dynamodb.BatchGetItemInput{ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
		if in.RequestItems != nil {
			out.RequestItems = map[string]types.KeysAndAttributes{}
			for k, ka := range in.RequestItems {
				out.RequestItems[k] = sdkKeysAndAttributes(ka)
			}
		}
		return out
	case *dc.BatchWriteItemInput:
		out := &dynamodb.BatchWriteItemInput{ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
		if in.RequestItems != nil {
			out.RequestItems = map[string][]types.WriteRequest{}
			for k, ws := range in.RequestItems {
				out.RequestItems[k] = sdkWriteRequests(ws)
			}
		}
		return out
	case *dc.TransactWriteItemsInput:
		out := &dynamodb.TransactWriteItemsInput{ClientRequestToken: in.ClientRequestToken, ReturnConsumedCapacity: types.ReturnConsumedCapacity(in.ReturnConsumedCapacity)}
		for _, t := range in.TransactItems {
			var s types.TransactWriteItem
			if c := t.ConditionCheck; c != nil {
				s.ConditionCheck = &types.ConditionCheck{TableName: c.TableName, Key: sdkItem(c.Key), ConditionExpression: c.ConditionExpression, ExpressionAttributeNames: c.ExpressionAttributeNames,
					ExpressionAttributeValues: sdkItem(c.ExpressionAttributeValues), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(c.ReturnValuesOnConditionCheckFailure)}
			}
			if p := t.Put; p != nil {
				s.Put = &types.Put{TableName: p.TableName, Item: sdkItem(p.Item), ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames,
					ExpressionAttributeValues: sdkItem(p.ExpressionAttributeValues), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(p.ReturnValuesOnConditionCheckFailure)}
			}
			if u := t.Update; u != nil {
				s.Update = &types.Update{TableName: u.TableName, Key: sdkItem(u.Key), UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
					ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: sdkItem(u.ExpressionAttributeValues),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(u.ReturnValuesOnConditionCheckFailure)}
			}
			if d := t.Delete; d != nil {
				s.Delete = &types.Delete{TableName: d.TableName, Key: sdkItem(d.Key), ConditionExpression: d.ConditionExpression, ExpressionAttributeNames: d.ExpressionAttributeNames,
					ExpressionAttributeValues: sdkItem(d.ExpressionAttributeValues), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(d.ReturnValuesOnConditionCheckFailure)}
			}
			out.TransactItems = append(out.TransactItems, s)
		}
		return out
	}
	panic("no SDK input for this input")
}

// sdkOutput is one of our outputs as the SDK's output of the same call.
func sdkOutput(out any) any {
	switch o := out.(type) {
	case *dc.GetItemOutput:
		return &dynamodb.GetItemOutput{Item: sdkItem(o.Item), ConsumedCapacity: sdkConsumed(o.ConsumedCapacity)}
	case *dc.PutItemOutput:
		return &dynamodb.PutItemOutput{Attributes: sdkItem(o.Attributes), ConsumedCapacity: sdkConsumed(o.ConsumedCapacity)}
	case *dc.UpdateItemOutput:
		return &dynamodb.UpdateItemOutput{Attributes: sdkItem(o.Attributes), ConsumedCapacity: sdkConsumed(o.ConsumedCapacity)}
	case *dc.DeleteItemOutput:
		return &dynamodb.DeleteItemOutput{Attributes: sdkItem(o.Attributes), ConsumedCapacity: sdkConsumed(o.ConsumedCapacity)}
	case *dc.QueryOutput:
		return &dynamodb.QueryOutput{Items: sdkItems(o.Items), Count: o.Count, ScannedCount: o.ScannedCount, LastEvaluatedKey: sdkItem(o.LastEvaluatedKey), ConsumedCapacity: sdkConsumed(o.ConsumedCapacity)}
	case *dc.BatchGetItemOutput:
		s := &dynamodb.BatchGetItemOutput{ConsumedCapacity: sdkConsumedMany(o.ConsumedCapacity)}
		if o.Responses != nil {
			s.Responses = map[string][]map[string]types.AttributeValue{}
			for k, items := range o.Responses {
				s.Responses[k] = sdkItems(items)
			}
		}
		if o.UnprocessedKeys != nil {
			s.UnprocessedKeys = map[string]types.KeysAndAttributes{}
			for k, ka := range o.UnprocessedKeys {
				s.UnprocessedKeys[k] = sdkKeysAndAttributes(ka)
			}
		}
		return s
	case *dc.BatchWriteItemOutput:
		s := &dynamodb.BatchWriteItemOutput{ConsumedCapacity: sdkConsumedMany(o.ConsumedCapacity)}
		if o.UnprocessedItems != nil {
			s.UnprocessedItems = map[string][]types.WriteRequest{}
			for k, ws := range o.UnprocessedItems {
				s.UnprocessedItems[k] = sdkWriteRequests(ws)
			}
		}
		return s
	case *dc.TransactWriteItemsOutput:
		return &dynamodb.TransactWriteItemsOutput{ConsumedCapacity: sdkConsumedMany(o.ConsumedCapacity)}
	}
	panic("no SDK output for this output")
}
