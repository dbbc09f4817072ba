package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
)

// Policies live at POLICY / <scope> ("global" or "org:<id>") as a JSON document with a
// version that every save raises.
const pkPolicy = "POLICY"

type policyItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Doc       string `dynamodbav:"doc"`
	Version   int    `dynamodbav:"version"`
	UpdatedAt int64  `dynamodbav:"updatedAt"`
	UpdatedBy string `dynamodbav:"updatedBy"`
}

// LoadPolicy reads a stored policy; found is false when none is stored for the scope.
func (s *Store) LoadPolicy(ctx context.Context, scope string) (policy.Policy, policy.Meta, bool, error) {
	var it policyItem
	err := s.getItem(ctx, pkPolicy, scope, &it)
	if errors.Is(err, mfa.ErrNotFound) {
		return policy.Policy{}, policy.Meta{}, false, nil
	}
	if err != nil {
		return policy.Policy{}, policy.Meta{}, false, err
	}
	var p policy.Policy
	if err := json.Unmarshal([]byte(it.Doc), &p); err != nil {
		return policy.Policy{}, policy.Meta{}, false, err
	}
	return p, policy.Meta{Version: it.Version, UpdatedAt: fromMillis(it.UpdatedAt), UpdatedBy: it.UpdatedBy}, true, nil
}

// SavePolicy stores a policy, raising its version, with the audit event in one transaction.
func (s *Store) SavePolicy(ctx context.Context, scope string, p policy.Policy, by string, at time.Time, ev mfa.AuditEvent) (policy.Meta, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return policy.Meta{}, err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return policy.Meta{}, err
	}
	if _, err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pkPolicy, scope),
			UpdateExpression: aws.String("SET doc = :doc, updatedAt = :at, updatedBy = :by ADD version :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":doc": str(string(doc)), ":at": num(millis(at)), ":by": str(by), ":one": num(1),
			},
		}},
		audit,
	}); err != nil {
		return policy.Meta{}, err
	}
	_, meta, _, err := s.LoadPolicy(ctx, scope)
	return meta, err
}

// DeletePolicy removes a stored policy (ErrNotFound when there is none).
func (s *Store) DeletePolicy(ctx context.Context, scope string, ev mfa.AuditEvent) error {
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(pkPolicy, scope), ConditionExpression: aws.String("attribute_exists(pk)")}},
		audit,
	})
	if failed(reasons, 0) {
		return mfa.ErrNotFound
	}
	return err
}

// SkipPrompt records that the user skipped the optional enrollment prompt.
func (s *Store) SkipPrompt(ctx context.Context, uid string, ev mfa.AuditEvent) error {
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userPK(uid), skState),
			UpdateExpression:          aws.String("SET promptSkippedAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(millis(ev.At))},
		}},
		audit,
	})
	return err
}

// seenItem records that the user signed in from a device or an address (adaptive MFA).
type seenItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Kind   string `dynamodbav:"kind"`
	Value  string `dynamodbav:"value"`
	SeenAt int64  `dynamodbav:"seenAt"`
	TTL    int64  `dynamodbav:"ttl"`
}

// seenRetention is how long a device or address counts as known.
const seenRetention = 90 * 24 * time.Hour

func seenPut(s *Store, uid, kind, value string, at time.Time) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(seenItem{
		PK: userPK(uid), SK: seenPrefix + kind + "#" + value, Kind: kind, Value: value,
		SeenAt: millis(at), TTL: at.Add(seenRetention).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}, nil
}
