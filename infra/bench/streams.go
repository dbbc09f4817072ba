package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/auditwriter"
	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/eventpublisher"
	"github.com/mfa-service/mfa/pkg/eventsclient"
)

// streamFunctions runs the audit writer and the event publisher on what the benchmarked
// requests sent down the table's stream, as functions/audit-writer and
// functions/event-publisher do in Lambda (the same handlers, logging at LOG_LEVEL as their
// mains do), so the cost model counts their own log lines per invocation: measured, not
// assumed. Each run is one invocation with the records of one request.
type streamFunctions struct {
	db                        *dynamoclient.Client
	bridge                    *eventsclient.Client
	level                     slog.Level
	writerLogs, publisherLogs countingWriter
	writerRuns, publisherRuns int
	seq                       int
}

func (s *streamFunctions) logger(w *countingWriter) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: s.level}))
}

// write runs the audit writer on the stream records of the state writes that carried events.
func (s *streamFunctions) write(ctx context.Context, table string, carried []map[string]dynamoclient.AttributeValue) error {
	if len(carried) == 0 {
		return nil
	}
	var ev events.DynamoDBEvent
	for _, item := range carried {
		rec, err := s.record("MODIFY", carryingState(item))
		if err != nil {
			return err
		}
		ev.Records = append(ev.Records, rec)
	}
	w := auditwriter.New(s.db, table, auditwriter.WithLogger(s.logger(&s.writerLogs)))
	resp, err := w.Handle(ctx, ev)
	if err == nil && len(resp.BatchItemFailures) > 0 {
		err = fmt.Errorf("the audit writer left %d records for a retry", len(ev.Records))
	}
	s.writerRuns++
	return err
}

// publish runs the event publisher on the stream records its stream filter lets through: new
// audit items, and writes of the user's state carrying one.
func (s *streamFunctions) publish(ctx context.Context, written, carried []map[string]dynamoclient.AttributeValue) error {
	if len(written)+len(carried) == 0 {
		return nil
	}
	var ev events.DynamoDBEvent
	for _, item := range written {
		rec, err := s.record("INSERT", item)
		if err != nil {
			return err
		}
		ev.Records = append(ev.Records, rec)
	}
	for _, item := range carried {
		rec, err := s.record("MODIFY", carryingState(item))
		if err != nil {
			return err
		}
		ev.Records = append(ev.Records, rec)
	}
	p := eventpublisher.New(s.bridge, "default", eventpublisher.WithLogger(s.logger(&s.publisherLogs)))
	resp, err := p.Handle(ctx, ev)
	if err == nil && len(resp.BatchItemFailures) > 0 {
		err = fmt.Errorf("the publisher left %d records for a retry", len(ev.Records))
	}
	s.publisherRuns++
	return err
}

// record is the stream record of a write of item, as Lambda delivers it (NEW_AND_OLD_IMAGES).
func (s *streamFunctions) record(name string, item map[string]dynamoclient.AttributeValue) (events.DynamoDBEventRecord, error) {
	s.seq++
	var image map[string]events.DynamoDBAttributeValue
	raw, err := json.Marshal(streamImage(item))
	if err == nil {
		err = json.Unmarshal(raw, &image)
	}
	if err != nil {
		return events.DynamoDBEventRecord{}, err
	}
	return events.DynamoDBEventRecord{
		EventName: name, EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			Keys:     map[string]events.DynamoDBAttributeValue{"pk": image["pk"], "sk": image["sk"]},
			NewImage: image, SequenceNumber: strconv.Itoa(s.seq), StreamViewType: "NEW_AND_OLD_IMAGES",
		},
	}, nil
}

// logBytes is each function's log volume per invocation (0 when it never ran).
func (s *streamFunctions) logBytes() (writer, publisher float64) {
	if s.writerRuns > 0 {
		writer = float64(s.writerLogs.n.Load()) / float64(s.writerRuns)
	}
	if s.publisherRuns > 0 {
		publisher = float64(s.publisherLogs.n.Load()) / float64(s.publisherRuns)
	}
	return writer, publisher
}
