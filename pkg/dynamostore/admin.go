package dynamostore

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

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
