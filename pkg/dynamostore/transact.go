package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

const maxConflictRetries = 5

// maxTransactItems is DynamoDB's limit on one transaction.
const maxTransactItems = 100

// errConditionFailed is returned with the reasons when a condition failed; callers map the
// items they expect to fail to domain errors and return this one for anything else.
var errConditionFailed = errors.New("dynamostore: transaction condition failed")

// transact runs a write transaction. When a condition failed it returns the per-item
// cancellation reason codes with errConditionFailed; cancellations caused only by conflicting
// concurrent transactions are retried.
func (s *Store) transact(ctx context.Context, items []dynamoclient.TransactWriteItem) ([]string, error) {
	codes, _, err := s.transactOld(ctx, items)
	return codes, err
}

// transactOld is transact that also returns, per item, the item as a failed condition found it
// (for items that ask ReturnValuesOnConditionCheckFailure ALL_OLD; nil otherwise).
func (s *Store) transactOld(ctx context.Context, items []dynamoclient.TransactWriteItem) ([]string, []map[string]dynamoclient.AttributeValue, error) {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamoclient.TransactWriteItemsInput{TransactItems: items})
		var tce *dynamoclient.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, nil, err
		}
		codes := make([]string, len(items))
		olds := make([]map[string]dynamoclient.AttributeValue, len(items))
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

// change is the write transaction of one domain change. Each item carries the domain error a
// failed condition on it means; commit adds the change's audit event (and the step-up use
// that authorizes it), runs it and translates a failed condition, so that sequence is written
// once rather than in every change.
type change struct {
	items  []dynamoclient.TransactWriteItem
	onFail []error
}

// add appends an item and returns its index. ifFailed is the domain error its failed
// condition means; nil when it has no condition, or when the caller reads the reasons itself.
func (c *change) add(ifFailed error, item dynamoclient.TransactWriteItem) int {
	c.items = append(c.items, item)
	c.onFail = append(c.onFail, ifFailed)
	return len(c.items) - 1
}

// commit runs the change with its audit event and, when use is set, the consumption of the
// step-up that authorizes it. A failed condition becomes a domain error: a consumed step-up
// first (ErrStepUpUsed), then the first failing item in the order they were added. A failure
// no item translates is returned wrapping errConditionFailed, with the reasons (and the items
// as the failed conditions found them) for the caller to read.
func (s *Store) commit(ctx context.Context, c change, ev mfa.AuditEvent, use *mfa.StepUpUse) ([]string, []map[string]dynamoclient.AttributeValue, error) {
	audit, err := s.auditPut(ev)
	if err != nil {
		return nil, nil, err
	}
	c.add(nil, audit)
	items, stepUpAt, err := withStepUpUse(s, c.items, use)
	if err != nil {
		return nil, nil, err
	}
	if len(items) > maxTransactItems {
		return nil, nil, errors.New("dynamostore: too many items for one transaction")
	}
	reasons, olds, err := s.transactOld(ctx, items)
	if failed(reasons, stepUpAt) {
		return reasons, olds, mfa.ErrStepUpUsed
	}
	for i, domainErr := range c.onFail {
		if domainErr != nil && failed(reasons, i) {
			return reasons, olds, domainErr
		}
	}
	return reasons, olds, err
}

// queryAll runs a Query page by page and hands each item read to each, stopping at the first
// error.
func (s *Store) queryAll(ctx context.Context, in *dynamoclient.QueryInput, each func(item map[string]dynamoclient.AttributeValue) error) error {
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// updateItem runs a transaction's Update alone, as one UpdateItem.
func (s *Store) updateItem(ctx context.Context, u *dynamoclient.Update) (*dynamoclient.UpdateItemOutput, error) {
	return s.db.UpdateItem(ctx, &dynamoclient.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames,
		ExpressionAttributeValues: u.ExpressionAttributeValues, ReturnValuesOnConditionCheckFailure: u.ReturnValuesOnConditionCheckFailure,
	})
}
