package dynamostore

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type deviceItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	TokenHash  []byte `dynamodbav:"tokenHash"`
	Label      string `dynamodbav:"label,omitempty"`
	IP         string `dynamodbav:"ip,omitempty"`
	CreatedAt  int64  `dynamodbav:"createdAt"`
	LastUsedAt int64  `dynamodbav:"lastUsedAt,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
	TTL        int64  `dynamodbav:"ttl"`
}

func newDeviceItem(d mfa.Device) deviceItem {
	return deviceItem{
		PK: userPK(d.UserID), SK: devicePrefix + d.ID, ID: d.ID, TokenHash: d.TokenHash, Label: d.Label, IP: d.IP,
		CreatedAt: millis(d.CreatedAt), LastUsedAt: millis(d.LastUsedAt), ExpiresAt: millis(d.ExpiresAt),
		TTL: d.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	}
}

func (it deviceItem) toDomain(uid string) mfa.Device {
	return mfa.Device{
		ID: it.ID, UserID: uid, TokenHash: it.TokenHash, Label: it.Label, IP: it.IP,
		CreatedAt: fromMillis(it.CreatedAt), LastUsedAt: fromMillis(it.LastUsedAt), ExpiresAt: fromMillis(it.ExpiresAt),
	}
}

// DeleteDevice revokes one trusted device.
func (s *Store) DeleteDevice(ctx context.Context, uid, did string, ev mfa.AuditEvent) error {
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(userPK(uid), devicePrefix+did), ConditionExpression: aws.String("attribute_exists(pk)")}},
		audit,
	})
	if failed(reasons, 0) {
		return mfa.ErrNotFound
	}
	return err
}

// maxTransactItems is DynamoDB's limit on one transaction.
const maxTransactItems = 100

// DeleteDevices revokes the given devices in one transaction.
func (s *Store) DeleteDevices(ctx context.Context, uid string, ids []string, ev mfa.AuditEvent) error {
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{audit}
	for _, id := range ids {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(userPK(uid), devicePrefix+id)}})
	}
	if len(items) > maxTransactItems {
		return errors.New("dynamostore: too many devices for one transaction")
	}
	_, err = s.transact(ctx, items)
	return err
}

// ResetUser removes the profile's factors and devices and resets the state in one transaction.
// Each deletion is conditional, so a factor bound since the profile was read makes the reset
// fail (ErrConflict) rather than leave the state's count wrong.
func (s *Store) ResetUser(ctx context.Context, p mfa.Profile, ev mfa.AuditEvent) error {
	uid := p.State.UserID
	pk := userPK(uid)
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		audit,
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("SET failures = :zero, factorCount = :zero REMOVE backupFactorId, emails, lastFailureAt, " + typeCountAttrs),
			ConditionExpression:       aws.String("attribute_not_exists(factorCount) OR factorCount = :count"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":count": num(int64(p.State.FactorCount))},
		}},
	}
	for _, f := range p.Factors {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pk, factorPrefix+f.ID), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	for _, d := range p.Devices {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pk, devicePrefix+d.ID)}})
	}
	if len(items) > maxTransactItems {
		return errors.New("dynamostore: too many factors and devices for one transaction")
	}
	reasons, err := s.transact(ctx, items)
	for i := range items {
		if failed(reasons, i) {
			return mfa.ErrConflict
		}
	}
	return err
}

// Unlock clears the user's failure count.
func (s *Store) Unlock(ctx context.Context, uid string, ev mfa.AuditEvent) error {
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userPK(uid), skState),
			UpdateExpression:          aws.String("SET failures = :zero REMOVE lastFailureAt"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
		}},
		audit,
	})
	return err
}

// ListEvents pages audit events newest first. The cursor is the last returned event's sort
// key, base64url-encoded: opaque to clients, checked on the way back in.
func (s *Store) ListEvents(ctx context.Context, uid string, limit int, cursor string) ([]mfa.AuditEvent, string, error) {
	pk := auditPrefix + uid
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":prefix": str(eventPrefix)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(raw), eventPrefix) || len(raw) > 64 {
			return nil, "", mfa.ErrBadCursor
		}
		in.ExclusiveStartKey = key(pk, string(raw))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	events := make([]mfa.AuditEvent, 0, len(out.Items))
	for _, item := range out.Items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		events = append(events, mfa.AuditEvent{
			UserID: it.UserID, Action: it.Action, Actor: it.Actor, FactorID: it.FactorID, FactorType: mfa.FactorType(it.FactorType),
			ChallengeID: it.ChallengeID, Outcome: it.Outcome, Reason: it.Reason, IP: it.IP, UserAgent: it.UserAgent, At: fromMillis(it.At),
		})
	}
	next := ""
	if sk, ok := out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok && len(events) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(sk.Value))
	}
	return events, next, nil
}

// RenameFactor sets a factor's label.
func (s *Store) RenameFactor(ctx context.Context, uid, fid, label string, ev mfa.AuditEvent) (mfa.Factor, error) {
	audit, err := s.auditPut(ev)
	if err != nil {
		return mfa.Factor{}, err
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userPK(uid), factorPrefix+fid),
			UpdateExpression:          aws.String("SET label = :label"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":label": str(label)},
		}},
		audit,
	})
	if failed(reasons, 0) {
		return mfa.Factor{}, mfa.ErrNotFound
	}
	if err != nil {
		return mfa.Factor{}, err
	}
	return s.GetFactor(ctx, uid, fid)
}
