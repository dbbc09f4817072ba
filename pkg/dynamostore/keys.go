package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/token"
)

type dataKeyItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Wrapped   []byte `dynamodbav:"wrapped"`
	CreatedAt int64  `dynamodbav:"createdAt"`
}

// LoadWrappedKey returns the wrapped data key, or nil when none exists yet.
func (s *Store) LoadWrappedKey(ctx context.Context) ([]byte, error) {
	item, err := s.getItem(ctx, pkSystem, skDataKey)
	if errors.Is(err, mfa.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	it, err := readDataKeyItem(item)
	return it.Wrapped, err
}

// CreateWrappedKey stores the wrapped data key unless one exists.
func (s *Store) CreateWrappedKey(ctx context.Context, wrapped []byte) (bool, error) {
	item := dataKeyItem{PK: pkSystem, SK: skDataKey, Wrapped: wrapped, CreatedAt: time.Now().UnixMilli()}.attributes()
	return s.putIfAbsent(ctx, item)
}

func (s *Store) putIfAbsent(ctx context.Context, item map[string]dynamoclient.AttributeValue) (bool, error) {
	_, err := s.db.PutItem(ctx, &dynamoclient.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *dynamoclient.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

type signKeyItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Generation int    `dynamodbav:"generation"`
	KID        string `dynamodbav:"kid"`
	PublicJWK  string `dynamodbav:"publicJwk"`
	Sealed     []byte `dynamodbav:"sealedPrivate"`
	CreatedAt  int64  `dynamodbav:"createdAt"`
}

// LoadSigningKeys returns every signing key generation, newest first.
func (s *Store) LoadSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	in := &dynamoclient.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": str(pkSystem), ":prefix": str(signKeyPrefix)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	var keys []token.StoredKey
	err := s.queryAll(ctx, in, func(item map[string]dynamoclient.AttributeValue) error {
		k, err := storedKey(item)
		keys = append(keys, k)
		return err
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// CreateSigningKey stores a generation unless it exists.
func (s *Store) CreateSigningKey(ctx context.Context, k token.StoredKey) (bool, error) {
	item := signKeyItem{
		PK: pkSystem, SK: fmt.Sprintf("%s%08d", signKeyPrefix, k.Generation), Generation: k.Generation,
		KID: k.KID, PublicJWK: string(k.PublicJWK), Sealed: k.SealedPrivate, CreatedAt: millis(k.CreatedAt),
	}.attributes()
	return s.putIfAbsent(ctx, item)
}
