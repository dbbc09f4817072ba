package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type offeredItem struct {
	ID   string `dynamodbav:"id"`
	Type string `dynamodbav:"type"`
}

type challengeItem struct {
	PK              string        `dynamodbav:"pk"`
	SK              string        `dynamodbav:"sk"`
	ID              string        `dynamodbav:"id"`
	Purpose         string        `dynamodbav:"purpose"`
	OrganizationID  string        `dynamodbav:"organizationId,omitempty"`
	Offered         []offeredItem `dynamodbav:"offered"`
	DefaultFactorID string        `dynamodbav:"defaultFactorId,omitempty"`
	Failures        int           `dynamodbav:"failures"`
	SendCount       int           `dynamodbav:"sendCount,omitempty"`
	LastSendAt      int64         `dynamodbav:"lastSendAt,omitempty"`
	PasskeySession  []byte        `dynamodbav:"passkeySession,omitempty"`
	ContextIP       string        `dynamodbav:"contextIp,omitempty"`
	ContextDevice   string        `dynamodbav:"contextDevice,omitempty"`
	Locale          string        `dynamodbav:"locale,omitempty"`
	Status          string        `dynamodbav:"status"`
	CreatedAt       int64         `dynamodbav:"createdAt"`
	ExpiresAt       int64         `dynamodbav:"expiresAt"`
	TTL             int64         `dynamodbav:"ttl"`
}

func (it challengeItem) toDomain(uid string) mfa.Challenge {
	c := mfa.Challenge{
		ID: it.ID, UserID: uid, Purpose: it.Purpose, OrganizationID: it.OrganizationID,
		DefaultFactorID: it.DefaultFactorID, Failures: it.Failures, SendCount: it.SendCount, LastSendAt: fromMillis(it.LastSendAt), PasskeySession: it.PasskeySession, ContextIP: it.ContextIP, ContextDevice: it.ContextDevice,
		Status: mfa.ChallengeStatus(it.Status), CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt),
		Locale: it.Locale,
	}
	for _, o := range it.Offered {
		c.Offered = append(c.Offered, mfa.OfferedFactor{ID: o.ID, Type: mfa.FactorType(o.Type)})
	}
	return c
}

type codeItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Hash      []byte `dynamodbav:"codeHash"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	TTL       int64  `dynamodbav:"ttl"`
}

func codeSK(cid, fid string) string { return codePrefix + cid + "#" + fid }

// OpenChallenge stores a new challenge and notes the activity (and a trusted device's use) in
// one transaction.
func (s *Store) OpenChallenge(ctx context.Context, c mfa.Challenge, trustedDevice string, ev mfa.AuditEvent) error {
	pk := userPK(c.UserID)
	offered := []offeredItem{}
	for _, o := range c.Offered {
		offered = append(offered, offeredItem{ID: o.ID, Type: string(o.Type)})
	}
	item, err := attributevalue.MarshalMap(challengeItem{
		PK: pk, SK: challengePfx + c.ID, ID: c.ID, Purpose: c.Purpose, OrganizationID: c.OrganizationID,
		Offered: offered, DefaultFactorID: c.DefaultFactorID, Status: string(c.Status), PasskeySession: c.PasskeySession, ContextIP: c.ContextIP, ContextDevice: c.ContextDevice,
		CreatedAt: millis(c.CreatedAt), ExpiresAt: millis(c.ExpiresAt), TTL: c.ExpiresAt.Add(ttlGraceOnGone).Unix(),
		Locale: c.Locale,
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now), " + directoryMove),
			ExpressionAttributeValues: directoryMoveValues(c.UserID, c.CreatedAt, map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))}),
		}},
		audit,
	}
	if trustedDevice != "" {
		// A device revoked in between makes the whole challenge fail: fail closed.
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(pk, devicePrefix+trustedDevice),
			UpdateExpression:          aws.String("SET lastUsedAt = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))},
		}})
	}
	_, err = s.transact(ctx, items)
	return err
}

// RecordDelivery stores the code sent for (challenge, factor) and takes every send counter in
// one transaction: the challenge's own count and cool-down, the user's and the destination's.
func (s *Store) RecordDelivery(ctx context.Context, d mfa.Delivery) error {
	pk := userPK(d.UserID)
	now := millis(d.Quota.At)
	code, err := attributevalue.MarshalMap(codeItem{
		PK: pk, SK: codeSK(d.Code.ChallengeID, d.Code.FactorID), Hash: d.Code.Hash,
		ExpiresAt: millis(d.Code.ExpiresAt), TTL: d.Code.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(d.Event)
	if err != nil {
		return err
	}
	counters, ends := s.sendCounters(d.Quota)
	items := append([]types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, challengePfx+d.Code.ChallengeID),
			UpdateExpression:         aws.String("SET lastSendAt = :now ADD sendCount :one"),
			ConditionExpression:      aws.String("#status = :open AND expiresAt > :now AND (attribute_not_exists(sendCount) OR sendCount < :max) AND (attribute_not_exists(lastSendAt) OR lastSendAt <= :cool)"),
			ExpressionAttributeNames: map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": num(now), ":one": num(1), ":open": str(string(mfa.ChallengeOpen)),
				":max": num(int64(d.MaxSends)), ":cool": num(now - d.Cooldown.Milliseconds()),
			},
		}},
		// A resend replaces the earlier code: only the newest one is valid.
		{Put: &types.Put{TableName: &s.table, Item: code}},
		audit,
	}, counters...)
	reasons, err := s.transact(ctx, items)
	if failed(reasons, 0) {
		return &mfa.LimitError{Limit: "cooldown", RetryAt: d.Quota.At.Add(d.Cooldown)}
	}
	if limit := limitFrom(reasons, 3, 4, ends); limit != nil {
		return limit
	}
	return err
}

// RecordSuccess closes the challenge, consumes what the answer used (a TOTP step, the code
// record, or one backup code) and clears the user's failures, atomically.
