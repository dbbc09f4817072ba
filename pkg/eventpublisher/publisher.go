// Package eventpublisher is the Lambda handler that publishes security events: it reads the
// table's DynamoDB stream (audit items; writes of a user's state, for the event they carry and
// the failure counters of User Locked), builds each event with pkg/securityevents and sends
// them to EventBridge with PutEvents, ten at a time.
//
// Delivery is at least once and nothing is skipped: entries EventBridge refuses are retried in
// the invocation; what still fails is reported as a batch item failure at the first record
// not fully published, so that Lambda retries from there (FunctionResponseTypes:
// ReportBatchItemFailures) and, when its retries run out, hands the batch to the on-failure
// destination. A retry can publish an event again; its detail.eventId is the same, so
// consumers dedupe on it.
package eventpublisher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/securityevents"
)

// EventBridge is the part of the client the publisher uses.
type EventBridge interface {
	PutEvents(ctx context.Context, in *eventsclient.PutEventsInput) (*eventsclient.PutEventsOutput, error)
}

// PutEvents limits: entries per call and bytes per call (as EventBridge counts them).
const (
	maxEntries   = 10
	maxCallBytes = 256 * 1024
)

// Publisher publishes the events of stream batches to one event bus.
type Publisher struct {
	client       EventBridge
	bus          string
	regulation   mfa.Regulation
	log          *slog.Logger
	entryRetries int           // retries of entries EventBridge refused, within one invocation
	backoff      time.Duration // before the first such retry; doubles
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(p *Publisher) { p.log = l } }

// WithEntryRetries sets how often refused entries are sent again before the batch reports a
// failure, and the first pause.
func WithEntryRetries(n int, backoff time.Duration) Option {
	return func(p *Publisher) { p.entryRetries, p.backoff = n, backoff }
}

// New returns a publisher to bus (a name or ARN; "default" is the account's default bus).
func New(client EventBridge, bus string, opts ...Option) *Publisher {
	p := &Publisher{client: client, bus: bus, regulation: mfa.DefaultRegulation, log: slog.New(slog.DiscardHandler), entryRetries: 2, backoff: 50 * time.Millisecond}
	for _, o := range opts {
		o(p)
	}
	return p
}

// entry is one event to send and the stream record it came from.
type entry struct {
	record  int
	userID  string
	at      string
	derived bool // not an audit item (User Locked)
	id      string
	req     eventsclient.PutEventsRequestEntry
	size    int
	sent    bool
}

// Handle publishes the events of one batch of stream records.
func (p *Publisher) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	entries, stop := p.entries(ctx, ev.Records)
	published := 0
	for start := 0; start < len(entries); {
		end := chunkEnd(entries, start)
		if err := p.send(ctx, entries[start:end]); err != nil {
			p.log.LogAttrs(ctx, slog.LevelError, "publish security events", slog.String("error", err.Error()))
			break
		}
		published += end - start
		start = end
	}
	// The first record not fully published: Lambda retries from it.
	first := stop
	for _, e := range entries {
		if !e.sent && e.record < first {
			first = e.record
		}
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "security events", slog.Int("records", len(ev.Records)), slog.Int("published", published))
	if first >= len(ev.Records) {
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
	}
	seq := ev.Records[first].Change.SequenceNumber
	p.log.LogAttrs(ctx, slog.LevelWarn, "security events left for a retry", slog.String("fromSequenceNumber", seq), slog.Int("records", len(ev.Records)-first))
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}, nil
}

// entries builds the entries of the records in order, up to the first record that cannot be
// read (returned as stop; len(records) when all could). A User Locked event goes after the
// audit event of the failure that caused it, when both are in the batch.
func (p *Publisher) entries(ctx context.Context, records []events.DynamoDBEventRecord) ([]*entry, int) {
	var out []*entry
	for i, rec := range records {
		evs, err := eventsOf(p.regulation, rec)
		if err != nil {
			p.log.LogAttrs(ctx, slog.LevelError, "unreadable stream record", slog.String("sequenceNumber", rec.Change.SequenceNumber), slog.String("error", err.Error()))
			return out, i
		}
		for _, ev := range evs {
			detail, err := json.Marshal(ev.Detail)
			if err != nil {
				return out, i
			}
			at, _ := time.Parse(time.RFC3339Nano, ev.Detail.OccurredAt)
			req := eventsclient.PutEventsRequestEntry{
				EventBusName: aws.String(p.bus),
				Source:       aws.String(securityevents.Source),
				DetailType:   aws.String(ev.DetailType),
				Detail:       aws.String(string(detail)),
				Time:         aws.Time(at),
			}
			out = append(out, &entry{
				record: i, userID: ev.Detail.UserID, at: ev.Detail.OccurredAt, id: ev.Detail.EventID,
				derived: ev.Detail.Action == securityevents.ActionUserLocked, req: req,
				size: 14 + len(securityevents.Source) + len(ev.DetailType) + len(detail),
			})
		}
	}
	return causesFirst(out), len(records)
}

// causesFirst moves each derived event after the last audit event of the same user at the same
// instant: the failure that caused a lock is written in the same transaction as the counters,
// and the stream does not order the two items.
func causesFirst(es []*entry) []*entry {
	for i := 0; i < len(es); i++ {
		if !es[i].derived {
			continue
		}
		last := -1
		for j := i + 1; j < len(es); j++ {
			if !es[j].derived && es[j].userID == es[i].userID && es[j].at == es[i].at {
				last = j
			}
		}
		if last < 0 {
			continue
		}
		d := es[i]
		copy(es[i:last], es[i+1:last+1])
		es[last] = d
		i-- // es[i] is now the next entry
	}
	return es
}

// chunkEnd returns the end of the PutEvents call that starts at start.
func chunkEnd(es []*entry, start int) int {
	end, bytes := start, 0
	for end < len(es) && end-start < maxEntries && (end == start || bytes+es[end].size <= maxCallBytes) {
		bytes += es[end].size
		end++
	}
	return end
}

// send publishes a chunk, sending refused entries again; it marks what was published.
func (p *Publisher) send(ctx context.Context, chunk []*entry) error {
	pending := chunk
	pause := p.backoff
	for attempt := 0; ; attempt++ {
		in := &eventsclient.PutEventsInput{Entries: make([]eventsclient.PutEventsRequestEntry, len(pending))}
		for k, e := range pending {
			in.Entries[k] = e.req
		}
		out, err := p.client.PutEvents(ctx, in)
		if err != nil {
			return err // the client has already retried throttling and 5xx (the SDK's retryer)
		}
		if len(out.Entries) != len(pending) {
			return errors.New("PutEvents answered for a different number of entries")
		}
		var refused []*entry
		var reason string
		for k, r := range out.Entries {
			if r.ErrorCode != nil {
				refused = append(refused, pending[k])
				reason = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
				continue
			}
			pending[k].sent = true
		}
		if len(refused) == 0 {
			return nil
		}
		p.log.LogAttrs(ctx, slog.LevelWarn, "EventBridge refused entries", slog.Int("refused", len(refused)), slog.String("reason", reason), slog.Int("attempt", attempt+1))
		if attempt >= p.entryRetries {
			return errors.New("EventBridge refused entries: " + reason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
		pending = refused
	}
}
