package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const maxConflictRetries = 5

// errConditionFailed is returned with the reasons when a condition failed; callers map the
// items they expect to fail to domain errors and return this one for anything else.
var errConditionFailed = errors.New("dynamostore: transaction condition failed")

// transact runs a write transaction. When a condition failed it returns the per-item
// cancellation reason codes with errConditionFailed; cancellations caused only by conflicting
// concurrent transactions are retried.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) ([]string, error) {
	codes, _, err := s.transactOld(ctx, items)
	return codes, err
}

// transactOld is transact that also returns, per item, the item as a failed condition found it
// (for items that ask ReturnValuesOnConditionCheckFailure ALL_OLD; nil otherwise).
func (s *Store) transactOld(ctx context.Context, items []types.TransactWriteItem) ([]string, []map[string]types.AttributeValue, error) {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, nil, err
		}
		codes := make([]string, len(items))
		olds := make([]map[string]types.AttributeValue, len(items))
		conditionFailed := false
		for i, r := range tce.CancellationReasons {
			if i < len(codes) && r.Code != nil {
				codes[i] = *r.Code
				olds[i] = r.Item
				conditionFailed = conditionFailed || *r.Code == "ConditionalCheckFailed"
			}
		}
		if conditionFailed {
			// The reasons say which item's condition failed, for whoever reads the log.
			return codes, olds, fmt.Errorf("%w: %v", errConditionFailed, codes)
		}
		if attempt >= maxConflictRetries {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// failed reports whether item i of a cancelled transaction failed its condition.
func failed(reasons []string, i int) bool {
	return i >= 0 && i < len(reasons) && reasons[i] == "ConditionalCheckFailed"
}
