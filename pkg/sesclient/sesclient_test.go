package sesclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

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

// recorder is an SES stand-in on the loopback that keeps each request and answers from a
// script (the status, errortype header and body of each answer, the last repeated).
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	answers  []answer
	srv      *httptest.Server
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

type answer struct {
	status    int
	errorType string // X-Amzn-Errortype, as SES sends it
	body      string
}

func newRecorder(t *testing.T, answers ...answer) *recorder {
	r := &recorder{answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{method: req.Method, path: req.URL.Path, query: req.URL.RawQuery, header: req.Header.Clone(), body: body})
		a := r.answers[min(len(r.requests), len(r.answers))-1]
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		if a.errorType != "" {
			w.Header().Set("X-Amzn-Errortype", a.errorType)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) taken() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

func staticConfig(endpoint string) aws.Config {
	return aws.Config{
		Region: "eu-west-1",
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "session"}, nil
		})),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
		},
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

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
	rec := newRecorder(t, answer{status: 200, body: `{"MessageId":"0100018f-abc"}`})
	cfg := staticConfig(rec.srv.URL)
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
		sameRequest(t, rec.taken())
	}

	for _, a := range []answer{
		{400, "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/", `{"message":"Email address is not verified."}`},
		{400, "", `{"__type":"com.amazonaws.sesv2#AccountSuspendedException","Message":"suspended"}`},
		{404, "", `{"code":"NotFoundException","message":"gone"}`},
	} {
		rec.answers = []answer{a}
		m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
		_, err := ours.SendEmail(ctx, m)
		_, sdkErr := sdk.SendEmail(ctx, sdkInput(m))
		var o, s smithy.APIError
		if !errors.As(err, &o) || !errors.As(sdkErr, &s) || o.ErrorCode() != s.ErrorCode() || o.ErrorMessage() != s.ErrorMessage() || o.ErrorMessage() == "" {
			t.Errorf("%+v: ours %v, the SDK's %v", a, err, sdkErr)
		}
		rec.taken()
	}
}

// sameRequest compares our request (first) with the SDK's (second).
func sameRequest(t *testing.T, reqs []recorded) {
	t.Helper()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want ours and the SDK's", len(reqs))
	}
	ours, sdk := reqs[0], reqs[1]
	if ours.method != sdk.method || ours.path != sdk.path || ours.query != sdk.query || !reflect.DeepEqual(ours.body, sdk.body) || ours.body == nil {
		t.Errorf("request %s %s?%s %v,\nthe SDK's %s %s?%s %v", ours.method, ours.path, ours.query, ours.body, sdk.method, sdk.path, sdk.query, sdk.body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "X-Amz-Security-Token"} {
		if ours.header.Get(h) != sdk.header.Get(h) || ours.header.Get(h) == "" {
			t.Errorf("%s: %q, the SDK's %q", h, ours.header.Get(h), sdk.header.Get(h))
		}
	}
	scope := func(auth string) string {
		_, cred, _ := strings.Cut(auth, "Credential=")
		cred, _, _ = strings.Cut(cred, ",")
		parts := strings.Split(cred, "/")
		if len(parts) != 5 {
			return ""
		}
		return parts[0] + "/" + strings.Join(parts[2:], "/") // without the date
	}
	signed := func(auth string) []string {
		_, s, _ := strings.Cut(auth, "SignedHeaders=")
		s, _, _ = strings.Cut(s, ",")
		return strings.Split(s, ";")
	}
	oa, sa := ours.header.Get("Authorization"), sdk.header.Get("Authorization")
	if !strings.HasPrefix(oa, "AWS4-HMAC-SHA256 ") || scope(oa) != "AKIDEXAMPLE/eu-west-1/ses/aws4_request" || scope(oa) != scope(sa) {
		t.Errorf("authorization %q, the SDK's %q", oa, sa)
	}
	for _, h := range signed(oa) {
		if !slices.Contains(signed(sa), h) {
			t.Errorf("we sign %s, which the SDK does not: %q", h, sa)
		}
	}
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token"} {
		if !slices.Contains(signed(oa), h) {
			t.Errorf("%s is not signed: %q", h, oa)
		}
	}
	if d := ours.header.Get("X-Amz-Date"); len(d) != len("20060102T150405Z") || !strings.Contains(oa, "/"+d[:8]+"/") {
		t.Errorf("X-Amz-Date %q, authorization %q", d, oa)
	}
}

// SES's throttling (TooManyRequestsException, 429) and server errors are retried as the
// retryer says, up to its attempts; a refusal (MessageRejected) is not; a cancelled context
// ends the retries.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	ok := answer{status: 200, body: `{"MessageId":"m-1"}`}
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	for _, tc := range []struct {
		name     string
		answers  []answer
		requests int
		code     string // of the error; "" when the send succeeds
	}{
		{"throttled twice", []answer{{429, "TooManyRequestsException", `{"message":"slow down"}`}, {429, "TooManyRequestsException", `{}`}, ok}, 3, ""},
		{"unavailable twice", []answer{{500, "InternalFailure", ``}, {503, "", ``}, ok}, 3, ""},
		{"unavailable throughout", []answer{{500, "InternalFailure", `{"message":"oops"}`}}, 3, "InternalFailure"},
		{"rejected", []answer{{400, "MessageRejected", `{"message":"Email address is not verified."}`}, ok}, 1, "MessageRejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, tc.answers...)
			id, err := newClient(t, staticConfig(rec.srv.URL)).SendEmail(ctx, m)
			n := len(rec.taken())
			var apiErr *sesclient.APIError
			switch {
			case tc.code == "" && (err != nil || id != "m-1"):
				t.Errorf("id %q, err %v; want m-1", id, err)
			case tc.code != "" && (!errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.StatusCode != tc.answers[0].status):
				t.Errorf("err %v, want %s", err, tc.code)
			}
			if n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
	// A cancelled context is not retried.
	rec := newRecorder(t, answer{status: 503})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newClient(t, staticConfig(rec.srv.URL)).SendEmail(cancelled, m); err == nil || len(rec.taken()) > 1 {
		t.Errorf("cancelled: %v", err)
	}
}

// The config's APIOptions run around each call as around the SDK's (the bench counts emails
// and reads their codes with them): once per call, however many attempts it took, with the
// SDK's service id and operation name, and the email as the call's parameters.
func TestAPIOptionsSeeEachCall(t *testing.T) {
	rec := newRecorder(t, answer{status: 503}, answer{status: 200, body: `{"MessageId":"m-1"}`})
	cfg := staticConfig(rec.srv.URL)
	var seen []string
	var params []any
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("see", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			seen = append(seen, awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx))
			params = append(params, in.Parameters)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "code 123456"}
	if _, err := newClient(t, cfg).SendEmail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "SESv2.SendEmail" || len(rec.taken()) != 2 {
		t.Errorf("middleware saw %v over 2 attempts, want [SESv2.SendEmail]", seen)
	}
	if len(params) != 1 || !reflect.DeepEqual(params[0], m) {
		t.Errorf("middleware saw parameters %#v, want the email", params)
	}
	// The SDK's client names the call the same.
	seen = nil
	if _, err := sesv2.NewFromConfig(cfg).SendEmail(context.Background(), sdkInput(m)); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "SESv2.SendEmail" {
		t.Errorf("the SDK's client is seen as %v", seen)
	}
}

// wire is an HTTP client that sends nothing: it keeps where each request went and how it was
// signed, and answers it from SES.
type wire struct {
	mu   sync.Mutex
	seen []string // URL and credential scope
}

func (w *wire) Do(r *http.Request) (*http.Response, error) {
	_, scope, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=AKIDEXAMPLE/")
	_, scope, _ = strings.Cut(scope, "/") // without the date
	scope, _, _ = strings.Cut(scope, ",")
	w.mu.Lock()
	w.seen = append(w.seen, r.Method+" "+r.URL.String()+" "+scope)
	w.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"MessageId":"m-1"}`)), Request: r}, nil
}

// variants are the endpoint settings of a config (as AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT give them).
type variants struct{ fips, dual bool }

func (v variants) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	if v.fips {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

func (v variants) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	if v.dual {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}

// With no endpoint configured, an email goes where the SDK's client sends it, signed for the
// same service and region: SES's regional endpoints (email.…, email-fips.…) in each
// partition, and the FIPS and dual-stack variants.
func TestEndpointsAreTheSDKs(t *testing.T) {
	m := sesclient.Email{From: "no-reply@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"} {
		for _, v := range []variants{{}, {fips: true}, {dual: true}, {fips: true, dual: true}} {
			w := &wire{}
			cfg := aws.Config{Region: region, Credentials: staticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := newClient(t, cfg).SendEmail(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if _, err := sesv2.NewFromConfig(cfg).SendEmail(context.Background(), sdkInput(m)); err != nil {
				t.Fatal(err)
			}
			if len(w.seen) != 2 || w.seen[0] != w.seen[1] || !strings.HasSuffix(w.seen[0], " "+region+"/ses/aws4_request") {
				t.Errorf("%s %+v: ours, then the SDK's: %q", region, v, w.seen)
			}
		}
	}
}
