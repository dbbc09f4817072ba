package awstest

import (
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/mfa-service/mfa/pkg/auditwriter"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// AuditLog is the audit log's path of a test table: its stream and the real audit writer
// behind the template's AuditWriterStream mapping (filter, batch size, retries).
type AuditLog struct {
	mapping *localaws.StreamMapping
	mu      sync.Mutex
}

// WithAuditLog turns on the stream of a table made by NewTable; call it before the writes
// whose events the test reads. Answers' audit events ride on users' state writes and reach
// the audit log through the stream, as the AuditWriterFunction copies them in Lambda; Copy
// does that copy when the test looks.
func WithAuditLog(t testing.TB, table string) *AuditLog {
	t.Helper()
	spec, err := tableSpec()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config(t)
	arn, err := localaws.EnableStream(t.Context(), dynamodb.NewFromConfig(cfg), table, spec)
	if err != nil {
		t.Fatal(err)
	}
	esm, err := auditMapping()
	if err != nil {
		t.Fatal(err)
	}
	return &AuditLog{mapping: &localaws.StreamMapping{
		Streams: dynamodbstreams.NewFromConfig(cfg), StreamARN: arn, Config: *esm,
		Handler: auditwriter.New(DB(t), table).Handle,
	}}
}

// Copy runs the audit writer over everything in the stream so far (from its start: the
// writer's puts are idempotent).
func (a *AuditLog) Copy(t testing.TB) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.mapping.Drain(t.Context()); err != nil {
		t.Fatalf("awstest: copy the audit log: %v", err)
	}
}

var auditMapping = sync.OnceValues(func() (*samtemplate.EventSourceMapping, error) {
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		return nil, err
	}
	return tpl.EventSourceMapping("AuditWriterStream")
})
