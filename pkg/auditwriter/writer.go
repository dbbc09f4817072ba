// Package auditwriter copies into the audit log the audit events that ride on the writes of
// the user's state (pkg/dynamostore, outbox.go): the table's DynamoDB stream in, plain puts of
// the audit items out. An answer to a challenge is one conditional write of one item that
// carries its event; this writer makes that event an audit item off the request path.
//
// A put is idempotent: the event carries its audit item whole (key, fields, expiry), so a
// batch Lambda retries puts the same items again, and an identical put changes nothing (and
// writes no stream record, so nothing is published twice).
package auditwriter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/outbox"
)

// maxBatchPuts is BatchWriteItem's limit. (The table layout the writer reads is pkg/outbox's.)
const maxBatchPuts = 25

// CopiedAttr marks the writer's copies (outbox.CopiedAttr).
const CopiedAttr = outbox.CopiedAttr

// DynamoDB is the part of the DynamoDB API the writer uses.
type DynamoDB interface {
	BatchWriteItem(ctx context.Context, in *dynamoclient.BatchWriteItemInput) (*dynamoclient.BatchWriteItemOutput, error)
}

// Writer puts the pending events of stream batches into one table.
type Writer struct {
	db      DynamoDB
	table   string
	log     *slog.Logger
	retries int           // rounds of unprocessed items sent again within one invocation
	backoff time.Duration // before the first such round; doubles
}

// Option configures a Writer.
type Option func(*Writer)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(w *Writer) { w.log = l } }

// WithRetries sets how often items DynamoDB left unprocessed are sent again before the batch
// reports a failure, and the first pause.
func WithRetries(n int, backoff time.Duration) Option {
	return func(w *Writer) { w.retries, w.backoff = n, backoff }
}

// New returns a writer of audit items into table.
func New(db DynamoDB, table string, opts ...Option) *Writer {
	w := &Writer{db: db, table: table, log: slog.New(slog.DiscardHandler), retries: 3, backoff: 50 * time.Millisecond}
	for _, o := range opts {
		o(w)
	}
	return w
}

// put is one audit item to write and the stream record it came from.
type put struct {
	record int
	key    string
	item   map[string]dynamoclient.AttributeValue
}

// Handle writes the pending events of one batch of stream records. A record it cannot read
// or an item it could not write is reported as the batch's first failure, so Lambda retries
// from it (and, after the mapping's retries, sends the batch's coordinates to the on-failure
// queue).
func (w *Writer) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var puts []put
	stop := len(ev.Records)
	for i, rec := range ev.Records {
		item, err := PendingEvent(rec)
		if err != nil {
			w.log.LogAttrs(ctx, slog.LevelError, "audit writer: unreadable record", slog.String("sequenceNumber", rec.Change.SequenceNumber), slog.String("error", err.Error()))
			stop = i
			break
		}
		if item != nil {
			puts = append(puts, put{record: i, key: itemKey(item), item: item})
		}
	}
	first := stop
	written := 0
	for start := 0; start < len(puts); {
		end, keys := start, map[string]bool{}
		// A batch may not name one key twice: a record retried within the batch ends it.
		for end < len(puts) && end-start < maxBatchPuts && !keys[puts[end].key] {
			keys[puts[end].key] = true
			end++
		}
		if err := w.write(ctx, puts[start:end]); err != nil {
			w.log.LogAttrs(ctx, slog.LevelError, "audit writer: write", slog.String("error", err.Error()))
			first = min(first, puts[start].record)
			break
		}
		written += end - start
		start = end
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "audit events", slog.Int("records", len(ev.Records)), slog.Int("written", written))
	if first >= len(ev.Records) {
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
	}
	seq := ev.Records[first].Change.SequenceNumber
	w.log.LogAttrs(ctx, slog.LevelWarn, "audit events left for a retry", slog.String("fromSequenceNumber", seq), slog.Int("records", len(ev.Records)-first))
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}, nil
}

// write puts the items, sending again what DynamoDB leaves unprocessed.
func (w *Writer) write(ctx context.Context, batch []put) error {
	reqs := make([]dynamoclient.WriteRequest, len(batch))
	for i, p := range batch {
		reqs[i] = dynamoclient.WriteRequest{PutRequest: &dynamoclient.PutRequest{Item: p.item}}
	}
	pause := w.backoff
	for round := 0; ; round++ {
		out, err := w.db.BatchWriteItem(ctx, &dynamoclient.BatchWriteItemInput{RequestItems: map[string][]dynamoclient.WriteRequest{w.table: reqs}})
		if err != nil {
			return err
		}
		reqs = out.UnprocessedItems[w.table]
		if len(reqs) == 0 {
			return nil
		}
		if round >= w.retries {
			return fmt.Errorf("%d audit items left unprocessed", len(reqs))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// PendingEvent returns the audit item a stream record brings into the log: the event a write
// of a user's state carried, marked as copied, when it is new in that write (nil otherwise:
// another record of the table, a state write that carried none, or one that left the event as
// it was; outbox.NewEvent).
func PendingEvent(rec events.DynamoDBEventRecord) (map[string]dynamoclient.AttributeValue, error) {
	ev, err := outbox.NewEvent(rec)
	if ev == nil || err != nil {
		return nil, err
	}
	item, err := attributeMap(ev)
	if err != nil {
		return nil, fmt.Errorf("event carried by %s: %w", rec.Change.Keys["pk"].String(), err)
	}
	item[CopiedAttr] = &dynamoclient.AttributeValueMemberBOOL{Value: true}
	return item, nil
}

func itemKey(item map[string]dynamoclient.AttributeValue) string {
	pk, _ := item["pk"].(*dynamoclient.AttributeValueMemberS)
	sk, _ := item["sk"].(*dynamoclient.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

// attributeMap converts an image's map as Lambda delivers it into the store client's attribute values.
func attributeMap(m map[string]events.DynamoDBAttributeValue) (map[string]dynamoclient.AttributeValue, error) {
	out := make(map[string]dynamoclient.AttributeValue, len(m))
	for k, v := range m {
		a, err := attribute(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

func attribute(v events.DynamoDBAttributeValue) (dynamoclient.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &dynamoclient.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &dynamoclient.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &dynamoclient.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &dynamoclient.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &dynamoclient.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &dynamoclient.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &dynamoclient.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &dynamoclient.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := make([]dynamoclient.AttributeValue, 0, len(v.List()))
		for _, x := range v.List() {
			a, err := attribute(x)
			if err != nil {
				return nil, err
			}
			l = append(l, a)
		}
		return &dynamoclient.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := attributeMap(v.Map())
		if err != nil {
			return nil, err
		}
		return &dynamoclient.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("attribute of unknown type %v", v.DataType())
}
