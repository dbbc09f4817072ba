package dynamostore

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type enrollmentItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	ID          string `dynamodbav:"id"`
	Type        string `dynamodbav:"factorType"`
	Label       string `dynamodbav:"label"`
	Secret      []byte `dynamodbav:"secret,omitempty"`
	Destination string `dynamodbav:"destination,omitempty"`
	Region      string `dynamodbav:"region,omitempty"`
	Masked      string `dynamodbav:"masked,omitempty"`
	CodeHash    []byte `dynamodbav:"codeHash,omitempty"`
	Session     []byte `dynamodbav:"session,omitempty"`
	Attempts    int    `dynamodbav:"attempts,omitempty"`
	Locale      string `dynamodbav:"locale,omitempty"`
	CreatedAt   int64  `dynamodbav:"createdAt"`
	ExpiresAt   int64  `dynamodbav:"expiresAt"`
	TTL         int64  `dynamodbav:"ttl"`
	Org         string `dynamodbav:"org,omitempty"` // the organization whose policy it follows
}

func (s *Store) LoadEnrollment(ctx context.Context, uid, eid string) (mfa.Enrollment, mfa.UserState, error) {
	pk := userPK(uid)
	items, err := s.batchGet(ctx, []map[string]dynamoclient.AttributeValue{key(pk, enrollPrefix+eid), key(pk, skState)})
	if err != nil {
		return mfa.Enrollment{}, mfa.UserState{}, err
	}
	raw, ok := items[enrollPrefix+eid]
	if !ok {
		return mfa.Enrollment{}, mfa.UserState{}, mfa.ErrNotFound
	}
	it, err := readEnrollmentItem(raw)
	if err != nil {
		return mfa.Enrollment{}, mfa.UserState{}, err
	}
	state := mfa.UserState{UserID: uid}
	if raw, ok := items[skState]; ok {
		st, err := readStateItem(raw)
		if err != nil {
			return mfa.Enrollment{}, mfa.UserState{}, err
		}
		state = st.toDomain(uid)
	}
	return mfa.Enrollment{
		ID: it.ID, UserID: uid, Type: mfa.FactorType(it.Type), Label: it.Label, SealedSecret: it.Secret,
		Destination: it.Destination, Region: it.Region, Masked: it.Masked, CodeHash: it.CodeHash, Attempts: it.Attempts, Session: it.Session,
		CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt), OrganizationID: it.Org,
		Locale: it.Locale,
	}, state, nil
}

// CreateEnrollment stores a pending enrollment with its event and, when it sends a code, takes
// the user's and the destination's send counts, in one transaction.
func (s *Store) CreateEnrollment(ctx context.Context, e mfa.Enrollment, send *mfa.SendQuota, ev mfa.AuditEvent) error {
	item := enrollmentItem{
		PK: userPK(e.UserID), SK: enrollPrefix + e.ID, ID: e.ID, Type: string(e.Type), Label: e.Label,
		Secret: e.SealedSecret, Destination: e.Destination, Region: e.Region, Masked: e.Masked, CodeHash: e.CodeHash, Session: e.Session,
		CreatedAt: millis(e.CreatedAt), ExpiresAt: millis(e.ExpiresAt), TTL: e.ExpiresAt.Add(ttlGraceOnGone).Unix(),
		Org:    e.OrganizationID,
		Locale: e.Locale,
	}.attributes()
	var c change
	c.add(nil, dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	if send != nil {
		names, values := map[string]string{}, map[string]dynamoclient.AttributeValue{}
		add, cond, remove := userSendCount(*send, names, values)
		update := "ADD " + add
		if len(remove) > 0 {
			update += " REMOVE " + strings.Join(remove, ", ")
		}
		dest, ends := s.destCounter(*send)
		c.add(&mfa.LimitError{Limit: "user", RetryAt: ends}, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(userPK(e.UserID), skState),
			UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}})
		c.add(&mfa.LimitError{Limit: "destination", RetryAt: ends}, dest)
	}
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}

// FailEnrollment counts a wrong enrollment code.
func (s *Store) FailEnrollment(ctx context.Context, uid, eid string, max int) error {
	_, err := s.db.UpdateItem(ctx, &dynamoclient.UpdateItemInput{
		TableName: &s.table, Key: key(userPK(uid), enrollPrefix+eid),
		UpdateExpression:          aws.String("ADD attempts :one"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(attempts) OR attempts < :max)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":one": num(1), ":max": num(int64(max))},
	})
	var ccf *dynamoclient.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return mfa.ErrExhausted
	}
	return err
}

// ActivateFactor binds a factor in one transaction (see mfa.FactorStore).
