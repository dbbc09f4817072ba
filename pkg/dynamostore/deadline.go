package dynamostore

import (
	"context"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
)

// Deadlines: a store that hangs must not hang the function past its timeout. Every DynamoDB
// call gets a deadline DeadlineReserve before the request's own (in Lambda, the function
// timeout), which leaves the handler time to answer 503 unavailable, fail-closed, before Lambda
// kills it. A call whose context has no deadline (tools, tests, a local stack run without
// function deadlines) still gets FallbackTimeout: bounded, but generous, because moto under a
// test's flood of parallel requests is far slower than DynamoDB.
const (
	DeadlineReserve = time.Second
	FallbackTimeout = 30 * time.Second
)

// deadlineDB bounds every call of the client it wraps.
type deadlineDB struct {
	db       DynamoDB
	fallback time.Duration
}

func (d deadlineDB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if outer, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, outer.Add(-DeadlineReserve))
	}
	return context.WithTimeout(ctx, d.fallback)
}

func (d deadlineDB) GetItem(ctx context.Context, in *dynamoclient.GetItemInput) (*dynamoclient.GetItemOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.GetItem(ctx, in)
}

func (d deadlineDB) PutItem(ctx context.Context, in *dynamoclient.PutItemInput) (*dynamoclient.PutItemOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.PutItem(ctx, in)
}

func (d deadlineDB) UpdateItem(ctx context.Context, in *dynamoclient.UpdateItemInput) (*dynamoclient.UpdateItemOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.UpdateItem(ctx, in)
}

func (d deadlineDB) Query(ctx context.Context, in *dynamoclient.QueryInput) (*dynamoclient.QueryOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.Query(ctx, in)
}

func (d deadlineDB) BatchGetItem(ctx context.Context, in *dynamoclient.BatchGetItemInput) (*dynamoclient.BatchGetItemOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.BatchGetItem(ctx, in)
}

func (d deadlineDB) TransactWriteItems(ctx context.Context, in *dynamoclient.TransactWriteItemsInput) (*dynamoclient.TransactWriteItemsOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.db.TransactWriteItems(ctx, in)
}
