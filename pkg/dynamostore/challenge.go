package dynamostore

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

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
	values := map[string]dynamoclient.AttributeValue{":now": num(millis(c.CreatedAt)), ":ev": &dynamoclient.AttributeValueMemberM{Value: audit}}
	directory := directoryMove
	if c.MovesInDirectory {
		directoryMoveValues(c.UserID, c.CreatedAt, values)
	} else {
		// In place (moved within the day): an unchanged index key costs no index write.
		directory = strings.Join(directorySet(c.UserID, c.CreatedAt, values), ", ")
	}
	state := &dynamoclient.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now), #ev = :ev, " + directory),
		ExpressionAttributeNames:  map[string]string{"#ev": pendingEventAttr},
		ExpressionAttributeValues: values,
	}
	items := []dynamoclient.TransactWriteItem{{Update: state}}
	if len(c.PasskeySession) > 0 {
		items = append(items, dynamoclient.TransactWriteItem{Put: s.passkeySessionPut(c)})
	}
	if trustedDevice != "" {
		// A device revoked in between makes the whole challenge fail: fail closed.
		items = append(items, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(pk, devicePrefix+trustedDevice),
			UpdateExpression:          aws.String("SET lastUsedAt = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":now": num(millis(c.CreatedAt))},
		}})
	}
	if len(items) == 1 {
		_, err = s.updateItem(ctx, state)
		return err
	}
	_, err = s.transact(ctx, items)
	return err
}

// StorePasskeySession stores challenge c's WebAuthn session alone (see mfa.ChallengeStore):
// one conditional put, 1 WRU where the transaction with the user's state and its event cost
// 4 and the event's copy into the audit log 1 more. The same put sent again (a retry by the client
// after its answer was lost) finds its own session: its refusal is its success.
func (s *Store) StorePasskeySession(ctx context.Context, c mfa.Challenge) error {
	put := s.passkeySessionPut(c)
	_, err := s.db.PutItem(ctx, &dynamoclient.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ReturnValuesOnConditionCheckFailure: dynamoclient.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *dynamoclient.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if b, ok := ccf.Item["passkeySession"].(*dynamoclient.AttributeValueMemberB); ok && bytes.Equal(b.Value, c.PasskeySession) {
			return nil
		}
		return mfa.ErrExists
	}
	return err
}

// passkeySessionPut is the conditional put of challenge c's WebAuthn session, kept until the
// challenge is gone.
func (s *Store) passkeySessionPut(c mfa.Challenge) *dynamoclient.Put {
	item := challengeItem{
		PK: userPK(c.UserID), SK: challengePfx + c.ID, PasskeySession: c.PasskeySession,
		ExpiresAt: millis(c.ExpiresAt), TTL: c.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	}.attributes()
	return &dynamoclient.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
}

// RecordDelivery stores the code sent for a challenge and takes both send counters with two
// conditional writes sent at once (one round trip, 1 WRU each where a transaction of the two
// cost 4): the user's state (ledger.go), where the challenge's own count and cool-down are
// conditions on its code, the user's count is an ADD guarded by its cap (sends.go) and the
// send's audit event rides (outbox.go); and the destination's count, shared by every user who
// sends to it. Each undoes the other when only it went through: a state that took the code
// while the destination's cap refused it gets the code withdrawn, its count back and the
// withdrawal's event (d.Withdrawn); a destination count taken for a send the user's limits
// refused is given back. Whatever cannot be told (a write whose answer was lost) stays
// counted: the caps fail closed, and no code goes out.
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
	code := codeEntry{
		FactorID: d.Code.FactorID, Hash: d.Code.Hash, ExpiresAt: millis(d.Code.ExpiresAt), Sends: sends, LastSendAt: now,
		Until: (millis(maxTime(d.Code.ExpiresAt, d.ChallengeEnds)) + 999) / 1000, // never before it ends
	}.attributes()
	names := map[string]string{"#k": codeAttr + d.Code.ChallengeID, "#ev": pendingEventAttr}
	values := map[string]dynamoclient.AttributeValue{":code": &dynamoclient.AttributeValueMemberM{Value: code}, ":ev": &dynamoclient.AttributeValueMemberM{Value: ev}, ":evKey": ev["sk"]}
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
	state := &dynamoclient.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression: aws.String(update),
		// The same write sent again (a retry by the client) finds its own event: its refusal is its success.
		ConditionExpression:      aws.String("(attribute_not_exists(#ev) OR #ev.sk <> :evKey) AND (" + cond + ") AND " + userCond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		// A refusal says which limit from the state that refused it.
		ReturnValuesOnConditionCheckFailure: dynamoclient.ReturnValuesOnConditionCheckFailureAllOld,
	}
	dest, ends := s.destCounter(d.Quota)

	destDone := make(chan error, 1)
	go func() { _, err := s.updateItem(ctx, dest.Update); destDone <- err }()
	_, stateErr := s.updateItem(ctx, state)
	destErr := <-destDone

	var ccf, destCCF *dynamoclient.ConditionalCheckFailedException
	stateRefused := errors.As(stateErr, &ccf) && !alreadyWritten(ccf.Item, values)
	if errors.As(stateErr, &ccf) && !stateRefused {
		stateErr = nil // an earlier attempt of this write went through
	}
	destRefused := errors.As(destErr, &destCCF)
	switch {
	case stateRefused:
		if destErr == nil {
			s.giveBackDestination(ctx, dest.Update)
		}
		if userSendsIn(d.Quota, ccf.Item) >= d.Quota.MaxPerUser {
			return &mfa.LimitError{Limit: "user", RetryAt: ends}
		}
		return &mfa.LimitError{Limit: "cooldown", RetryAt: d.Quota.At.Add(d.Cooldown)}
	case destRefused:
		if stateErr == nil {
			if err := s.withdrawCode(ctx, d, names["#w"]); err != nil {
				return errors.Join(&mfa.LimitError{Limit: "destination", RetryAt: ends}, err)
			}
		}
		return &mfa.LimitError{Limit: "destination", RetryAt: ends}
	}
	return errors.Join(stateErr, destErr)
}

// giveBackDestination takes back one send from a destination's count, for a send the user's
// own limits refused. Not done (an error), the count stays one higher until its window ends:
// the cap errs on the closed side.
func (s *Store) giveBackDestination(ctx context.Context, count *dynamoclient.Update) {
	_, _ = s.updateItem(ctx, &dynamoclient.Update{
		TableName: count.TableName, Key: count.Key,
		UpdateExpression:          aws.String("ADD sent :minusOne"),
		ConditionExpression:       aws.String("sent > :zero"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":minusOne": num(-1), ":zero": num(0)},
	})
}

// withdrawCode takes back, unsent, the code a delivery stored on the user's state when the
// destination's cap refused the send: the code goes (if it is still the one stored), the
// user's count of the send is given back, and the withdrawal's event rides.
func (s *Store) withdrawCode(ctx context.Context, d mfa.Delivery, userWindow string) error {
	ev, err := s.auditRecord(d.Withdrawn)
	if err != nil {
		return err
	}
	_, err = s.updateItem(ctx, &dynamoclient.Update{
		TableName: &s.table, Key: key(userPK(d.UserID), skState),
		UpdateExpression:          aws.String("SET #ev = :ev REMOVE #k ADD #w :minusOne"),
		ConditionExpression:       aws.String("#k.h = :hash AND #w > :zero AND (attribute_not_exists(#ev) OR #ev.sk <> :evKey)"),
		ExpressionAttributeNames:  map[string]string{"#k": codeAttr + d.Code.ChallengeID, "#w": userWindow, "#ev": pendingEventAttr},
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":ev": &dynamoclient.AttributeValueMemberM{Value: ev}, ":evKey": ev["sk"], ":hash": &dynamoclient.AttributeValueMemberB{Value: d.Code.Hash}, ":minusOne": num(-1), ":zero": num(0)},
	})
	var ccf *dynamoclient.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // another send replaced the code since (or this withdrawal went through already)
	}
	return err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
