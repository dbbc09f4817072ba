package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mfa-service/mfa/pkg/eventpublisher"
	"github.com/mfa-service/mfa/pkg/localapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// eventPublisherLogicalID and eventSourceMappingID name the publisher and its stream mapping
// in template.yaml.
const (
	eventPublisherLogicalID = "EventPublisherFunction"
	eventSourceMappingID    = "EventPublisherStream"
)

// securityEvents is the local events path: the table's stream in moto → the template's event
// source mapping (emulated) → the real publisher handler → EventBridge in moto → a rule → an
// SQS queue that GET /local/events reads.
type securityEvents struct {
	tap     *localaws.EventTap
	mapping *streamRunner
}

func startSecurityEvents(ctx context.Context, cfg aws.Config, tpl *samtemplate.Template, res localaws.Resources, o stackOptions) (*securityEvents, error) {
	esm, err := tpl.EventSourceMapping(eventSourceMappingID)
	if err != nil {
		return nil, err
	}
	if esm.FunctionName.Ref != eventPublisherLogicalID {
		return nil, fmt.Errorf("%s invokes %q, not %s", eventSourceMappingID, esm.FunctionName.Ref, eventPublisherLogicalID)
	}
	client, err := eventsclient.New(cfg)
	if err != nil {
		return nil, err
	}
	var bridge eventpublisher.EventBridge = client
	if o.WrapEventBridge != nil {
		bridge = o.WrapEventBridge(bridge)
	}
	publisher := eventpublisher.New(bridge, res.EventBus, eventpublisher.WithLogger(o.Log))

	// The on-failure destination, as the template's EventPublisherFailures queue.
	sq := sqs.NewFromConfig(cfg)
	failures, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(res.TableName + "-event-publisher-failures")})
	if err != nil {
		return nil, fmt.Errorf("on-failure queue: %w", err)
	}
	tap, err := localaws.NewEventTap(ctx, cfg, res.EventBus, res.TableName+"-local-events", `{"source":["mfa-service"]}`)
	if err != nil {
		return nil, err
	}
	mapping := &localaws.StreamMapping{
		Streams: dynamodbstreams.NewFromConfig(cfg), StreamARN: res.StreamARN, Config: *esm,
		Handler: publisher.Handle, Log: o.Log,
		OnFailure: func(ctx context.Context, fb localaws.FailedBatch) error {
			body, err := json.Marshal(fb)
			if err != nil {
				return err
			}
			_, err = sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: failures.QueueUrl, MessageBody: aws.String(string(body))})
			return err
		},
	}
	return &securityEvents{tap: tap, mapping: runMapping(mapping, eventSourceMappingID, o.Log)}, nil
}

// published lists what the rule delivered so far, for GET /local/events.
func (e *securityEvents) published(ctx context.Context) ([]localapi.Event, error) {
	got, err := e.tap.Drain(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Event, 0, len(got))
	for _, ev := range got {
		out = append(out, localapi.Event{ID: ev.ID, DetailType: ev.DetailType, Source: ev.Source, Time: ev.Time, Detail: ev.Detail})
	}
	return out, nil
}

func (e *securityEvents) stop() { e.mapping.stop() }
