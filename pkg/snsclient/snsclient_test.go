package snsclient_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/snsclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func newClient(t *testing.T, cfg aws.Config) *snsclient.Client {
	t.Helper()
	c, err := snsclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var seq atomic.Int64

// Against SNS (moto): an SMS to a phone number gets a message id and is in moto's outbox as
// sent, with its text; a malformed number is refused with SNS's error, as a smithy.APIError.
func TestPublish(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, awstest.Config(t))
	// Ofcom's range for drama (+44 20 7946 0xxx), one number per call.
	to := fmt.Sprintf("+44207946%04d", 500+seq.Add(1))
	text := "271828 is your Acmé code.\n\n@login.example.com #271828"
	id, err := c.Publish(ctx, snsclient.SMS{PhoneNumber: to, Message: text, SMSType: "Transactional", SenderID: "Acme2FA"})
	if err != nil || id == "" {
		t.Fatalf("publish: id %q, %v", id, err)
	}
	out, err := localaws.Outbox(ctx, awstest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	var sent []localaws.SentMessage
	for _, m := range out {
		if m.Destination == to {
			sent = append(sent, m)
		}
	}
	if len(sent) != 1 || sent[0].ID != id || sent[0].Channel != localaws.ChannelSMS || sent[0].Body != text {
		t.Errorf("outbox for %s: %+v, want the SMS with id %s", to, sent, id)
	}

	_, err = c.Publish(ctx, snsclient.SMS{PhoneNumber: "+0", Message: "m"})
	var apiErr *snsclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "InvalidParameter" || apiErr.StatusCode != 400 || apiErr.Service != "SNS" || apiErr.Operation != "Publish" ||
		apiErr.Message == "" || apiErr.RequestID == "" {
		t.Errorf("malformed number: %#v, want InvalidParameter", err)
	}
	var smithyErr smithy.APIError
	if !errors.As(err, &smithyErr) || smithyErr.ErrorFault() != smithy.FaultClient {
		t.Errorf("%v is not a client-fault smithy.APIError", err)
	}
}

// snsQuery is SNS's Query protocol: every operation a form POSTed to "/", answered in XML.
var snsQuery = awsapitest.Protocol{SigningName: "sns", ContentType: "text/xml"}

// sdkInput is the SDK's input for m, as pkg/notify built it when it called the SDK's client.
func sdkInput(m snsclient.SMS) *sns.PublishInput {
	attrs := map[string]snstypes.MessageAttributeValue{}
	if m.SMSType != "" {
		attrs["AWS.SNS.SMS.SMSType"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.SMSType)}
	}
	if m.SenderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.SenderID)}
	}
	return &sns.PublishInput{PhoneNumber: aws.String(m.PhoneNumber), Message: aws.String(m.Message), MessageAttributes: attrs}
}

func published(id string) string {
	return `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>` + id +
		`</MessageId></PublishResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></PublishResponse>`
}

func errorAnswer(typ, code, msg string) string {
	return `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>` + typ + `</Type><Code>` + code +
		`</Code><Message>` + msg + `</Message></Error><RequestId>req-3</RequestId></ErrorResponse>`
}

// What goes over the wire is what the SDK's SNS client sends for the same SMS: the method,
// path and query, the content type and length, the form (Action, Version, number, message,
// the attributes as numbered map entries), a SigV4 signature for sns in the region over the
// same headers (with the session token); and an answer reads the same, an error with the
// same code and message.
func TestRequestsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	rec := awsapitest.NewRecorder(t, snsQuery, awsapitest.Answer{Status: 200, Body: published("5c3b1b0e-aaaa")})
	cfg := awsapitest.StaticConfig(rec.URL)
	ours := newClient(t, cfg)
	sdk := sns.NewFromConfig(cfg)

	for _, m := range []snsclient.SMS{
		{PhoneNumber: "+447700900123", Message: "042917 is your Acme verification code. It expires in 10 min.\n\n@login.example.com #042917",
			SMSType: "Transactional", SenderID: "Acme2FA"},
		{PhoneNumber: "+819012345678", Message: "042917 は Acme の確認コードです。有効期限は10分です。 & + = % ;", SMSType: "Transactional"},
		{PhoneNumber: "+14155550100", Message: "Grüße: 042917"},
	} {
		id, err := ours.Publish(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sdk.Publish(ctx, sdkInput(m))
		if err != nil {
			t.Fatal(err)
		}
		if id != aws.ToString(out.MessageId) || id != "5c3b1b0e-aaaa" {
			t.Errorf("message id %q, the SDK's %q", id, aws.ToString(out.MessageId))
		}
		reqs := rec.Taken()
		snsQuery.SameRequest(t, reqs)
		if f := reqs[0].Form; f.Get("Action") != "Publish" || f.Get("Message") != m.Message || f.Get("PhoneNumber") != m.PhoneNumber {
			t.Errorf("form %v does not carry %+v", f, m)
		}
	}

	for _, a := range []awsapitest.Answer{
		{Status: 400, Body: errorAnswer("Sender", "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +0 is not valid to publish to")},
		{Status: 403, Body: errorAnswer("Sender", "AuthorizationError", "not authorised")},
		{Status: 400, Body: errorAnswer("Sender", "OptedOut", "opted out")}, // not one of Publish's modelled errors
	} {
		rec.SetAnswers(a)
		m := snsclient.SMS{PhoneNumber: "+447700900123", Message: "m"}
		_, err := ours.Publish(ctx, m)
		_, sdkErr := sdk.Publish(ctx, sdkInput(m))
		var o, s smithy.APIError
		if !errors.As(err, &o) || !errors.As(sdkErr, &s) || o.ErrorCode() != s.ErrorCode() || o.ErrorMessage() != s.ErrorMessage() || o.ErrorMessage() == "" ||
			o.ErrorFault() != smithy.FaultClient {
			t.Errorf("%+v: ours %v, the SDK's %v", a, err, sdkErr)
		}
		var apiErr *snsclient.APIError
		if !errors.As(err, &apiErr) || apiErr.RequestID != "req-3" || apiErr.StatusCode != a.Status {
			t.Errorf("%+v: %#v, want its status and request id req-3", a, err)
		}
		rec.Taken()
	}
}

// SNS's errors are retried as the SDK's client retries them with the same retryer: its
// throttling (Throttling, 400) and server errors (500, 503 with an empty or non-XML body) up
// to its attempts; a refusal (InvalidParameter) not at all.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	ok := awsapitest.Answer{Status: 200, Body: published("m-1")}
	throttled := awsapitest.Answer{Status: 400, Body: errorAnswer("Sender", "Throttling", "Rate exceeded")}
	internal := awsapitest.Answer{Status: 500, Body: errorAnswer("Receiver", "InternalError", "oops")}
	m := snsclient.SMS{PhoneNumber: "+447700900123", Message: "m", SMSType: "Transactional"}
	for _, tc := range []struct {
		name     string
		answers  []awsapitest.Answer
		requests int
		code     string // of the error; "" when the send succeeds
	}{
		{"throttled twice", []awsapitest.Answer{throttled, throttled, ok}, 3, ""},
		{"throttled throughout", []awsapitest.Answer{throttled}, 3, "Throttling"},
		{"unavailable twice", []awsapitest.Answer{internal, {Status: 503, Body: "<html>Service Unavailable</html>"}, ok}, 3, ""},
		{"unavailable throughout", []awsapitest.Answer{internal}, 3, "InternalError"},
		{"refused", []awsapitest.Answer{{Status: 400, Body: errorAnswer("Sender", "InvalidParameter", "bad number")}, ok}, 1, "InvalidParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := awsapitest.NewRecorder(t, snsQuery, tc.answers...)
			cfg := awsapitest.StaticConfig(rec.URL)
			id, err := newClient(t, cfg).Publish(ctx, m)
			n := len(rec.Taken())
			var apiErr *snsclient.APIError
			switch {
			case tc.code == "" && (err != nil || id != "m-1"):
				t.Errorf("id %q, err %v; want m-1", id, err)
			case tc.code != "" && (!errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.StatusCode != tc.answers[0].Status):
				t.Errorf("err %v, want %s", err, tc.code)
			}
			if n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			// The SDK's client, with the same retryer, makes as many attempts.
			if _, err := sns.NewFromConfig(cfg).Publish(ctx, sdkInput(m)); (err == nil) != (tc.code == "") {
				t.Errorf("the SDK's client: %v", err)
			}
			if sdkN := len(rec.Taken()); sdkN != n {
				t.Errorf("we made %d requests, the SDK's client %d", n, sdkN)
			}
		})
	}
}

// The config's APIOptions run around each call as around the SDK's (the bench counts SMS
// with them): once per call, however many attempts it took, as SNS.Publish, with the SMS as
// the call's parameters.
func TestAPIOptionsSeeEachCall(t *testing.T) {
	rec := awsapitest.NewRecorder(t, snsQuery, awsapitest.Answer{Status: 503}, awsapitest.Answer{Status: 200, Body: published("m-1")})
	cfg := awsapitest.StaticConfig(rec.URL)
	calls := awsapitest.WatchCalls(&cfg)
	m := snsclient.SMS{PhoneNumber: "+447700900123", Message: "code 123456", SMSType: "Transactional"}
	if _, err := newClient(t, cfg).Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(calls.Names) != 1 || calls.Names[0] != "SNS.Publish" || len(rec.Taken()) != 2 {
		t.Errorf("middleware saw %v over 2 attempts, want [SNS.Publish]", calls.Names)
	}
	if len(calls.Params) != 1 || !reflect.DeepEqual(calls.Params[0], m) {
		t.Errorf("middleware saw parameters %#v, want the SMS", calls.Params)
	}
	// The SDK's client names the call the same.
	calls.Names, calls.Params = nil, nil
	if _, err := sns.NewFromConfig(cfg).Publish(context.Background(), sdkInput(m)); err != nil {
		t.Fatal(err)
	}
	if len(calls.Names) != 1 || calls.Names[0] != "SNS.Publish" {
		t.Errorf("the SDK's client is seen as %v", calls.Names)
	}
}

// With no endpoint configured, an SMS goes where the SDK's client sends it, signed for the
// same service and region: SNS's regional endpoints (sns.…, sns-fips.…, and GovCloud's FIPS
// one, its regional host) in each partition, and the FIPS and dual-stack variants.
func TestEndpointsAreTheSDKs(t *testing.T) {
	m := snsclient.SMS{PhoneNumber: "+447700900123", Message: "m"}
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1"} {
		for _, v := range awsapitest.EveryVariant {
			w := awsapitest.NewWire(snsQuery, published("m-1"))
			cfg := aws.Config{Region: region, Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := newClient(t, cfg).Publish(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if _, err := sns.NewFromConfig(cfg).Publish(context.Background(), sdkInput(m)); err != nil {
				t.Fatal(err)
			}
			// The SDK's client posts to "/" and the endpoint resolver's URL has no path;
			// compare both with the resolver's.
			ep, err := sns.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), sns.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(v.FIPS), UseDualStack: aws.Bool(v.DualStack)})
			if err != nil {
				t.Fatal(err)
			}
			want := "POST " + ep.URI.String() + "/ " + region + "/sns/aws4_request"
			if seen := w.Seen(); len(seen) != 2 || seen[0] != seen[1] || seen[0] != want {
				t.Errorf("%s %+v: ours, then the SDK's: %q, want %q", region, v, seen, want)
			}
		}
	}
}
