package eventpublisher_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/mfa-service/mfa/pkg/eventpublisher"
)

// acceptAll answers PutEvents at once, so the benchmark measures the publisher's own CPU.
type acceptAll struct{}

func (acceptAll) PutEvents(_ context.Context, in *eventsclient.PutEventsInput) (*eventsclient.PutEventsOutput, error) {
	return &eventsclient.PutEventsOutput{Entries: make([]eventsclient.PutEventsResultEntry, len(in.Entries))}, nil
}

// BenchmarkHandle100 is one full batch of the template's BatchSize: 100 audit records, 10
// PutEvents calls (answered instantly).
func BenchmarkHandle100(b *testing.B) {
	p := eventpublisher.New(acceptAll{}, "default")
	ev := events.DynamoDBEvent{Records: manyRecords(100)}
	b.ReportAllocs()
	for b.Loop() {
		if resp, err := p.Handle(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatal(resp, err)
		}
	}
}
