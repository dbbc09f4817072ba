package dynamostore

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// sendCounters are the per-user and per-destination window counters of one send. Each is an
// atomic ADD guarded by its cap, so concurrent sends are counted exactly.
func (s *Store) sendCounters(q mfa.SendQuota) ([]types.TransactWriteItem, time.Time) {
	window := q.At.Truncate(q.Window)
	ends := window.Add(q.Window)
	counter := func(pk string, limit int) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(pk, fmt.Sprintf("%s%013d", sendPrefix, window.UnixMilli())),
			UpdateExpression:          aws.String("SET #ttl = :ttl ADD sent :one"),
			ConditionExpression:       aws.String("attribute_not_exists(sent) OR sent < :max"),
			ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": num(ends.Add(ttlGraceOnGone).Unix()), ":one": num(1), ":max": num(int64(limit))},
		}}
	}
	return []types.TransactWriteItem{counter(userPK(q.UserID), q.MaxPerUser), counter(destPrefix+q.DestinationKey, q.MaxPerDest)}, ends
}

// limitFrom maps cancelled send counters (at positions user, dest) to a LimitError.
func limitFrom(reasons []string, user, dest int, ends time.Time) error {
	switch {
	case failed(reasons, user):
		return &mfa.LimitError{Limit: "user", RetryAt: ends}
	case failed(reasons, dest):
		return &mfa.LimitError{Limit: "destination", RetryAt: ends}
	}
	return nil
}

// CreateEnrollment stores a pending enrollment (and takes the send counters) with its event.
