package auditwriter_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient/dynamoclienttest"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/mfa-service/mfa/pkg/auditwriter"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/mfa"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func sample(t *testing.T) events.DynamoDBEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "audit-writer-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func auditItems(t *testing.T, db *dynamoclient.Client, table, uid string) []map[string]dynamoclient.AttributeValue {
	t.Helper()
	out, err := db.Query(t.Context(), &dynamoclient.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": &dynamoclient.AttributeValueMemberS{Value: "AUDIT#" + uid}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// TestReplaySampleEvent replays events/audit-writer-stream.json (what `sam local invoke
// AuditWriterFunction -e` sends): the first record's new event becomes one audit item, whole
// and marked as a copy (the publisher published it from the state write); the second record
// left the event as it was and writes nothing; a redelivery changes nothing.
func TestReplaySampleEvent(t *testing.T) {
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	w := auditwriter.New(db, table)
	for range 2 {
		resp, err := w.Handle(t.Context(), sample(t))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v, %v", resp.BatchItemFailures, err)
		}
	}
	items := auditItems(t, db, table, "alice")
	if len(items) != 1 {
		t.Fatalf("%d audit items, want 1", len(items))
	}
	var got map[string]any
	if err := attributevalue.UnmarshalMap(dynamoclienttest.SDKItem(items[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"pk": "AUDIT#alice", "sk": "EVENT#1796587200123#a1b2c3d4e5f6", "action": "verification.failed", "actor": "user:alice",
		"userId": "alice", "factorId": "01JF3ZK1Q8T6W1V3N4M5P6R7S8", "factorType": "totp", "challengeId": "Wm9vQmFyQmF6UXV4UXV1eA",
		"outcome": "failure", "reason": "wrong_code", "ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
		"at": float64(1796587200123), "ttl": float64(1831147200), "copied": true,
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("audit item\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func stateRecord(seq, event string, oldEv, newEv map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("USER#alice"), "sk": events.NewStringAttribute("U#STATE")}
	img := func(ev map[string]events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
		m := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"]}
		if ev != nil {
			m["ev"] = events.NewMapAttribute(ev)
		}
		return m
	}
	rec := events.DynamoDBEventRecord{EventName: event, Change: events.DynamoDBStreamRecord{Keys: keys, SequenceNumber: seq, StreamViewType: "NEW_AND_OLD_IMAGES"}}
	if event != "INSERT" {
		rec.Change.OldImage = img(oldEv)
	}
	if event != "REMOVE" {
		rec.Change.NewImage = img(newEv)
	}
	return rec
}

func ev(pk, sk string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk), "action": events.NewStringAttribute("verification.failed")}
}

// TestPendingEvent: which records bring an event into the log, and which are refused.
func TestPendingEvent(t *testing.T) {
	a, b := ev("AUDIT#alice", "EVENT#0000000000001#aa"), ev("AUDIT#alice", "EVENT#0000000000002#bb")
	other := stateRecord("1", "INSERT", nil, a)
	other.Change.Keys = map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("USER#alice"), "sk": events.NewStringAttribute("U#FACTOR#x")}
	audit := stateRecord("1", "INSERT", nil, nil)
	audit.Change.Keys = map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("AUDIT#alice"), "sk": events.NewStringAttribute("EVENT#1")}
	tests := []struct {
		name    string
		rec     events.DynamoDBEventRecord
		wantSK  string
		wantErr string
	}{
		{"first state write with an event", stateRecord("1", "INSERT", nil, a), "EVENT#0000000000001#aa", ""},
		{"a write that carried a new event", stateRecord("1", "MODIFY", a, b), "EVENT#0000000000002#bb", ""},
		{"a write that left the event as it was", stateRecord("1", "MODIFY", a, a), "", ""},
		{"a state write with no event", stateRecord("1", "MODIFY", nil, nil), "", ""},
		{"a state removed", stateRecord("1", "REMOVE", a, nil), "", ""},
		{"another item of the user", other, "", ""},
		{"an audit item", audit, "", ""},
		{"an event under another user's partition", stateRecord("1", "MODIFY", nil, ev("AUDIT#mallory", "EVENT#1")), "", "carries an event under"},
		{"an event under a key that is not an event's", stateRecord("1", "MODIFY", nil, ev("AUDIT#alice", "U#STATE")), "", "carries an event under"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			item, err := auditwriter.PendingEvent(tc.rec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sk := ""
			if item != nil {
				sk = item["sk"].(*dynamoclient.AttributeValueMemberS).Value
				if c, ok := item[auditwriter.CopiedAttr].(*dynamoclient.AttributeValueMemberBOOL); !ok || !c.Value {
					t.Errorf("the copy of %s is not marked as one", sk)
				}
			}
			if sk != tc.wantSK {
				t.Errorf("event %q, want %q", sk, tc.wantSK)
			}
		})
	}
}

// TestUnreadableRecordStopsTheBatchThere: the records before it are written, and Lambda is
// told to retry from it (so nothing after it is skipped silently).
func TestUnreadableRecordStopsTheBatchThere(t *testing.T) {
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		stateRecord("1", "MODIFY", nil, ev("AUDIT#alice", "EVENT#0000000000001#aa")),
		stateRecord("2", "MODIFY", nil, ev("AUDIT#mallory", "EVENT#0000000000002#bb")),
		stateRecord("3", "MODIFY", nil, ev("AUDIT#alice", "EVENT#0000000000003#cc")),
	}}
	resp, err := auditwriter.New(db, table).Handle(t.Context(), batch)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Fatalf("failures %+v, %v: want a retry from record 2", resp.BatchItemFailures, err)
	}
	if n := len(auditItems(t, db, table, "alice")); n != 1 {
		t.Errorf("%d audit items, want the one before the unreadable record", n)
	}
	if n := len(auditItems(t, db, table, "mallory")); n != 0 {
		t.Errorf("an event was written into another user's log")
	}
}

// TestWriteFailureIsRetried: when DynamoDB cannot take the items, the whole batch is left for
// Lambda's retry: nothing is acknowledged that was not written.
func TestWriteFailureIsRetried(t *testing.T) {
	db := awstest.DB(t)
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		stateRecord("1", "MODIFY", nil, nil),
		stateRecord("2", "MODIFY", nil, ev("AUDIT#alice", "EVENT#0000000000001#aa")),
	}}
	resp, err := auditwriter.New(db, "no-such-table", auditwriter.WithRetries(1, time.Millisecond)).Handle(t.Context(), batch)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Fatalf("failures %+v, %v: want a retry from record 2", resp.BatchItemFailures, err)
	}
}

// TestCopiesTheRealStoresEvents runs the real store's answers into the real stream (moto) and
// through the writer behind the template's mapping: every answer's event reaches the log once,
// equal to what the store showed while it was pending, and copying again adds nothing.
func TestCopiesTheRealStoresEvents(t *testing.T) {
	ctx := context.Background()
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	log := awstest.WithAuditLog(t, table)
	store := dynamostore.New(db, table, 0)
	now := time.Now().UTC().Truncate(time.Millisecond)
	reg := mfa.DefaultRegulation
	ch := mfa.ChallengeUse{ID: "Wm9vQmFyQmF6UXV4UXV1eA", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	var seen []mfa.AuditEvent
	for i := range 3 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		err := store.RecordFailure(ctx, mfa.Failure{UserID: "alice", ChallengeID: ch.ID, Challenge: ch, MaxFailures: 5, Open: reg.OpenAt(at), At: at,
			Event: mfa.AuditEvent{UserID: "alice", Action: mfa.ActionVerificationFailure, Actor: "user:alice", Outcome: "failure", IP: "203.0.113.7", UserAgent: "test", ChallengeID: ch.ID, At: at}})
		if err != nil {
			t.Fatal(err)
		}
		// The latest event is in the log the moment its write succeeded.
		got, _, err := store.ListEvents(ctx, "alice", 10, "")
		if err != nil || len(got) == 0 || !got[0].At.Equal(at) {
			t.Fatalf("after answer %d the log shows %+v, %v", i, got, err)
		}
		seen = append(seen, got[0])
	}
	for range 2 {
		log.Copy(t)
		if n := len(auditItems(t, db, table, "alice")); n != 3 {
			t.Fatalf("%d audit items, want 3", n)
		}
	}
	got, _, err := store.ListEvents(ctx, "alice", 10, "")
	if err != nil || len(got) != 3 {
		t.Fatalf("%+v, %v", got, err)
	}
	for i, e := range got {
		if want := seen[len(seen)-1-i]; e != want {
			t.Errorf("event %d in the log %+v, pending it was %+v", i, e, want)
		}
	}
}
