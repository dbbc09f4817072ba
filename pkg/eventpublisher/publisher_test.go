package eventpublisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/eventpublisher"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/securityevents"
	"github.com/mfa-service/mfa/pkg/securityevents/schematest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var busSeq atomic.Int32

// newBus creates an event bus with a rule that sends the service's events to a queue, as an
// app would subscribe, and returns the bus name and the queue's reader.
func newBus(t *testing.T) (string, *localaws.EventTap) {
	t.Helper()
	cfg := awstest.Config(t)
	name := fmt.Sprintf("publisher-test-%d", busSeq.Add(1))
	// The name is this test's own: "already exists" is the SDK retrying a create that went
	// through (moto drops a connection now and then under a loaded test run).
	var exists *ebtypes.ResourceAlreadyExistsException
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	tap, err := localaws.NewEventTap(t.Context(), cfg, name, name, `{"source":["mfa-service"]}`)
	if err != nil {
		t.Fatal(err)
	}
	return name, tap
}

// faultyBridge is the real (moto) EventBridge client with faults injected per call: a whole
// call failing, or some entries refused (not forwarded, answered with an error code).
type faultyBridge struct {
	real eventpublisher.EventBridge

	mu     sync.Mutex
	calls  int
	sizes  []int
	fail   map[int]bool  // call number (1-based) → the call fails
	refuse map[int][]int // call number → indexes of entries refused
}

func (f *faultyBridge) PutEvents(ctx context.Context, in *eventsclient.PutEventsInput) (*eventsclient.PutEventsOutput, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.sizes = append(f.sizes, len(in.Entries))
	fail, refuse := f.fail[n], f.refuse[n]
	f.mu.Unlock()
	if len(in.Entries) > 10 {
		return nil, fmt.Errorf("ValidationException: %d entries in one PutEvents", len(in.Entries))
	}
	if fail {
		return nil, fmt.Errorf("injected fault: call %d failed", n)
	}
	refused := map[int]bool{}
	for _, i := range refuse {
		refused[i] = true
	}
	forward := &eventsclient.PutEventsInput{}
	for i, e := range in.Entries {
		if !refused[i] {
			forward.Entries = append(forward.Entries, e)
		}
	}
	var got *eventsclient.PutEventsOutput
	if len(forward.Entries) > 0 {
		var err error
		if got, err = f.real.PutEvents(ctx, forward); err != nil {
			return nil, err
		}
	}
	out := &eventsclient.PutEventsOutput{}
	k := 0
	for i := range in.Entries {
		if refused[i] {
			out.Entries = append(out.Entries, eventsclient.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("injected")})
			out.FailedEntryCount++
			continue
		}
		out.Entries = append(out.Entries, got.Entries[k])
		k++
	}
	return out, nil
}

func (f *faultyBridge) callSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

func newPublisher(t *testing.T, bus string, f *faultyBridge) *eventpublisher.Publisher {
	t.Helper()
	real, err := eventsclient.New(awstest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	f.real = real
	return eventpublisher.New(f, bus, eventpublisher.WithEntryRetries(2, time.Millisecond))
}

// invokeLikeLambda hands the batch to the handler as Lambda's event source mapping does with
// ReportBatchItemFailures: after a reported failure, it invokes again from that record.
func invokeLikeLambda(t *testing.T, p *eventpublisher.Publisher, records []events.DynamoDBEventRecord) (invocations int) {
	t.Helper()
	for {
		invocations++
		if invocations > 5 {
			t.Fatal("still failing after 5 invocations")
		}
		resp, err := p.Handle(t.Context(), events.DynamoDBEvent{Records: records})
		if err != nil {
			t.Fatalf("handler failed the whole batch: %v", err)
		}
		if len(resp.BatchItemFailures) == 0 {
			return invocations
		}
		from := -1
		for i, r := range records {
			if r.Change.SequenceNumber == resp.BatchItemFailures[0].ItemIdentifier {
				from = i
			}
		}
		if from < 0 {
			t.Fatalf("failure names %q, not a record of the batch", resp.BatchItemFailures[0].ItemIdentifier)
		}
		records = records[from:]
	}
}

func auditRecord(seq int, uid string, atMs int64, action string, extra map[string]string) events.DynamoDBEventRecord {
	pk, sk := "AUDIT#"+uid, fmt.Sprintf("EVENT#%013d#%012x", atMs, seq)
	img := map[string]events.DynamoDBAttributeValue{
		"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk),
		"action": events.NewStringAttribute(action), "actor": events.NewStringAttribute("user:" + uid),
		"userId": events.NewStringAttribute(uid), "outcome": events.NewStringAttribute("ok"),
		"at": events.NewNumberAttribute(strconv.FormatInt(atMs, 10)), "ttl": events.NewNumberAttribute("1900000000"),
	}
	for k, v := range extra {
		img[k] = events.NewStringAttribute(v)
	}
	return events.DynamoDBEventRecord{
		EventID: fmt.Sprintf("ev%d", seq), EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: "us-east-1",
		Change: events.DynamoDBStreamRecord{
			Keys:           map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
			NewImage:       img,
			SequenceNumber: fmt.Sprintf("%021d", 1000+seq),
			StreamViewType: "NEW_AND_OLD_IMAGES",
		},
	}
}

// manyRecords is n audit records of n users' challenges.
func manyRecords(n int) []events.DynamoDBEventRecord {
	var recs []events.DynamoDBEventRecord
	for i := range n {
		recs = append(recs, auditRecord(i, fmt.Sprintf("user-%d", i), 1796587200000+int64(i), "challenge.opened",
			map[string]string{"challengeId": "bbbbbbbbbbbbbbbbbbbbbbbbbb", "reason": "user_has_factors"}))
	}
	return recs
}

// checkPublished validates every event and counts each event id.
func checkPublished(t *testing.T, got []localaws.PublishedEvent) map[string]int {
	t.Helper()
	count := map[string]int{}
	for _, ev := range got {
		if err := schematest.Check(ev.Source, ev.DetailType, ev.Detail); err != nil {
			t.Error(err)
		}
		var d securityevents.Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		count[d.EventID]++
	}
	return count
}

func wait(t *testing.T, tap *localaws.EventTap, n int) []localaws.PublishedEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := tap.WaitFor(ctx, n, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestReplaySampleEvent replays events/event-publisher-stream.json (what `sam local invoke
// EventPublisherFunction -e` sends) and reads the events back through a rule.
func TestReplaySampleEvent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "event-publisher-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	bus, tap := newBus(t)
	p := newPublisher(t, bus, &faultyBridge{})
	for range 2 { // a redelivery publishes the same event ids
		resp, err := p.Handle(t.Context(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v, %v", resp.BatchItemFailures, err)
		}
	}
	got := wait(t, tap, 6)
	var types []string
	for _, e := range got {
		types = append(types, e.DetailType)
	}
	want := []string{"Verification Failed", "User Locked", "Factor Bound", "Verification Failed", "User Locked", "Factor Bound"}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("published %q, want %q", types, want)
	}
	for id, n := range checkPublished(t, got) {
		if n != 2 {
			t.Errorf("event %s published %d times over two deliveries, want the same id twice", id, n)
		}
	}
	var locked securityevents.Detail
	_ = json.Unmarshal(got[1].Detail, &locked)
	if locked.UserID != "alice" || locked.Lock == nil || locked.Lock.Until != "2026-12-06T20:01:00.123Z" || locked.Lock.ConsecutiveFailures != 5 {
		t.Errorf("User Locked detail: %s", got[1].Detail)
	}
	var bound securityevents.Detail
	_ = json.Unmarshal(got[2].Detail, &bound)
	if bound.UserID != "bob" || bound.Actor.Type != "admin" || bound.Factor == nil || bound.Factor.Type != "email" {
		t.Errorf("Factor Bound detail: %s", got[2].Detail)
	}
}

func TestBatchesOfTen(t *testing.T) {
	bus, tap := newBus(t)
	f := &faultyBridge{}
	p := newPublisher(t, bus, f)
	if n := invokeLikeLambda(t, p, manyRecords(23)); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
	if got := fmt.Sprint(f.callSizes()); got != "[10 10 3]" {
		t.Errorf("PutEvents calls of %s entries, want [10 10 3]", got)
	}
	count := checkPublished(t, wait(t, tap, 23))
	if len(count) != 23 {
		t.Errorf("%d distinct events, want 23", len(count))
	}
}

// A failed PutEvents call reports the first record it held; the retry publishes the rest, and
// nothing reaches the queue twice.
func TestFailedCallIsRetriedFromItsFirstRecord(t *testing.T) {
	bus, tap := newBus(t)
	f := &faultyBridge{fail: map[int]bool{2: true}}
	p := newPublisher(t, bus, f)
	if n := invokeLikeLambda(t, p, manyRecords(23)); n != 2 {
		t.Errorf("%d invocations, want 2 (one retry)", n)
	}
	if got := fmt.Sprint(f.callSizes()); got != "[10 10 10 3]" {
		t.Errorf("PutEvents calls of %s entries, want [10 10 10 3]", got)
	}
	count := checkPublished(t, wait(t, tap, 23))
	if len(count) != 23 {
		t.Errorf("%d distinct events, want 23", len(count))
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s reached the queue %d times", id, n)
		}
	}
}

// An entry EventBridge refuses once is sent again within the invocation: no retry of the
// batch, no duplicate.
func TestRefusedEntryIsSentAgain(t *testing.T) {
	bus, tap := newBus(t)
	f := &faultyBridge{refuse: map[int][]int{1: {3, 7}}}
	p := newPublisher(t, bus, f)
	if n := invokeLikeLambda(t, p, manyRecords(12)); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
	if got := fmt.Sprint(f.callSizes()); got != "[10 2 2]" {
		t.Errorf("PutEvents calls of %s entries, want [10 2 2]", got)
	}
	count := checkPublished(t, wait(t, tap, 12))
	if len(count) != 12 {
		t.Errorf("%d distinct events, want 12", len(count))
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s reached the queue %d times", id, n)
		}
	}
}

// An entry refused on every try fails the batch from its record. What that call published
// after it is published again by the retry: EventBridge's and Lambda's at-least-once, which
// the stable event id lets consumers dedupe.
func TestPersistentlyRefusedEntryFailsFromItsRecord(t *testing.T) {
	bus, tap := newBus(t)
	f := &faultyBridge{refuse: map[int][]int{1: {3}, 2: {0}, 3: {0}}}
	p := newPublisher(t, bus, f)
	if n := invokeLikeLambda(t, p, manyRecords(12)); n != 2 {
		t.Errorf("%d invocations, want 2", n)
	}
	count := checkPublished(t, wait(t, tap, 12+6))
	if len(count) != 12 {
		t.Errorf("%d distinct events, want 12", len(count))
	}
	dups := 0
	for _, n := range count {
		if n > 2 {
			t.Errorf("an event reached the queue %d times", n)
		}
		dups += n - 1
	}
	// Records 4..9 were published by the first call and again by the retry from record 3.
	if dups != 6 {
		t.Errorf("%d duplicates, want the 6 entries after the refused one in its call", dups)
	}
}

func TestUnreadableRecordStopsTheBatchThere(t *testing.T) {
	bus, tap := newBus(t)
	recs := manyRecords(4)
	recs[2].Change.NewImage["at"] = events.NewStringAttribute("yesterday")
	p := newPublisher(t, bus, &faultyBridge{})
	resp, err := p.Handle(t.Context(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != recs[2].Change.SequenceNumber {
		t.Fatalf("failures %+v, want the unreadable record", resp.BatchItemFailures)
	}
	if count := checkPublished(t, wait(t, tap, 2)); len(count) != 2 {
		t.Errorf("%d events published, want the 2 before the unreadable record", len(count))
	}
}

// Records that are not audit items or lock transitions publish nothing.
func TestOtherRecordsPublishNothing(t *testing.T) {
	bus, tap := newBus(t)
	state := func(seq int, name string, oldN, newN string) events.DynamoDBEventRecord {
		keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("USER#carol"), "sk": events.NewStringAttribute("U#STATE")}
		img := func(n string) map[string]events.DynamoDBAttributeValue {
			return map[string]events.DynamoDBAttributeValue{"failures": events.NewNumberAttribute(n), "lastFailureAt": events.NewNumberAttribute("1796587200000")}
		}
		return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{Keys: keys, OldImage: img(oldN), NewImage: img(newN), SequenceNumber: strconv.Itoa(seq)}}
	}
	expired := auditRecord(3, "carol", 1796587200000, "factor.activated", nil)
	expired.EventName, expired.Change.OldImage, expired.Change.NewImage = "REMOVE", expired.Change.NewImage, nil
	factor := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "4",
		Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("USER#carol"), "sk": events.NewStringAttribute("U#FACTOR#x")}}}
	recs := []events.DynamoDBEventRecord{state(1, "MODIFY", "1", "2"), state(2, "MODIFY", "2", "0"), expired, factor}
	f := &faultyBridge{}
	p := newPublisher(t, bus, f)
	resp, err := p.Handle(t.Context(), events.DynamoDBEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v, %v", resp.BatchItemFailures, err)
	}
	if len(f.callSizes()) != 0 {
		t.Errorf("PutEvents called %v", f.callSizes())
	}
	if got, _ := tap.Drain(t.Context()); len(got) != 0 {
		t.Errorf("published %d events", len(got))
	}
}

// stateCarrying is a write of uid's state that carried the audit item of rec (a record of
// auditRecord), after a write that carried prev's (nil: none).
func stateCarrying(seq int, uid string, rec, prev *events.DynamoDBEventRecord) events.DynamoDBEventRecord {
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("USER#" + uid), "sk": events.NewStringAttribute("U#STATE")}
	img := func(r *events.DynamoDBEventRecord) map[string]events.DynamoDBAttributeValue {
		m := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"]}
		if r != nil {
			m["ev"] = events.NewMapAttribute(r.Change.NewImage)
		}
		return m
	}
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		Keys: keys, OldImage: img(prev), NewImage: img(rec), SequenceNumber: fmt.Sprintf("%021d", 5000+seq), StreamViewType: "NEW_AND_OLD_IMAGES"}}
}

// copied is the audit writer's copy of a carried event.
func copied(rec events.DynamoDBEventRecord) events.DynamoDBEventRecord {
	img := map[string]events.DynamoDBAttributeValue{"copied": events.NewBooleanAttribute(true)}
	for k, v := range rec.Change.NewImage {
		img[k] = v
	}
	rec.Change.NewImage = img
	rec.Change.SequenceNumber += "9"
	return rec
}

// An event riding on a state write is published from that write, once, with the id its audit
// item gives it; the audit writer's copy of it publishes nothing, but for a routine event,
// which the opt-in mapping publishes from the copy. A write that left the event as it was,
// or carried a routine one, publishes nothing.
func TestCarriedEventsArePublishedFromTheStateWrite(t *testing.T) {
	bus, tap := newBus(t)
	answer := func(reason string) map[string]string {
		return map[string]string{"challengeId": "bbbbbbbbbbbbbbbbbbbbbbbbbb", "factorId": "aaaaaaaaaaaaaaaaaaaaaaaaaa", "factorType": "totp", "reason": reason}
	}
	failed := auditRecord(1, "dan", 1796587200000, "verification.failed", answer("wrong_code"))
	refused := auditRecord(2, "dan", 1796587201000, "verification.refused", answer("locked"))
	success := auditRecord(3, "dan", 1796587202000, "verification.succeeded", answer(""))
	recs := []events.DynamoDBEventRecord{
		stateCarrying(1, "dan", &failed, nil),
		copied(failed),
		stateCarrying(2, "dan", &failed, &failed), // left the event as it was
		stateCarrying(3, "dan", &refused, &failed),
		stateCarrying(4, "dan", &success, &refused), // routine: from the copy
		copied(refused),
		copied(success),
	}
	f := &faultyBridge{}
	p := newPublisher(t, bus, f)
	if n := invokeLikeLambda(t, p, recs); n != 1 {
		t.Fatalf("%d invocations", n)
	}
	got := wait(t, tap, 3)
	var types []string
	for _, e := range got {
		types = append(types, e.DetailType)
	}
	if want := []string{"Verification Failed", "Verification Refused", "Verification Succeeded"}; fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("published %q, want %q", types, want)
	}
	counts := checkPublished(t, got)
	for _, rec := range []events.DynamoDBEventRecord{failed, refused, success} {
		key := rec.Change.Keys["pk"].String() + "/" + rec.Change.Keys["sk"].String()
		if id := securityevents.EventID("audit", key); counts[id] != 1 {
			t.Errorf("%s: published %d times with its audit item's id, want once", rec.Change.NewImage["action"].String(), counts[id])
		}
	}

	// A state write carrying an event under another user's audit partition is unreadable:
	// the batch stops there, for Lambda to retry and then hand to the on-failure queue.
	mallory := auditRecord(4, "mallory", 1796587203000, "verification.failed", nil)
	bad := stateCarrying(5, "dan", &mallory, nil)
	resp, err := p.Handle(t.Context(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{bad}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != bad.Change.SequenceNumber {
		t.Fatalf("another user's event: %+v, %v", resp.BatchItemFailures, err)
	}
}
