package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PublishedEvent is an EventBridge event as a rule delivers it to an SQS queue.
type PublishedEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// EventTap is what an app subscribing to the service's events does: a rule on the bus that
// sends matching events to an SQS queue. It reads the queue and keeps what it read, in order.
type EventTap struct {
	sqs      *sqs.Client
	queueURL string

	mu   sync.Mutex
	read []PublishedEvent
}

// NewEventTap creates (or reuses) the queue and a rule named name on bus with pattern (an
// EventBridge event pattern) that targets it.
func NewEventTap(ctx context.Context, cfg aws.Config, bus, name, pattern string) (*EventTap, error) {
	sq := sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("localaws: create queue %s: %w", name, err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("localaws: queue %s arn: %w", name, err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		return nil, fmt.Errorf("localaws: rule %s on %s: %w", name, bus, err)
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{
		Id: aws.String("queue"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	}}})
	if err != nil {
		return nil, fmt.Errorf("localaws: target of rule %s: %w", name, err)
	}
	return &EventTap{sqs: sq, queueURL: aws.ToString(q.QueueUrl)}, nil
}

// Drain reads every message the queue holds now, deletes it, and returns all events read so
// far, in the order they arrived.
func (t *EventTap) Drain(ctx context.Context) ([]PublishedEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		out, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &t.queueURL, MaxNumberOfMessages: 10, VisibilityTimeout: 30})
		if err != nil {
			return nil, fmt.Errorf("localaws: receive from %s: %w", t.queueURL, err)
		}
		if len(out.Messages) == 0 {
			return append([]PublishedEvent(nil), t.read...), nil
		}
		for _, m := range out.Messages {
			var ev PublishedEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				return nil, fmt.Errorf("localaws: message on %s is not an event: %w", t.queueURL, err)
			}
			t.read = append(t.read, ev)
			if _, err := t.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &t.queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("localaws: delete from %s: %w", t.queueURL, err)
			}
		}
	}
}

// WaitFor drains until at least n events were read or ctx ends, then drains once more after
// settle, so that events beyond the n expected show up too.
func (t *EventTap) WaitFor(ctx context.Context, n int, settle time.Duration) ([]PublishedEvent, error) {
	for {
		got, err := t.Drain(ctx)
		if err != nil {
			return nil, err
		}
		if len(got) >= n {
			select {
			case <-ctx.Done():
				return got, nil
			case <-time.After(settle):
			}
			return t.Drain(ctx)
		}
		select {
		case <-ctx.Done():
			return got, errors.Join(ctx.Err(), fmt.Errorf("localaws: %d of %d events arrived", len(got), n))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
