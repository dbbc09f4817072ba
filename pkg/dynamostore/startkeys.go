package dynamostore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/token"
)

// StartKeys is the system partition as a cold start reads it: the wrapped data key and every
// signing-key generation, read together by one strongly consistent Query. Opening the keyring
// (seal.Open) and loading the signer (token.Load) then cost one DynamoDB round trip between
// them instead of two in a row, before the KMS Decrypt that needs the first.
//
// It is the key store of both (seal.WrappedKeyStore, token.KeyStore) for the cold start it
// was read for. On a new table, where a key is missing, they create it; from then on its
// reads go to the table, so a start that lost the race to create a key uses the winner's.
type StartKeys struct {
	store *Store

	mu      sync.Mutex
	wrapped []byte
	signing []token.StoredKey
	stale   bool // a key was created since the read: read the table
}

// LoadStartKeys reads the wrapped data key and the signing keys with one Query.
func (s *Store) LoadStartKeys(ctx context.Context) (*StartKeys, error) {
	in := &dynamoclient.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :first AND :last"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{
			// The data key's sort key sorts before the signing keys' ("DATAKEY" < "SIGNKEY#…"),
			// and every generation's digits before "~".
			":pk": str(pkSystem), ":first": str(skDataKey), ":last": str(signKeyPrefix + "~"),
		},
		ScanIndexForward: aws.Bool(false), // newest generation first
		ConsistentRead:   aws.Bool(true),
	}
	k := &StartKeys{store: s}
	err := s.queryAll(ctx, in, func(item map[string]dynamoclient.AttributeValue) error {
		sk := stringAttr(item, "sk")
		switch {
		case sk == skDataKey:
			var err error
			k.wrapped, err = bytesAttr(item, "wrapped")
			return err
		case strings.HasPrefix(sk, signKeyPrefix):
			key, err := storedKey(item)
			k.signing = append(k.signing, key)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// storedKey reads a signing-key item (signKeyItem) without reflection: this runs in every
// cold start.
func storedKey(item map[string]dynamoclient.AttributeValue) (token.StoredKey, error) {
	gen, errGen := numberAttr(item, "generation")
	created, errCreated := numberAttr(item, "createdAt")
	sealed, errSealed := bytesAttr(item, "sealedPrivate")
	k := token.StoredKey{
		Generation: int(gen), KID: stringAttr(item, "kid"), PublicJWK: []byte(stringAttr(item, "publicJwk")),
		SealedPrivate: sealed, CreatedAt: fromMillis(created),
	}
	if err := errors.Join(errGen, errCreated, errSealed); err != nil || k.KID == "" || len(k.PublicJWK) == 0 {
		return token.StoredKey{}, errors.New("dynamostore: malformed signing-key item")
	}
	return k, nil
}

func bytesAttr(item map[string]dynamoclient.AttributeValue, name string) ([]byte, error) {
	b, ok := item[name].(*dynamoclient.AttributeValueMemberB)
	if !ok || len(b.Value) == 0 {
		return nil, errors.New("dynamostore: item has no binary " + name)
	}
	return b.Value, nil
}

func numberAttr(item map[string]dynamoclient.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*dynamoclient.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("dynamostore: item has no number " + name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// LoadWrappedKey returns the wrapped data key read with the signing keys (nil: none yet).
func (k *StartKeys) LoadWrappedKey(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stale {
		return k.store.LoadWrappedKey(ctx)
	}
	return k.wrapped, nil
}

// CreateWrappedKey stores the wrapped data key unless one exists.
func (k *StartKeys) CreateWrappedKey(ctx context.Context, wrapped []byte) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stale = true
	return k.store.CreateWrappedKey(ctx, wrapped)
}

// LoadSigningKeys returns the signing keys read with the data key, newest first.
func (k *StartKeys) LoadSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stale {
		return k.store.LoadSigningKeys(ctx)
	}
	return k.signing, nil
}

// CreateSigningKey stores a generation unless it exists.
func (k *StartKeys) CreateSigningKey(ctx context.Context, key token.StoredKey) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stale = true
	return k.store.CreateSigningKey(ctx, key)
}
