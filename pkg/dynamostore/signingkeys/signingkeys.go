// Package signingkeys reads the public half of the mfaToken signing keys from the table: the
// items that package dynamostore writes under the system partition. It is a package of its
// own so that the jwks function, which publishes those keys, links one DynamoDB Query and
// nothing of the domain, KMS or the data key: the public JWK is stored in clear next to the
// sealed private key.
package signingkeys

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
)

// The signing-key items' keys and attribute names; package dynamostore writes them.
const (
	PK            = "SYSTEM"
	SKPrefix      = "SIGNKEY#"
	AttrPublicJWK = "publicJwk"
)

// Querier is the one DynamoDB call the reader makes.
type Querier interface {
	Query(ctx context.Context, in *dynamoclient.QueryInput) (*dynamoclient.QueryOutput, error)
}

// Reader reads public signing keys.
type Reader struct {
	DB    Querier
	Table string
}

// PublicJWKs returns the public JWKs (JSON) of the newest generations, newest first, at most
// limit of them: one strongly consistent Query that reads only the public keys.
func (r Reader) PublicJWKs(ctx context.Context, limit int) ([][]byte, error) {
	out, err := r.DB.Query(ctx, &dynamoclient.QueryInput{
		TableName:                &r.Table,
		KeyConditionExpression:   aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ProjectionExpression:     aws.String("#jwk"),
		ExpressionAttributeNames: map[string]string{"#jwk": AttrPublicJWK},
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{
			":pk": &dynamoclient.AttributeValueMemberS{Value: PK}, ":prefix": &dynamoclient.AttributeValueMemberS{Value: SKPrefix},
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
		Limit:            aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, 0, len(out.Items))
	for _, item := range out.Items {
		s, ok := item[AttrPublicJWK].(*dynamoclient.AttributeValueMemberS)
		if !ok || s.Value == "" {
			return nil, errors.New("signingkeys: a signing-key item has no public JWK")
		}
		keys = append(keys, []byte(s.Value))
	}
	return keys, nil
}
