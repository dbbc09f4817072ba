package eventsclient_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/eventsclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var eventsJSON = awsapitest.Protocol{SigningName: "events", ContentType: "application/x-amz-json-1.1", Headers: []string{"X-Amz-Target"}}

func newClient(t *testing.T, cfg aws.Config) *eventsclient.Client {
	t.Helper()
	c, err := eventsclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// entries are events as the publisher makes them, and one with every member set and a detail
// that needs escaping.
func entries() []eventsclient.PutEventsRequestEntry {
	at := time.Date(2026, 12, 7, 14, 23, 18, 123_456_789, time.UTC)
	return []eventsclient.PutEventsRequestEntry{
		{EventBusName: aws.String("mfa"), Source: aws.String("mfa-service"), DetailType: aws.String("User Locked"), Detail: aws.String(`{"schemaVersion":"1","userId":"alice"}`), Time: &at},
		{EventBusName: aws.String("arn:aws:events:eu-west-1:111122223333:event-bus/mfa"), Source: aws.String("mfa-service"), DetailType: aws.String("Factor Activated"),
			Detail: aws.String(`{"label":"é \"q\" <b>&amp;</b> \u2028"}`), Resources: []string{"arn:aws:cognito-idp:eu-west-1:111122223333:userpool/p"}},
	}
}

func sdkInput(in *eventsclient.PutEventsInput) *eventbridge.PutEventsInput {
	out := &eventbridge.PutEventsInput{}
	for _, e := range in.Entries {
		out.Entries = append(out.Entries, ebtypes.PutEventsRequestEntry{EventBusName: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources, Time: e.Time})
	}
	return out
}

// PutEvents goes over the wire as the SDK's client sends it (target, body, times as epoch
// seconds, headers, signature), and its answer, refused entries included, reads as the SDK's.
func TestRequestsAndAnswersAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	answer := `{"FailedEntryCount":1,"Entries":[{"EventId":"11710aed-b79e-4468-a20b-bb3c0c3b4860"},{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`
	rec := awsapitest.NewRecorder(t, eventsJSON, awsapitest.Answer{Status: 200, Body: answer})
	cfg := awsapitest.StaticConfig(rec.URL)
	in := &eventsclient.PutEventsInput{Entries: entries()}
	got, err := newClient(t, cfg).PutEvents(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, sdkInput(in))
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.Taken()
	if len(reqs) == 2 && reqs[0].Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		t.Errorf("target %q", reqs[0].Header.Get("X-Amz-Target"))
	}
	eventsJSON.SameRequest(t, reqs)
	if got.FailedEntryCount != want.FailedEntryCount || len(got.Entries) != len(want.Entries) {
		t.Fatalf("read %+v, the SDK %+v", got, want)
	}
	for i, e := range got.Entries {
		w := want.Entries[i]
		if !reflect.DeepEqual(e.EventId, w.EventId) || !reflect.DeepEqual(e.ErrorCode, w.ErrorCode) || !reflect.DeepEqual(e.ErrorMessage, w.ErrorMessage) {
			t.Errorf("entry %d: read %+v, the SDK %+v", i, e, w)
		}
	}

	rec.SetAnswers(awsapitest.Answer{Status: 400, Body: `{"__type":"ResourceNotFoundException","message":"Event bus mfa does not exist."}`})
	_, err = newClient(t, cfg).PutEvents(ctx, in)
	_, sdkErr := eventbridge.NewFromConfig(cfg).PutEvents(ctx, sdkInput(in))
	var a, b smithy.APIError
	if !errors.As(err, &a) || !errors.As(sdkErr, &b) || a.ErrorCode() != b.ErrorCode() || a.ErrorMessage() != b.ErrorMessage() || a.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("ours %v, the SDK's %v", err, sdkErr)
	}
}

// With no endpoint configured, a call goes where the SDK's client sends it, signed for the
// same service and region, in each partition and with each variant.
func TestEndpointsAreTheSDKs(t *testing.T) {
	in := &eventsclient.PutEventsInput{Entries: entries()[:1]}
	for _, region := range []string{"eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"} {
		for _, v := range awsapitest.EveryVariant {
			w := awsapitest.NewWire(eventsJSON, `{"FailedEntryCount":0,"Entries":[{"EventId":"e"}]}`)
			cfg := aws.Config{Region: region, Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := eventbridge.NewFromConfig(cfg).PutEvents(context.Background(), sdkInput(in)); err != nil {
				continue // the SDK has no such endpoint
			}
			if _, err := newClient(t, cfg).PutEvents(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			if seen := w.Seen(); len(seen) != 2 || seen[0] != seen[1] || !strings.HasSuffix(seen[0], " "+region+"/events/aws4_request") {
				t.Errorf("%s %+v: the SDK's, then ours: %q", region, v, seen)
			}
		}
	}
}

// Against moto: events go onto a bus and get their ids.
func TestPutEventsToMoto(t *testing.T) {
	cfg := awstest.Config(t)
	bus := "eventsclient-test"
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		var exists *ebtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			t.Fatal(err)
		}
	}
	es := entries()
	for i := range es {
		es[i].EventBusName = aws.String(bus)
	}
	out, err := newClient(t, cfg).PutEvents(t.Context(), &eventsclient.PutEventsInput{Entries: es})
	if err != nil || out.FailedEntryCount != 0 || len(out.Entries) != 2 || out.Entries[0].EventId == nil || out.Entries[1].EventId == nil {
		t.Fatalf("%+v, %v", out, err)
	}
}

// Throttling and server errors are retried as the SDK's client retries them, a client error
// is not: each script takes as many requests from ours as from the SDK's.
func TestRetriesAreTheSDKs(t *testing.T) {
	ok := awsapitest.Answer{Status: 200, Body: `{"FailedEntryCount":0,"Entries":[{"EventId":"e"}]}`}
	throttled := awsapitest.Answer{Status: 400, Body: `{"__type":"ThrottlingException"}`}
	unavailable := awsapitest.Answer{Status: 503, Body: `{"__type":"InternalException"}`}
	in := &eventsclient.PutEventsInput{Entries: entries()[:1]}
	for _, tc := range []struct {
		name    string
		answers []awsapitest.Answer
	}{
		{"throttled twice", []awsapitest.Answer{throttled, throttled, ok}},
		{"unavailable throughout", []awsapitest.Answer{unavailable}},
		{"denied", []awsapitest.Answer{{Status: 400, Body: `{"__type":"AccessDeniedException"}`}, ok}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			count := func(call func(aws.Config) error) (int, bool) {
				rec := awsapitest.NewRecorder(t, eventsJSON, tc.answers...)
				err := call(awsapitest.StaticConfig(rec.URL))
				return len(rec.Taken()), err != nil
			}
			ours, oursFailed := count(func(cfg aws.Config) error {
				_, err := newClient(t, cfg).PutEvents(context.Background(), in)
				return err
			})
			sdks, sdkFailed := count(func(cfg aws.Config) error {
				_, err := eventbridge.NewFromConfig(cfg).PutEvents(context.Background(), sdkInput(in))
				return err
			})
			if ours != sdks || oursFailed != sdkFailed || ours < 1 {
				t.Errorf("ours: %d requests (failed %v), the SDK's: %d (failed %v)", ours, oursFailed, sdks, sdkFailed)
			}
		})
	}
}
