package sesclient_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/sesclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func newClient(t *testing.T, cfg aws.Config) *sesclient.Client {
	t.Helper()
	c, err := sesclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var seq atomic.Int64

// verifiedSender makes a sender identity in the harness moto (one per test binary), which
// refuses any other.
func verifiedSender(t *testing.T) string {
	t.Helper()
	sender := fmt.Sprintf("no-reply-%d@example.com", seq.Add(1))
	if _, err := sesv2.NewFromConfig(awstest.Config(t)).CreateEmailIdentity(t.Context(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	return sender
}

// Against SES (moto): an email from a verified identity is accepted, gets a message id and is
// in moto's outbox as sent; one from an unverified address is refused with SES's
// MessageRejected, as a smithy.APIError.
func TestSendEmail(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, awstest.Config(t))
	sender := verifiedSender(t)
	to := fmt.Sprintf("ann-%d@example.com", seq.Add(1))
	id, err := c.SendEmail(ctx, sesclient.Email{
		From:    `"Acme" <` + sender + ">",
		To:      []string{to},
		Subject: "Your Acme verification code",
		Text:    "Your code is 042917.",
		HTML:    "<p>Your code is <b>042917</b>.</p>",
	})
	if err != nil || id == "" {
		t.Fatalf("send: id %q, %v", id, err)
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
	// moto keeps the HTML body of an email that has both.
	if len(sent) != 1 || sent[0].ID != id || sent[0].Channel != localaws.ChannelEmail || sent[0].Subject != "Your Acme verification code" ||
		sent[0].HTML != "<p>Your code is <b>042917</b>.</p>" {
		t.Errorf("outbox for %s: %+v, want the email with id %s", to, sent, id)
	}

	_, err = c.SendEmail(ctx, sesclient.Email{From: "stranger@example.org", To: []string{to}, Subject: "s", Text: "t"})
	var apiErr *sesclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "MessageRejected" || apiErr.StatusCode != 400 || apiErr.Service != "SESv2" || apiErr.Operation != "SendEmail" {
		t.Errorf("unverified sender: %v, want MessageRejected", err)
	}
	var smithyErr smithy.APIError
	if !errors.As(err, &smithyErr) || smithyErr.ErrorCode() != "MessageRejected" || smithyErr.ErrorFault() != smithy.FaultClient {
		t.Errorf("%v is not a client-fault smithy.APIError", err)
	}
}

// sesRESTJSON is SES v2's REST-JSON protocol: each operation has its own method and path.
var sesRESTJSON = awsapitest.Protocol{SigningName: "ses", ContentType: "application/json"}

// sdkInput is the SDK's input for the email m, as pkg/notify built it when it called the
// SDK's client.
func sdkInput(m sesclient.Email) *sesv2.SendEmailInput {
	utf8 := aws.String("UTF-8")
	body := &sestypes.Body{}
	if m.Text != "" {
		body.Text = &sestypes.Content{Data: aws.String(m.Text), Charset: utf8}
	}
	if m.HTML != "" {
		body.Html = &sestypes.Content{Data: aws.String(m.HTML), Charset: utf8}
	}
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From),
		Destination:      &sestypes.Destination{ToAddresses: m.To},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(m.Subject), Charset: utf8},
			Body:    body,
		}},
	}
}

// What goes over the wire is what the SDK's SES v2 client sends for the same email: the
// method, path and query, the content type and length, the JSON members, a SigV4 signature
// for ses in the region over the same headers (with the session token); and an answer reads
// the same, an error with the same code and message.
func TestRequestsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	rec := awsapitest.NewRecorder(t, sesRESTJSON, awsapitest.Answer{Status: 200, Body: `{"MessageId":"0100018f-abc"}`})
	cfg := awsapitest.StaticConfig(rec.URL)
	ours := newClient(t, cfg)
	sdk := sesv2.NewFromConfig(cfg)

	for _, m := range []sesclient.Email{
		{From: `"Acme <b>" <no-reply@example.com>`, To: []string{"ann@xn--bcher-kva.example"}, Subject: "Your Acme <b> verification code",
			Text: "Your code is:\n\n    042917\n", HTML: "<!DOCTYPE html><p>Grüße, \"Ann\" &amp; co</p>"},
		{From: "=?utf-8?b?w4FjbWU=?= <no-reply@example.com>", To: []string{"a@example.com", "b@example.com"}, Subject: "Text only", Text: "t"},
		{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "HTML only", HTML: "<p>h</p>"},
	} {
		id, err := ours.SendEmail(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sdk.SendEmail(ctx, sdkInput(m))
		if err != nil {
			t.Fatal(err)
		}
		if id != aws.ToString(out.MessageId) || id != "0100018f-abc" {
			t.Errorf("message id %q, the SDK's %q", id, aws.ToString(out.MessageId))
		}
		sesRESTJSON.SameRequest(t, rec.Taken())
	}

	for _, a := range []awsapitest.Answer{
		{Status: 400, ErrorType: "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/", Body: `{"message":"Email address is not verified."}`},
		{Status: 400, Body: `{"__type":"com.amazonaws.sesv2#AccountSuspendedException","Message":"suspended"}`},
		{Status: 404, Body: `{"code":"NotFoundException","message":"gone"}`},
	} {
		rec.SetAnswers(a)
		m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
		_, err := ours.SendEmail(ctx, m)
		_, sdkErr := sdk.SendEmail(ctx, sdkInput(m))
		var o, s smithy.APIError
		if !errors.As(err, &o) || !errors.As(sdkErr, &s) || o.ErrorCode() != s.ErrorCode() || o.ErrorMessage() != s.ErrorMessage() || o.ErrorMessage() == "" {
			t.Errorf("%+v: ours %v, the SDK's %v", a, err, sdkErr)
		}
		rec.Taken()
	}
}

// SES's throttling (TooManyRequestsException, 429) and server errors are retried as the
// retryer says, up to its attempts; a refusal (MessageRejected) is not; a cancelled context
// ends the retries.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	ok := awsapitest.Answer{Status: 200, Body: `{"MessageId":"m-1"}`}
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	for _, tc := range []struct {
		name     string
		answers  []awsapitest.Answer
		requests int
		code     string // of the error; "" when the send succeeds
	}{
		{"throttled twice", []awsapitest.Answer{{Status: 429, ErrorType: "TooManyRequestsException", Body: `{"message":"slow down"}`}, {Status: 429, ErrorType: "TooManyRequestsException", Body: `{}`}, ok}, 3, ""},
		{"unavailable twice", []awsapitest.Answer{{Status: 500, ErrorType: "InternalFailure"}, {Status: 503}, ok}, 3, ""},
		{"unavailable throughout", []awsapitest.Answer{{Status: 500, ErrorType: "InternalFailure", Body: `{"message":"oops"}`}}, 3, "InternalFailure"},
		{"rejected", []awsapitest.Answer{{Status: 400, ErrorType: "MessageRejected", Body: `{"message":"Email address is not verified."}`}, ok}, 1, "MessageRejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := awsapitest.NewRecorder(t, sesRESTJSON, tc.answers...)
			id, err := newClient(t, awsapitest.StaticConfig(rec.URL)).SendEmail(ctx, m)
			n := len(rec.Taken())
			var apiErr *sesclient.APIError
			switch {
			case tc.code == "" && (err != nil || id != "m-1"):
				t.Errorf("id %q, err %v; want m-1", id, err)
			case tc.code != "" && (!errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.StatusCode != tc.answers[0].Status):
				t.Errorf("err %v, want %s", err, tc.code)
			}
			if n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
	// A cancelled context is not retried.
	rec := awsapitest.NewRecorder(t, sesRESTJSON, awsapitest.Answer{Status: 503})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newClient(t, awsapitest.StaticConfig(rec.URL)).SendEmail(cancelled, m); err == nil || len(rec.Taken()) > 1 {
		t.Errorf("cancelled: %v", err)
	}
}

// The config's APIOptions run around each call as around the SDK's (the bench counts emails
// and reads their codes with them): once per call, however many attempts it took, with the
// SDK's service id and operation name, and the email as the call's parameters.
func TestAPIOptionsSeeEachCall(t *testing.T) {
	rec := awsapitest.NewRecorder(t, sesRESTJSON, awsapitest.Answer{Status: 503}, awsapitest.Answer{Status: 200, Body: `{"MessageId":"m-1"}`})
	cfg := awsapitest.StaticConfig(rec.URL)
	calls := awsapitest.WatchCalls(&cfg)
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "code 123456"}
	if _, err := newClient(t, cfg).SendEmail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(calls.Names) != 1 || calls.Names[0] != "SESv2.SendEmail" || len(rec.Taken()) != 2 {
		t.Errorf("middleware saw %v over 2 attempts, want [SESv2.SendEmail]", calls.Names)
	}
	if len(calls.Params) != 1 || !reflect.DeepEqual(calls.Params[0], m) {
		t.Errorf("middleware saw parameters %#v, want the email", calls.Params)
	}
	// The SDK's client names the call the same.
	calls.Names, calls.Params = nil, nil
	if _, err := sesv2.NewFromConfig(cfg).SendEmail(context.Background(), sdkInput(m)); err != nil {
		t.Fatal(err)
	}
	if len(calls.Names) != 1 || calls.Names[0] != "SESv2.SendEmail" {
		t.Errorf("the SDK's client is seen as %v", calls.Names)
	}
}

// With no endpoint configured, an email goes where the SDK's client sends it, signed for the
// same service and region: SES's regional endpoints (email.…, email-fips.…) in each
// partition, and the FIPS and dual-stack variants.
func TestEndpointsAreTheSDKs(t *testing.T) {
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"} {
		for _, v := range awsapitest.EveryVariant {
			w := awsapitest.NewWire(sesRESTJSON, `{"MessageId":"m-1"}`)
			cfg := aws.Config{Region: region, Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := newClient(t, cfg).SendEmail(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if _, err := sesv2.NewFromConfig(cfg).SendEmail(context.Background(), sdkInput(m)); err != nil {
				t.Fatal(err)
			}
			if seen := w.Seen(); len(seen) != 2 || seen[0] != seen[1] || !strings.HasSuffix(seen[0], " "+region+"/ses/aws4_request") {
				t.Errorf("%s %+v: ours, then the SDK's: %q", region, v, seen)
			}
		}
	}
}
