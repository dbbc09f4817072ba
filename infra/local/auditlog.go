package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/mfa-service/mfa/pkg/auditwriter"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// auditWriterLogicalID and auditWriterMappingID name the audit writer and its stream mapping
// in template.yaml.
const (
	auditWriterLogicalID = "AuditWriterFunction"
	auditWriterMappingID = "AuditWriterStream"
)

// streamRunner is an emulated event source mapping running until stopped.
type streamRunner struct {
	mapping *localaws.StreamMapping
	cancel  context.CancelFunc
	done    chan struct{}
}

// settled returns once the mapping has handled every record written before the call.
func (r *streamRunner) settled(ctx context.Context) error { return r.mapping.WaitIdle(ctx) }

func (r *streamRunner) stop() {
	r.cancel()
	<-r.done
}

// startAuditWriter runs the audit log's path locally: the table's stream in moto → the
// template's event source mapping (emulated) → the real audit writer → the table.
func startAuditWriter(cfg aws.Config, tpl *samtemplate.Template, res localaws.Resources, o stackOptions) (*streamRunner, error) {
	esm, err := tpl.EventSourceMapping(auditWriterMappingID)
	if err != nil {
		return nil, err
	}
	if esm.FunctionName.Ref != auditWriterLogicalID {
		return nil, fmt.Errorf("%s invokes %q, not %s", auditWriterMappingID, esm.FunctionName.Ref, auditWriterLogicalID)
	}
	if res.StreamARN == "" {
		return nil, fmt.Errorf("the table %s has no stream", res.TableName)
	}
	db, err := dynamoclient.New(cfg)
	if err != nil {
		return nil, err
	}
	writer := auditwriter.New(db, res.TableName, auditwriter.WithLogger(o.Log))
	return runMapping(&localaws.StreamMapping{
		Streams: dynamodbstreams.NewFromConfig(cfg), StreamARN: res.StreamARN, Config: *esm,
		Handler: writer.Handle, Log: o.Log,
	}, auditWriterMappingID, o.Log), nil
}

// runMapping runs an emulated event source mapping until stopped.
func runMapping(m *localaws.StreamMapping, id string, log *slog.Logger) *streamRunner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamRunner{mapping: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := m.Run(ctx); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "event source mapping", slog.String("mapping", id), slog.String("error", err.Error()))
		}
	}()
	return r
}
