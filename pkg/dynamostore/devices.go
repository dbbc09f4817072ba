package dynamostore

import (
	"context"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type deviceItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	TokenHash  []byte `dynamodbav:"tokenHash"`
	Label      string `dynamodbav:"label,omitempty"`
	IP         string `dynamodbav:"ip,omitempty"`
	CreatedAt  int64  `dynamodbav:"createdAt"`
	LastUsedAt int64  `dynamodbav:"lastUsedAt,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
	TTL        int64  `dynamodbav:"ttl"`
}

func newDeviceItem(d mfa.Device) deviceItem {
	return deviceItem{
		PK: userPK(d.UserID), SK: devicePrefix + d.ID, ID: d.ID, TokenHash: d.TokenHash, Label: d.Label, IP: d.IP,
		CreatedAt: millis(d.CreatedAt), LastUsedAt: millis(d.LastUsedAt), ExpiresAt: millis(d.ExpiresAt),
		TTL: d.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	}
}

func (it deviceItem) toDomain(uid string) mfa.Device {
	return mfa.Device{
		ID: it.ID, UserID: uid, TokenHash: it.TokenHash, Label: it.Label, IP: it.IP,
		CreatedAt: fromMillis(it.CreatedAt), LastUsedAt: fromMillis(it.LastUsedAt), ExpiresAt: fromMillis(it.ExpiresAt),
	}
}

// DeleteDevice revokes one trusted device.
func (s *Store) DeleteDevice(ctx context.Context, uid, did string, ev mfa.AuditEvent) error {
	var c change
	c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(userPK(uid), devicePrefix+did), ConditionExpression: aws.String("attribute_exists(pk)")}})
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}

// DeleteDevices revokes the given devices in one transaction.
func (s *Store) DeleteDevices(ctx context.Context, uid string, ids []string, ev mfa.AuditEvent) error {
	var c change
	for _, id := range ids {
		c.add(nil, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(userPK(uid), devicePrefix+id)}})
	}
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}
