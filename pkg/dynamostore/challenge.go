package dynamostore

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// challengeItem keeps the WebAuthn session of a challenge that offers passkeys (DESIGN §6.6:
// stored server-side, expiring). Everything else about a challenge is in its id.
type challengeItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	PasskeySession []byte `dynamodbav:"passkeySession"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
	TTL            int64  `dynamodbav:"ttl"`
}

// codeItem is the code sent for a challenge (U#CODE#<cid>): the newest send replaces the code
// and counts the challenge's sends and cool-down.
type codeItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	FactorID   string `dynamodbav:"factorId"`
	Hash       []byte `dynamodbav:"codeHash"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
	Sends      int    `dynamodbav:"sends"`
	LastSendAt int64  `dynamodbav:"lastSendAt"`
	TTL        int64  `dynamodbav:"ttl"`
}

func (c codeItem) toDomain(cid string) *mfa.CodeRecord {
	return &mfa.CodeRecord{ChallengeID: cid, FactorID: c.FactorID, Hash: c.Hash, ExpiresAt: fromMillis(c.ExpiresAt), Sends: c.Sends, LastSendAt: fromMillis(c.LastSendAt)}
}

// OpenChallenge records what a challenge must keep (see mfa.ChallengeStore) in one transaction.
func (s *Store) OpenChallenge(ctx context.Context, c mfa.Challenge, trustedDevice string, ev mfa.AuditEvent) error {
	pk := userPK(c.UserID)
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	values := map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))}
	directory := directoryMove
	if c.MovesInDirectory {
		directoryMoveValues(c.UserID, c.CreatedAt, values)
	} else {
		// In place (moved within the day): an unchanged index key costs no index write.
		directory = strings.Join(directorySet(c.UserID, c.CreatedAt, values), ", ")
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now), " + directory),
			ExpressionAttributeValues: values,
		}},
		audit,
	}
	if len(c.PasskeySession) > 0 {
		item, err := attributevalue.MarshalMap(challengeItem{
			PK: pk, SK: challengePfx + c.ID, PasskeySession: c.PasskeySession,
			ExpiresAt: millis(c.ExpiresAt), TTL: c.ExpiresAt.Add(ttlGraceOnGone).Unix(),
		})
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
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

// RecordDelivery stores the code sent for a challenge and takes every send counter in one
// transaction: the challenge's own count and cool-down (on the code record), the user's and
// the destination's.
func (s *Store) RecordDelivery(ctx context.Context, d mfa.Delivery) error {
	pk := userPK(d.UserID)
	now := millis(d.Quota.At)
	audit, err := s.auditPut(d.Event)
	if err != nil {
		return err
	}
	counters, ends := s.sendCounters(d.Quota)
	items := append([]types.TransactWriteItem{
		// A resend replaces the earlier code: only the newest one is valid.
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, codePrefix+d.Code.ChallengeID),
			UpdateExpression:         aws.String("SET factorId = :fid, codeHash = :hash, expiresAt = :exp, lastSendAt = :now, #ttl = :ttl ADD sends :one"),
			ConditionExpression:      aws.String("(attribute_not_exists(sends) OR sends < :max) AND (attribute_not_exists(lastSendAt) OR lastSendAt <= :cool)"),
			ExpressionAttributeNames: map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":fid": str(d.Code.FactorID), ":hash": &types.AttributeValueMemberB{Value: d.Code.Hash}, ":exp": num(millis(d.Code.ExpiresAt)),
				":now": num(now), ":one": num(1), ":ttl": num(maxTime(d.Code.ExpiresAt, d.ChallengeEnds).Add(ttlGraceOnGone).Unix()),
				":max": num(int64(d.MaxSends)), ":cool": num(now - d.Cooldown.Milliseconds()),
			},
		}},
		audit,
	}, counters...)
	reasons, err := s.transact(ctx, items)
	if failed(reasons, 0) {
		return &mfa.LimitError{Limit: "cooldown", RetryAt: d.Quota.At.Add(d.Cooldown)}
	}
	if limit := limitFrom(reasons, 2, 3, ends); limit != nil {
		return limit
	}
	return err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
