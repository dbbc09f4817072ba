package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/eventsclient"
)

// The stream functions run for real on what a request sent down the stream: the audit writer
// puts the carried event into the audit log, the publisher publishes the audit item, and each
// invocation's own log lines are what the cost model counts.
func TestStreamFunctionsRunAndCountTheirLogLines(t *testing.T) {
	cfg := awstest.Config(t)
	table := awstest.NewTable(t)
	bridge, err := eventsclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := awstest.DB(t)
	s := &streamFunctions{db: db, bridge: bridge, level: slog.LevelInfo}
	if w, p := s.logBytes(); w != 0 || p != 0 {
		t.Fatalf("log bytes before any run: %v, %v", w, p)
	}
	str := func(v string) dynamoclient.AttributeValue { return &dynamoclient.AttributeValueMemberS{Value: v} }
	event := map[string]dynamoclient.AttributeValue{
		"pk": str("AUDIT#alice"), "sk": str("EVENT#0000001800000000000#a1b2"), "action": str("verification.failed"),
		"userId": str("alice"), "actor": str("alice"), "outcome": str("failure"), "at": &dynamoclient.AttributeValueMemberN{Value: "1800000000"},
	}
	ctx := context.Background()
	if err := s.write(ctx, table, []map[string]dynamoclient.AttributeValue{event}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetItem(ctx, &dynamoclient.GetItemInput{TableName: &table, Key: map[string]dynamoclient.AttributeValue{"pk": event["pk"], "sk": event["sk"]}})
	if err != nil || got.Item == nil {
		t.Fatalf("the writer did not put the carried event: %v", err)
	}
	if err := s.publish(ctx, nil, []map[string]dynamoclient.AttributeValue{event}); err != nil {
		t.Fatal(err)
	}
	w, p := s.logBytes()
	if s.writerRuns != 1 || s.publisherRuns != 1 || w < 50 || p < 50 {
		t.Fatalf("runs %d, %d; log bytes per invocation %v, %v", s.writerRuns, s.publisherRuns, w, p)
	}
	// At WARN, a successful invocation logs nothing.
	quiet := &streamFunctions{db: db, bridge: bridge, level: slog.LevelWarn}
	event["sk"] = str("EVENT#0000001800000000001#c3d4")
	if err := quiet.write(ctx, table, []map[string]dynamoclient.AttributeValue{event}); err != nil {
		t.Fatal(err)
	}
	if w, _ := quiet.logBytes(); w != 0 {
		t.Fatalf("%v bytes logged at WARN", w)
	}
	// A record the writer cannot take is an error of the run, not a measurement.
	bad := map[string]dynamoclient.AttributeValue{"pk": str("AUDIT#alice"), "sk": str("NOT-AN-EVENT")}
	if err := s.write(ctx, table, []map[string]dynamoclient.AttributeValue{bad}); err == nil || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("a refused record: %v", err)
	}
}
