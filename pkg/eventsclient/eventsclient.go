// Package eventsclient makes the event publisher's one EventBridge call, PutEvents, in
// EventBridge's JSON protocol through pkg/awsapi, which signs with the SDK's SigV4 signer and
// takes the SDK's credentials, HTTP client, retry rules and APIOptions from the aws.Config,
// and resolves the endpoint as the SDK's EventBridge client does (without its global
// endpoints, EndpointId, which the service does not use). Its types are named and shaped as
// the SDK's, with the members the publisher uses.
//
// Why not the SDK's EventBridge client: its package initialisers build the schema of every
// EventBridge shape (540 KB of heap) in every cold start of the publisher, for one call.
// TestRequestsAreTheSDKs, TestAnswersAreTheSDKs, TestEndpointsAreTheSDKs and the tests
// against moto hold it to the SDK's client.
package eventsclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// govCloud are the regions whose FIPS endpoints are EventBridge's regional ones, with dual
// stack too.
var govCloud = []string{"us-gov-east-1", "us-gov-west-1"}

// service is EventBridge as the SDK's client names it.
var service = awsapi.Service{ID: "EventBridge", SigningName: "events", HostPrefix: "events", RegionalFIPS: govCloud, RegionalFIPSDualStack: govCloud}

// Client calls EventBridge.
type Client struct {
	c *awsapi.Client
}

// APIError is an error EventBridge answered (its Service is "EventBridge").
type APIError = awsapi.APIError

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (the SDK's standard one when unset); the endpoint is
// AWS_ENDPOINT_URL_EVENTBRIDGE or a profile's (through cfg's config sources), else
// cfg.BaseEndpoint, else EventBridge's endpoint in the region's partition (FIPS or dual-stack
// when the config says so).
func New(cfg aws.Config) (*Client, error) {
	c, err := awsapi.New(cfg, service)
	if err != nil {
		return nil, fmt.Errorf("eventsclient: %w", err)
	}
	return &Client{c}, nil
}

// PutEventsRequestEntry is one event to put on a bus.
type PutEventsRequestEntry struct {
	EventBusName *string
	Source       *string
	DetailType   *string
	Detail       *string // a JSON object
	Resources    []string
	Time         *time.Time
}

// PutEventsInput is up to 10 events.
type PutEventsInput struct {
	Entries []PutEventsRequestEntry
}

// PutEventsResultEntry is what became of one event: its id, or why it was refused.
type PutEventsResultEntry struct {
	EventId      *string
	ErrorCode    *string
	ErrorMessage *string
}

// PutEventsOutput answers each event of the call, in order.
type PutEventsOutput struct {
	FailedEntryCount int32
	Entries          []PutEventsResultEntry
}

// wireEntry is an entry as the JSON protocol sends it: the time as epoch seconds with
// milliseconds, as the SDK writes a timestamp.
type wireEntry struct {
	Detail       *string  `json:"Detail,omitempty"`
	DetailType   *string  `json:"DetailType,omitempty"`
	EventBusName *string  `json:"EventBusName,omitempty"`
	Resources    []string `json:"Resources,omitempty"`
	Source       *string  `json:"Source,omitempty"`
	Time         *float64 `json:"Time,omitempty"`
}

var opPutEvents = awsapi.Operation{Name: "PutEvents", Method: http.MethodPost, Path: "/", Header: http.Header{
	"Content-Type": {"application/x-amz-json-1.1"},
	"X-Amz-Target": {"AWSEvents.PutEvents"},
}}

// PutEvents puts events on their buses. An event EventBridge refused has its ErrorCode; the
// call's error is for the call as a whole.
func (c *Client) PutEvents(ctx context.Context, in *PutEventsInput) (*PutEventsOutput, error) {
	body := struct {
		Entries []wireEntry `json:"Entries"`
	}{Entries: make([]wireEntry, len(in.Entries))}
	for i, e := range in.Entries {
		w := wireEntry{Detail: e.Detail, DetailType: e.DetailType, EventBusName: e.EventBusName, Resources: e.Resources, Source: e.Source}
		if e.Time != nil {
			secs := float64(e.Time.UnixMilli()) / 1000
			w.Time = &secs
		}
		body.Entries[i] = w
	}
	out := &PutEventsOutput{} // its members are the answer's, by name
	if err := c.c.Call(ctx, opPutEvents, in, body, out); err != nil {
		return nil, err
	}
	return out, nil
}
