package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

func templateMapping(t *testing.T) (*samtemplate.Template, samtemplate.EventSourceMapping) {
	t.Helper()
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	esm, err := tpl.EventSourceMapping("EventPublisherStream")
	if err != nil {
		t.Fatal(err)
	}
	return tpl, *esm
}

func streamRecordJSON(t *testing.T, rec events.DynamoDBEventRecord) any {
	t.Helper()
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	_ = json.Unmarshal(raw, &doc)
	return doc
}

// The template's filters let through new audit items (but the routine ones) and failure-counter
// changes only.
func TestTemplateFilterPatterns(t *testing.T) {
	_, esm := templateMapping(t)
	var ps []*Pattern
	for _, src := range esm.Patterns() {
		p, err := ParsePattern(src)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	rec := func(name, pk, sk string, newImg map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
			Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)}, NewImage: newImg}}
	}
	action := func(a string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"action": events.NewStringAttribute(a)}
	}
	carrying := func(a string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"ev": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute("AUDIT#alice"), "sk": events.NewStringAttribute("EVENT#1"), "action": events.NewStringAttribute(a)})}
	}
	failures := func(n string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"failures": events.NewNumberAttribute(n)}
	}
	for _, tc := range []struct {
		name string
		rec  events.DynamoDBEventRecord
		want bool
	}{
		{"new audit item", rec("INSERT", "AUDIT#alice", "EVENT#1", action("verification.failed")), true},
		{"state carrying a failure's event", rec("MODIFY", "USER#alice", "U#STATE", carrying("verification.refused")), true},
		{"first state carrying an event", rec("INSERT", "USER#alice", "U#STATE", carrying("code.refused")), true},
		{"state carrying a routine event", rec("MODIFY", "USER#alice", "U#STATE", carrying("verification.succeeded")), false},
		{"expired audit item", rec("REMOVE", "AUDIT#alice", "EVENT#1", nil), false},
		{"policy audit item", rec("INSERT", "AUDIT##policy", "EVENT#1", action("policy.changed")), true},
		{"routine audit item (opt-in: EventPublisherRoutineStream)", rec("INSERT", "AUDIT#alice", "EVENT#1", action("verification.succeeded")), false},
		{"failure counted", rec("MODIFY", "USER#alice", "U#STATE", failures("5")), true},
		{"first state with a failure", rec("INSERT", "USER#alice", "U#STATE", failures("1")), true},
		{"counter reset", rec("MODIFY", "USER#alice", "U#STATE", failures("0")), false},
		{"state without failures", rec("MODIFY", "USER#alice", "U#STATE", map[string]events.DynamoDBAttributeValue{"lastChallengeAt": events.NewNumberAttribute("1")}), false},
		{"factor item", rec("INSERT", "USER#alice", "U#FACTOR#x", failures("3")), false},
		{"challenge", rec("MODIFY", "USER#alice", "CHALLENGE#x", failures("3")), false},
	} {
		got := false
		for _, p := range ps {
			got = got || p.Match(streamRecordJSON(t, tc.rec))
		}
		if got != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPatternOperators(t *testing.T) {
	doc := map[string]any{"a": "hello", "n": 5.0, "l": []any{"x", "y"}, "o": map[string]any{"b": true}}
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{`{"a":["hello"]}`, true},
		{`{"a":["bye"]}`, false},
		{`{"a":[{"prefix":"he"}]}`, true},
		{`{"a":[{"suffix":"lo"}]}`, true},
		{`{"a":[{"anything-but":["hello"]}]}`, false},
		{`{"a":[{"anything-but":"bye"}]}`, true},
		{`{"missing":[{"anything-but":["x"]}]}`, false},
		{`{"missing":[{"exists":false}]}`, true},
		{`{"a":[{"exists":true}]}`, true},
		{`{"n":[5]}`, true},
		{`{"n":["5"]}`, false},
		{`{"l":["y"]}`, true},
		{`{"o":{"b":[true]}}`, true},
		{`{"o":{"b":[false]}}`, false},
		{`{"a":{"b":["x"]}}`, false},
		// Paths are flattened to their leaves, as event-ruler does: under a missing object,
		// or ending on an object, a leaf is missing.
		{`{"missing":{"x":[{"exists":false}]}}`, true},
		{`{"missing":{"x":[{"exists":true}]}}`, false},
		{`{"missing":{"x":[{"anything-but":["y"]}]}}`, false},
		{`{"o":{"c":[{"exists":false}]}}`, true},
		{`{"o":{"b":[{"exists":false}]}}`, false},
		{`{"o":[{"exists":false}]}`, true},
		{`{"o":[{"exists":true}]}`, false},
		{`{"a":{"b":[{"exists":false}]}}`, true},
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Match(doc); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`{"n":[{"numeric":[">",1]}]}`, `{"a":"x"}`, `[1]`} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

// streamEnv is a table with its stream on, in a moto of its own.
type streamEnv struct {
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
	table   string
	arn     string
	esm     samtemplate.EventSourceMapping
}

func newStreamEnv(t *testing.T, m *Moto, n int) *streamEnv {
	t.Helper()
	cfg, err := AWSConfig(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	tpl, esm := templateMapping(t)
	names := Names{Table: fmt.Sprintf("streams-%d", n), KeyAlias: fmt.Sprintf("streams-%d", n), SenderEmail: "mfa@example.com", EventBus: fmt.Sprintf("bus-%d", n)}
	res, err := Bootstrap(t.Context(), cfg, tpl, names)
	if err != nil {
		t.Fatal(err)
	}
	if res.StreamARN == "" || res.EventBus != names.EventBus {
		t.Fatalf("resources %+v: no stream or bus", res)
	}
	again, err := Bootstrap(t.Context(), cfg, tpl, names)
	if err != nil || again != res {
		t.Fatalf("second bootstrap: %+v, %v", again, err)
	}
	return &streamEnv{db: dynamodb.NewFromConfig(cfg), streams: dynamodbstreams.NewFromConfig(cfg), table: names.Table, arn: res.StreamARN, esm: esm}
}

func (e *streamEnv) putAudit(t *testing.T, uid string, i int) {
	t.Helper()
	_, err := e.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &e.table, Item: map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: "AUDIT#" + uid}, "sk": &dbtypes.AttributeValueMemberS{Value: fmt.Sprintf("EVENT#%04d", i)},
		"action": &dbtypes.AttributeValueMemberS{Value: "verification.failed"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// recorder is a handler that keeps every invocation and fails as told.
type recorder struct {
	mu      sync.Mutex
	batches [][]string // sk of each record, per invocation
	failAt  func(invocation int, batch []events.DynamoDBEventRecord) string
}

func (r *recorder) handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sks []string
	for _, rec := range ev.Records {
		sks = append(sks, rec.Change.Keys["sk"].String())
	}
	r.batches = append(r.batches, sks)
	resp := events.DynamoDBEventResponse{}
	if r.failAt != nil {
		if seq := r.failAt(len(r.batches), ev.Records); seq != "" {
			resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}
		}
	}
	return resp, nil
}

func (r *recorder) seen() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.batches...)
}

func runMapping(t *testing.T, m *StreamMapping) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStreamMapping(t *testing.T) {
	m := runMoto(t)

	t.Run("filtered records in batches, in order", func(t *testing.T) {
		e := newStreamEnv(t, m, 1)
		e.esm.BatchSize = 10
		for i := range 25 {
			e.putAudit(t, "alice", i)
		}
		// Not audit items: filtered out by the template's patterns.
		if _, err := e.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &e.table, Item: map[string]dbtypes.AttributeValue{
			"pk": &dbtypes.AttributeValueMemberS{Value: "USER#alice"}, "sk": &dbtypes.AttributeValueMemberS{Value: "U#FACTOR#x"}}}); err != nil {
			t.Fatal(err)
		}
		r := &recorder{}
		runMapping(t, &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle, Idle: 10 * time.Millisecond})
		total := func() int {
			n := 0
			for _, b := range r.seen() {
				n += len(b)
			}
			return n
		}
		waitUntil(t, "25 records", func() bool { return total() >= 25 })
		e.putAudit(t, "alice", 25) // arrives later, in a batch of its own
		waitUntil(t, "26 records", func() bool { return total() >= 26 })
		time.Sleep(100 * time.Millisecond)
		var all []string
		for _, b := range r.seen() {
			if len(b) > 10 {
				t.Errorf("batch of %d records, BatchSize is 10", len(b))
			}
			all = append(all, b...)
		}
		for i, sk := range all {
			if want := fmt.Sprintf("EVENT#%04d", i); sk != want {
				t.Fatalf("record %d is %s, want %s (all: %v)", i, sk, want, all)
			}
		}
		if len(all) != 26 {
			t.Errorf("%d records delivered, want 26", len(all))
		}
	})

	t.Run("retry from the reported record", func(t *testing.T) {
		e := newStreamEnv(t, m, 2)
		for i := range 6 {
			e.putAudit(t, "bob", i)
		}
		r := &recorder{failAt: func(n int, batch []events.DynamoDBEventRecord) string {
			if n == 1 && len(batch) > 3 {
				return batch[3].Change.SequenceNumber
			}
			return ""
		}}
		runMapping(t, &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle, Idle: 10 * time.Millisecond})
		waitUntil(t, "the retry", func() bool { return len(r.seen()) >= 2 })
		got := r.seen()
		if fmt.Sprint(got[0]) != "[EVENT#0000 EVENT#0001 EVENT#0002 EVENT#0003 EVENT#0004 EVENT#0005]" ||
			fmt.Sprint(got[1]) != "[EVENT#0003 EVENT#0004 EVENT#0005]" {
			t.Errorf("invocations %v", got)
		}
	})

	t.Run("gives up after the retries, to the on-failure destination", func(t *testing.T) {
		e := newStreamEnv(t, m, 3)
		e.esm.MaximumRetryAttempts = 2
		for i := range 3 {
			e.putAudit(t, "carol", i)
		}
		r := &recorder{failAt: func(_ int, batch []events.DynamoDBEventRecord) string { return batch[0].Change.SequenceNumber }}
		var mu sync.Mutex
		var failed []FailedBatch
		runMapping(t, &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle, Idle: 10 * time.Millisecond,
			OnFailure: func(_ context.Context, fb FailedBatch) error {
				mu.Lock()
				defer mu.Unlock()
				failed = append(failed, fb)
				return nil
			}})
		waitUntil(t, "the on-failure destination", func() bool { mu.Lock(); defer mu.Unlock(); return len(failed) > 0 })
		if n := len(r.seen()); n != 3 {
			t.Errorf("%d invocations, want 1 + 2 retries", n)
		}
		mu.Lock()
		fb := failed[0]
		mu.Unlock()
		if fb.DDBStreamBatchInfo.BatchSize != 3 || fb.DDBStreamBatchInfo.StreamArn != e.arn || fb.RequestContext.Condition != "RetryAttemptsExhausted" {
			t.Errorf("on-failure record %+v", fb)
		}
		e.putAudit(t, "carol", 9) // the mapping moved on
		waitUntil(t, "the next record", func() bool {
			s := r.seen()
			return len(s) >= 4 && s[len(s)-1][0] == "EVENT#0009"
		})
	})

	// A cancelled transaction streams nothing (moto applies a transaction's items one by one;
	// the launcher cuts the stream back with the table).
	t.Run("cancelled transaction leaves no record", func(t *testing.T) {
		e := newStreamEnv(t, m, 4)
		put := func(pk, sk string) dbtypes.TransactWriteItem {
			return dbtypes.TransactWriteItem{Put: &dbtypes.Put{TableName: &e.table, Item: map[string]dbtypes.AttributeValue{
				"pk": &dbtypes.AttributeValueMemberS{Value: pk}, "sk": &dbtypes.AttributeValueMemberS{Value: sk}}}}
		}
		failing := dbtypes.TransactWriteItem{ConditionCheck: &dbtypes.ConditionCheck{TableName: &e.table,
			Key:                 map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "USER#dave"}, "sk": &dbtypes.AttributeValueMemberS{Value: "U#STATE"}},
			ConditionExpression: aws.String("attribute_exists(pk)")}}
		_, err := e.db.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{put("AUDIT#dave", "EVENT#0001"), failing}})
		if err == nil {
			t.Fatal("the transaction went through")
		}
		e.putAudit(t, "dave", 2)
		r := &recorder{}
		runMapping(t, &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle, Idle: 10 * time.Millisecond})
		waitUntil(t, "a record", func() bool { return len(r.seen()) > 0 })
		time.Sleep(100 * time.Millisecond)
		if got := fmt.Sprint(r.seen()); got != "[[EVENT#0002]]" {
			t.Errorf("records %s, want only the item written after the cancelled transaction", got)
		}
	})

	t.Run("wait until idle: every record written before is handled", func(t *testing.T) {
		e := newStreamEnv(t, m, 5)
		r := &recorder{}
		mapping := &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle, Idle: 30 * time.Millisecond}
		runMapping(t, mapping)
		for round := range 3 {
			for i := range 7 {
				e.putAudit(t, "erin", round*7+i)
			}
			if err := mapping.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, b := range r.seen() {
				n += len(b)
			}
			if n != (round+1)*7 {
				t.Fatalf("round %d: %d records handled when idle, want %d", round, n, (round+1)*7)
			}
		}
	})

	t.Run("stopping lets the batch in flight finish, within its deadline", func(t *testing.T) {
		e := newStreamEnv(t, m, 7)
		e.putAudit(t, "gina", 1)
		started, release := make(chan struct{}), make(chan struct{})
		var handlerErr, deadlineLeft = make(chan error, 1), make(chan time.Duration, 1)
		handler := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			close(started)
			<-release
			handlerErr <- ctx.Err()
			d, _ := ctx.Deadline()
			deadlineLeft <- time.Until(d)
			return events.DynamoDBEventResponse{}, nil
		}
		mapping := &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: handler, Idle: 10 * time.Millisecond, Timeout: 30 * time.Second}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- mapping.Run(ctx) }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("no invocation")
		}
		cancel()
		select {
		case <-done:
			t.Fatal("the mapping stopped before the batch in flight finished")
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		if err := <-handlerErr; err != nil {
			t.Fatalf("the invocation's context ended with the poller's: %v", err)
		}
		if left := <-deadlineLeft; left <= 0 || left > 30*time.Second {
			t.Fatalf("the invocation's deadline is %v away, want within its 30 s timeout", left)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("drain hands over what is there and returns", func(t *testing.T) {
		e := newStreamEnv(t, m, 6)
		e.esm.BatchSize = 4
		for i := range 10 {
			e.putAudit(t, "frank", i)
		}
		r := &recorder{failAt: func(n int, batch []events.DynamoDBEventRecord) string {
			if n == 2 { // the second batch fails from its second record once
				return batch[1].Change.SequenceNumber
			}
			return ""
		}}
		mapping := &StreamMapping{Streams: e.streams, StreamARN: e.arn, Config: e.esm, Handler: r.handle}
		if err := mapping.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, b := range r.seen() {
			for _, sk := range b {
				seen[sk] = true
			}
		}
		if len(seen) != 10 {
			t.Fatalf("drain handled %d distinct records, want 10: %v", len(seen), r.seen())
		}
	})
}

// Turning the stream on is idempotent, also when callers race or an UpdateTable is retried
// after its answer was lost: every caller gets the one stream's ARN.
func TestEnableStreamRacesToOneStream(t *testing.T) {
	m := runMoto(t)
	cfg, err := AWSConfig(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := templateMapping(t)
	spec, err := tpl.Table(TableLogicalID)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := CreateTable(t.Context(), db, "race", spec); err != nil {
		t.Fatal(err)
	}
	const n = 6
	arns := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { arns[i], errs[i] = EnableStream(t.Context(), db, "race", spec) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || arns[i] == "" || arns[i] != arns[0] {
			t.Errorf("caller %d: %q, %v (caller 0: %q)", i, arns[i], errs[i], arns[0])
		}
	}
}
