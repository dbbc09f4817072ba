package dynamostore

import (
	"context"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// ResetUser removes the profile's factors and devices and resets the state in one transaction.
// Each deletion is conditional, so a factor bound since the profile was read makes the reset
// fail (ErrConflict) rather than leave the state's count wrong.
func (s *Store) ResetUser(ctx context.Context, p mfa.Profile, ev mfa.AuditEvent) error {
	uid := p.State.UserID
	pk := userPK(uid)
	var c change
	c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression:          aws.String("SET failures = :zero, factorCount = :zero REMOVE backupFactorId, emails, lastFailureAt, " + typeCountAttrs),
		ConditionExpression:       aws.String("attribute_not_exists(factorCount) OR factorCount = :count"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":zero": num(0), ":count": num(int64(p.State.FactorCount))},
	}})
	for _, f := range p.Factors {
		c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(pk, factorPrefix+f.ID), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	for _, d := range p.Devices {
		c.add(nil, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(pk, devicePrefix+d.ID)}})
	}
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}

// Unlock clears the user's failure count.
func (s *Store) Unlock(ctx context.Context, uid string, ev mfa.AuditEvent) error {
	var c change
	c.add(nil, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
		TableName: &s.table, Key: key(userPK(uid), skState),
		UpdateExpression:          aws.String("SET failures = :zero REMOVE lastFailureAt"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":zero": num(0)},
	}})
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}
