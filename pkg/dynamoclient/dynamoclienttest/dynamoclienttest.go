// Package dynamoclienttest converts items between pkg/dynamoclient's attribute values and the
// SDK's, for tests that hold the service's code to the SDK's (attributevalue, the SDK's
// client).
package dynamoclienttest

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	dc "github.com/mfa-service/mfa/pkg/dynamoclient"
)

// SDKValue is v as the SDK's attribute value.
func SDKValue(v dc.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *dc.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value}
	case *dc.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value}
	case *dc.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: v.Value}
	case *dc.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: v.Value}
	case *dc.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: v.Value}
	case *dc.AttributeValueMemberBS:
		return &types.AttributeValueMemberBS{Value: v.Value}
	case *dc.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: SDKItem(v.Value)}
	case *dc.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = SDKValue(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *dc.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: v.Value}
	case *dc.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Value}
	}
	return nil
}

// SDKItem is m as the SDK's item (nil stays nil).
func SDKItem(m map[string]dc.AttributeValue) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = SDKValue(v)
	}
	return out
}

// Value is the SDK's v as this service's attribute value.
func Value(v types.AttributeValue) dc.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &dc.AttributeValueMemberS{Value: v.Value}
	case *types.AttributeValueMemberN:
		return &dc.AttributeValueMemberN{Value: v.Value}
	case *types.AttributeValueMemberB:
		return &dc.AttributeValueMemberB{Value: v.Value}
	case *types.AttributeValueMemberSS:
		return &dc.AttributeValueMemberSS{Value: v.Value}
	case *types.AttributeValueMemberNS:
		return &dc.AttributeValueMemberNS{Value: v.Value}
	case *types.AttributeValueMemberBS:
		return &dc.AttributeValueMemberBS{Value: v.Value}
	case *types.AttributeValueMemberM:
		return &dc.AttributeValueMemberM{Value: Item(v.Value)}
	case *types.AttributeValueMemberL:
		l := make([]dc.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = Value(e)
		}
		return &dc.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberNULL:
		return &dc.AttributeValueMemberNULL{Value: v.Value}
	case *types.AttributeValueMemberBOOL:
		return &dc.AttributeValueMemberBOOL{Value: v.Value}
	}
	return nil
}

// Item is the SDK's m as this service's item (nil stays nil).
func Item(m map[string]types.AttributeValue) map[string]dc.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]dc.AttributeValue, len(m))
	for k, v := range m {
		out[k] = Value(v)
	}
	return out
}
