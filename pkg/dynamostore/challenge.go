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

// OpenChallenge records what a challenge must keep (see mfa.ChallengeStore): the user's
// state, which carries the challenge's audit event (outbox.go), alone as one UpdateItem, or in a
// transaction with the WebAuthn session and the trusted device's use.
func (s *Store) OpenChallenge(ctx context.Context, c mfa.Challenge, trustedDevice string, ev mfa.AuditEvent) error {
	pk := userPK(c.UserID)
	audit, err := s.auditRecord(ev)
	if err != nil {
		return err
	}
	values := map[string]types.AttributeValue{":now": num(millis(c.CreatedAt)), ":ev": &types.AttributeValueMemberM{Value: audit}}
	directory := directoryMove
	if c.MovesInDirectory {
		directoryMoveValues(c.UserID, c.CreatedAt, values)
	} else {
		// In place (moved within the day): an unchanged index key costs no index write.
		directory = strings.Join(directorySet(c.UserID, c.CreatedAt, values), ", ")
	}
	state := &types.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now), #ev = :ev, " + directory),
		ExpressionAttributeNames:  map[string]string{"#ev": pendingEventAttr},
		ExpressionAttributeValues: values,
	}
	items := []types.TransactWriteItem{{Update: state}}
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
	if len(items) == 1 {
		_, err = s.updateItem(ctx, state)
		return err
	}
	_, err = s.transact(ctx, items)
	return err
}

// RecordDelivery stores the code sent for a challenge and takes every send counter in one
// transaction of two writes: one of the user's state (ledger.go), where the challenge's own
// count and cool-down are conditions on its code, the user's count is an ADD guarded by its
// cap (sends.go), and the send's audit event rides (outbox.go); and the destination's count.
func (s *Store) RecordDelivery(ctx context.Context, d mfa.Delivery) error {
	pk := userPK(d.UserID)
	now := millis(d.Quota.At)
	ev, err := s.auditRecord(d.Event)
	if err != nil {
		return err
	}
	sends := 1
	if d.Resent != nil {
		sends = d.Resent.Sends + 1
	}
	code, err := attributevalue.MarshalMap(codeEntry{
		FactorID: d.Code.FactorID, Hash: d.Code.Hash, ExpiresAt: millis(d.Code.ExpiresAt), Sends: sends, LastSendAt: now,
		Until: (millis(maxTime(d.Code.ExpiresAt, d.ChallengeEnds)) + 999) / 1000, // never before it ends
	})
	if err != nil {
		return err
	}
	names := map[string]string{"#k": codeAttr + d.Code.ChallengeID, "#ev": pendingEventAttr}
	values := map[string]types.AttributeValue{":code": &types.AttributeValueMemberM{Value: code}, ":ev": &types.AttributeValueMemberM{Value: ev}}
	// A resend replaces exactly the code it read, within the challenge's limits: of two
	// concurrent sends one wins, the other meets the cool-down.
	cond := "attribute_not_exists(#k)"
	if r := d.Resent; r != nil {
		cond = "#k.n = :prevSends AND #k.l = :prevAt AND #k.n < :max AND #k.l <= :cool"
		values[":prevSends"], values[":prevAt"] = num(int64(r.Sends)), num(millis(r.LastSendAt))
		values[":max"], values[":cool"] = num(int64(d.MaxSends)), num(now-d.Cooldown.Milliseconds())
	}
	add, userCond, removeWindows := userSendCount(d.Quota, names, values)
	update := "SET #k = :code, #ev = :ev ADD " + add
	if remove := append(removeExpired(d.Code.ChallengeID, d.Expired, names), removeWindows...); len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	dest, ends := s.destCounter(d.Quota)
	reasons, olds, err := s.transactOld(ctx, []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("(" + cond + ") AND " + userCond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		// A refusal says which limit from the state that refused it.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, dest})
	switch {
	case failed(reasons, 0) && userSendsIn(d.Quota, olds[0]) >= d.Quota.MaxPerUser:
		return &mfa.LimitError{Limit: "user", RetryAt: ends}
	case failed(reasons, 0):
		return &mfa.LimitError{Limit: "cooldown", RetryAt: d.Quota.At.Add(d.Cooldown)}
	case failed(reasons, 1):
		return &mfa.LimitError{Limit: "destination", RetryAt: ends}
	}
	return err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
