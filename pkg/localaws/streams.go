package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// StreamHandler is a Lambda handler of DynamoDB stream batches.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// FailedBatch is what Lambda sends to an event source mapping's on-failure destination when
// it gives up on a batch of a stream: where the records are, not the records.
type FailedBatch struct {
	RequestContext struct {
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	DDBStreamBatchInfo struct {
		ShardID             string `json:"shardId"`
		StartSequenceNumber string `json:"startSequenceNumber"`
		EndSequenceNumber   string `json:"endSequenceNumber"`
		BatchSize           int    `json:"batchSize"`
		StreamArn           string `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
}

// StreamMapping does locally what Lambda's event source mapping does for a DynamoDB stream, as
// template.yaml configures it: it polls the stream's shards, keeps the records that match one
// of the filter patterns (the others count as processed), hands them to the handler in batches
// of at most BatchSize as the same JSON Lambda sends, and with ReportBatchItemFailures retries
// from the first record the handler reports, up to MaximumRetryAttempts, after which the batch
// goes to OnFailure and the mapping moves on.
type StreamMapping struct {
	Streams   *dynamodbstreams.Client
	StreamARN string
	Config    samtemplate.EventSourceMapping
	Handler   StreamHandler
	OnFailure func(context.Context, FailedBatch) error // nil: log only
	Log       *slog.Logger
	Idle      time.Duration // pause when the stream has nothing new; default 100 ms
	// Timeout is each invocation's deadline, the function's Timeout in Lambda; default 60 s
	// (the template's stream functions).
	Timeout time.Duration

	idlePasses atomic.Int64 // passes of Run over every shard that found nothing to do
}

type shardReader struct {
	id       string
	iterator *string
	pending  []events.DynamoDBEventRecord
	attempts int
}

// Run polls until ctx ends.
func (m *StreamMapping) Run(ctx context.Context) error {
	patterns, err := m.setUp()
	if err != nil {
		return err
	}
	shards := map[string]*shardReader{}
	for {
		failed := false // a pass that could not read everything is not an idle one
		if err := m.discover(ctx, shards); err != nil && ctx.Err() == nil {
			failed = true
			m.Log.LogAttrs(ctx, slog.LevelWarn, "describe stream", slog.String("error", err.Error()))
		}
		busy := false
		for _, sh := range shards {
			more, err := m.poll(ctx, sh, patterns)
			if err != nil && ctx.Err() == nil {
				failed = true
				m.Log.LogAttrs(ctx, slog.LevelWarn, "read stream", slog.String("shard", sh.id), slog.String("error", err.Error()))
			}
			busy = busy || more
		}
		pause := m.Idle
		if busy {
			pause = 0
		} else if !failed {
			m.idlePasses.Add(1)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

// WaitIdle returns once Run has handled every record written before the call: when a whole
// pass over the shards that began after the call found nothing to do (tests look at what the
// handler did only then, where in Lambda they would wait).
func (m *StreamMapping) WaitIdle(ctx context.Context) error {
	start := m.idlePasses.Load()
	for m.idlePasses.Load() < start+2 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Drain hands the handler every record in the stream now, from the mapping's starting
// position, and returns when no shard has more (tests use it where Lambda would have invoked
// the function by the time anyone looks).
func (m *StreamMapping) Drain(ctx context.Context) error {
	patterns, err := m.setUp()
	if err != nil {
		return err
	}
	shards := map[string]*shardReader{}
	if err := m.discover(ctx, shards); err != nil {
		return err
	}
	for {
		busy := false
		for _, sh := range shards {
			more, err := m.poll(ctx, sh, patterns)
			if err != nil {
				return err
			}
			busy = busy || more
		}
		if !busy {
			return ctx.Err()
		}
	}
}

func (m *StreamMapping) setUp() ([]*Pattern, error) {
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.Idle <= 0 {
		m.Idle = 100 * time.Millisecond
	}
	var patterns []*Pattern
	for _, src := range m.Config.Patterns() {
		p, err := ParsePattern(src)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, p)
	}
	return patterns, nil
}

func (m *StreamMapping) discover(ctx context.Context, shards map[string]*shardReader) error {
	out, err := m.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &m.StreamARN})
	if err != nil {
		return err
	}
	for _, s := range out.StreamDescription.Shards {
		id := aws.ToString(s.ShardId)
		if _, ok := shards[id]; ok {
			continue
		}
		pos := st.ShardIteratorTypeTrimHorizon
		if m.Config.StartingPosition == "LATEST" {
			pos = st.ShardIteratorTypeLatest
		}
		it, err := m.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: &m.StreamARN, ShardId: &id, ShardIteratorType: pos})
		if err != nil {
			return err
		}
		shards[id] = &shardReader{id: id, iterator: it.ShardIterator}
	}
	return nil
}

// poll reads what is new in a shard and invokes the handler with one batch; it reports
// whether there is more to do at once.
func (m *StreamMapping) poll(ctx context.Context, sh *shardReader, patterns []*Pattern) (bool, error) {
	batchSize := m.Config.BatchSize
	read := false
	if len(sh.pending) < batchSize && sh.iterator != nil {
		out, err := m.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iterator, Limit: aws.Int32(1000)})
		if err != nil {
			return false, err
		}
		sh.iterator = out.NextShardIterator
		read = len(out.Records) > 0
		for _, r := range out.Records {
			rec := lambdaRecord(r, m.StreamARN)
			ok, err := matchesAny(patterns, rec)
			if err != nil {
				return false, err
			}
			if ok {
				sh.pending = append(sh.pending, rec)
			}
		}
	}
	if len(sh.pending) == 0 {
		return read, nil // records read but filtered out: there may be more behind them
	}
	batch := sh.pending[:min(batchSize, len(sh.pending))]
	from, err := m.invoke(ctx, batch)
	if err != nil {
		m.Log.LogAttrs(ctx, slog.LevelWarn, "stream batch failed", slog.String("error", err.Error()))
	}
	if from >= len(batch) { // all processed
		sh.pending, sh.attempts = sh.pending[len(batch):], 0
		return true, nil
	}
	sh.pending = sh.pending[from:]
	sh.attempts++
	if limit := m.Config.MaximumRetryAttempts; limit >= 0 && sh.attempts > limit {
		left := batch[from:]
		m.giveUp(ctx, sh, left)
		sh.pending, sh.attempts = sh.pending[len(left):], 0
		return true, nil
	}
	select { // Lambda retries a failed batch at once; a little pause keeps a loop polite
	case <-ctx.Done():
	case <-time.After(time.Duration(sh.attempts) * 20 * time.Millisecond):
	}
	return true, nil
}

// invoke runs the handler on a batch through JSON, as Lambda does, and returns the index of
// the first record to retry (len(batch) when none).
func (m *StreamMapping) invoke(ctx context.Context, batch []events.DynamoDBEventRecord) (int, error) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: batch})
	if err != nil {
		return 0, err
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return 0, err
	}
	// An invocation lives by its own deadline, as in Lambda, not by the poller's: stopping the
	// mapping lets the batch in flight finish instead of failing its calls half-way (which
	// would log an error and leave the batch for a retry no one makes).
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	resp, err := m.Handler(ictx, ev)
	if err != nil {
		return 0, fmt.Errorf("handler: %w", err)
	}
	if !m.Config.ReportsBatchItemFailures() || len(resp.BatchItemFailures) == 0 {
		return len(batch), nil
	}
	first := len(batch)
	for _, f := range resp.BatchItemFailures {
		i := indexOfSequence(batch, f.ItemIdentifier)
		if i < 0 {
			// Lambda treats an identifier that names no record as a failure of the whole batch.
			return 0, fmt.Errorf("batch item failure %q names no record of the batch", f.ItemIdentifier)
		}
		first = min(first, i)
	}
	return first, nil
}

func indexOfSequence(batch []events.DynamoDBEventRecord, seq string) int {
	for i, r := range batch {
		if seq != "" && r.Change.SequenceNumber == seq {
			return i
		}
	}
	return -1
}

func (m *StreamMapping) giveUp(ctx context.Context, sh *shardReader, left []events.DynamoDBEventRecord) {
	var fb FailedBatch
	fb.RequestContext.Condition = "RetryAttemptsExhausted"
	fb.RequestContext.ApproximateInvokeCount = sh.attempts
	fb.DDBStreamBatchInfo.ShardID = sh.id
	fb.DDBStreamBatchInfo.StartSequenceNumber = left[0].Change.SequenceNumber
	fb.DDBStreamBatchInfo.EndSequenceNumber = left[len(left)-1].Change.SequenceNumber
	fb.DDBStreamBatchInfo.BatchSize = len(left)
	fb.DDBStreamBatchInfo.StreamArn = m.StreamARN
	m.Log.LogAttrs(ctx, slog.LevelError, "stream batch given up", slog.String("from", fb.DDBStreamBatchInfo.StartSequenceNumber), slog.Int("records", len(left)))
	if m.OnFailure != nil {
		if err := m.OnFailure(ctx, fb); err != nil {
			m.Log.LogAttrs(ctx, slog.LevelError, "on-failure destination", slog.String("error", err.Error()))
		}
	}
}

func matchesAny(patterns []*Pattern, rec events.DynamoDBEventRecord) (bool, error) {
	if len(patterns) == 0 {
		return true, nil
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return false, err
	}
	for _, p := range patterns {
		if p.Match(doc) {
			return true, nil
		}
	}
	return false, nil
}

// lambdaRecord converts a record as GetRecords returns it into the record Lambda delivers.
func lambdaRecord(r st.Record, streamARN string) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{
		AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: streamARN,
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{
			Keys: lambdaImage(d.Keys), NewImage: lambdaImage(d.NewImage), OldImage: lambdaImage(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return rec
}

func lambdaImage(m map[string]st.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v st.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *st.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *st.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *st.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *st.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *st.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *st.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *st.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *st.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, x := range v.Value {
			l[i] = lambdaValue(x)
		}
		return events.NewListAttribute(l)
	case *st.AttributeValueMemberM:
		return events.NewMapAttribute(lambdaImage(v.Value))
	}
	return events.NewNullAttribute()
}
