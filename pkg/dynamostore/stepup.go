package dynamostore

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

const stepUpPrefix = "STEPUP#"

// stepUpItem records that a step-up mfaToken authorized a change. It lives as long as the
// token could: after that the token is refused for its age anyway.
type stepUpItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	TTL int64  `dynamodbav:"ttl"`
}

// withStepUpUse appends the consumption of a step-up token to a change's transaction: a put that
// fails when the token's jti was consumed before, so one token authorizes one change. It returns
// the item's index (-1 when there is none to consume).
func withStepUpUse(s *Store, items []dynamoclient.TransactWriteItem, use *mfa.StepUpUse) ([]dynamoclient.TransactWriteItem, int, error) {
	if use == nil {
		return items, -1, nil
	}
	if use.TokenID == "" || use.ExpiresAt.IsZero() {
		return nil, -1, errors.New("dynamostore: step-up use without jti or expiry")
	}
	item := stepUpItem{
		PK: userPK(use.UserID), SK: stepUpPrefix + use.TokenID, TTL: use.ExpiresAt.Unix(),
	}.attributes()
	items = append(items, dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	return items, len(items) - 1, nil
}

// StepUpUsed reports whether a change consumed the step-up token's jti (a consistent read).
func (s *Store) StepUpUsed(ctx context.Context, uid, tokenID string) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamoclient.GetItemInput{
		TableName: &s.table, Key: key(userPK(uid), stepUpPrefix+tokenID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk"),
	})
	if err != nil {
		return false, err
	}
	return len(out.Item) > 0, nil
}
