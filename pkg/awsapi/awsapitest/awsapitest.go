// Package awsapitest holds the clients of pkg/awsapi (pkg/dynamoclient, pkg/eventsclient,
// pkg/kmsclient, pkg/sesclient, pkg/snsclient) to the SDK's: a stand-in service on the loopback that records what each
// client sends, a config that points both at it, a check that two recorded requests are the
// same, an HTTP client that records where requests would go, and middleware that records the
// calls it sees.
package awsapitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Region and AccessKeyID are those of StaticConfig, which requests are signed with.
const (
	Region      = "eu-west-1"
	AccessKeyID = "AKIDEXAMPLE"
)

// Protocol is how a service's calls look on the wire: what the requests are signed for and
// carry, and the content type of the answers.
type Protocol struct {
	SigningName string // the SigV4 service name, e.g. "kms", "ses", "sns"
	ContentType string // of the answers, e.g. "application/x-amz-json-1.1", "application/json", "text/xml"
	// Headers are the protocol's own request headers beyond Content-Type, each set and
	// signed, e.g. X-Amz-Target in the JSON protocol.
	Headers []string
}

// Answer is one scripted answer of a Recorder.
type Answer struct {
	Status    int
	ErrorType string // X-Amzn-Errortype, as REST-JSON services send it; "": none
	Body      string
}

// Request is what a Recorder keeps of a request: its method, path, raw query, headers and
// JSON body (nil when it is not a JSON object) or form body (the Query protocol's; nil when
// the request is not a form).
type Request struct {
	Method, Path, Query string
	Header              http.Header
	Body                map[string]any
	Form                url.Values
}

// Recorder is a stand-in service on the loopback that keeps each request and answers from a
// script (the last answer repeated); its script restarts when its requests are taken.
type Recorder struct {
	URL string // the server's, e.g. for StaticConfig

	mu       sync.Mutex
	requests []Request
	answers  []Answer
}

// NewRecorder starts a Recorder answering in p's content type with the script answers; the
// test's cleanup stops it.
func NewRecorder(t testing.TB, p Protocol, answers ...Answer) *Recorder {
	t.Helper()
	if len(answers) == 0 {
		t.Fatal("awsapitest: a recorder without answers")
	}
	r := &Recorder{answers: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		var form url.Values
		if req.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			form, _ = url.ParseQuery(string(raw))
		}
		r.mu.Lock()
		r.requests = append(r.requests, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body, Form: form})
		a := r.answers[min(len(r.requests), len(r.answers))-1]
		r.mu.Unlock()
		w.Header().Set("Content-Type", p.ContentType)
		w.Header().Set("X-Amzn-Requestid", "req-1")
		if a.ErrorType != "" {
			w.Header().Set("X-Amzn-Errortype", a.ErrorType)
		}
		w.WriteHeader(a.Status)
		io.WriteString(w, a.Body)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// SetAnswers replaces the script.
func (r *Recorder) SetAnswers(answers ...Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = answers
}

// Taken returns the requests received since the last call, oldest first, and forgets them.
func (r *Recorder) Taken() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

// StaticConfig is a config for endpoint in Region with static credentials (and a session
// token) and the SDK's standard retryer without its backoff.
func StaticConfig(endpoint string) aws.Config {
	return aws.Config{
		Region: Region,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: "secret", SessionToken: "session"}, nil
		})),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = NoBackoff{} })
		},
	}
}

// NoBackoff is a retry backoff that does not wait.
type NoBackoff struct{}

// BackoffDelay is no delay.
func (NoBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// SameRequest fails the test unless reqs are two requests, ours then the SDK's, that are the
// same on the wire in p: method, path, query and JSON or form body; Content-Type, Content-Length,
// the session token and p's headers, none empty; a SigV4 signature for p's service in Region
// dated X-Amz-Date, over those headers, the host and the date, and over no header the SDK's
// signature leaves out.
func (p Protocol) SameRequest(t testing.TB, reqs []Request) {
	t.Helper()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want ours and the SDK's", len(reqs))
	}
	ours, sdk := reqs[0], reqs[1]
	if ours.Method != sdk.Method || ours.Path != sdk.Path || ours.Query != sdk.Query || !reflect.DeepEqual(ours.Body, sdk.Body) || !reflect.DeepEqual(ours.Form, sdk.Form) ||
		ours.Body == nil && ours.Form == nil {
		t.Errorf("request %s %s?%s %v %v,\nthe SDK's %s %s?%s %v %v", ours.Method, ours.Path, ours.Query, ours.Body, ours.Form, sdk.Method, sdk.Path, sdk.Query, sdk.Body, sdk.Form)
	}
	same := append([]string{"Content-Type", "Content-Length", "X-Amz-Security-Token"}, p.Headers...)
	for _, h := range same {
		if ours.Header.Get(h) != sdk.Header.Get(h) || ours.Header.Get(h) == "" {
			t.Errorf("%s: %q, the SDK's %q", h, ours.Header.Get(h), sdk.Header.Get(h))
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
	oa, sa := ours.Header.Get("Authorization"), sdk.Header.Get("Authorization")
	if !strings.HasPrefix(oa, "AWS4-HMAC-SHA256 ") || scope(oa) != AccessKeyID+"/"+Region+"/"+p.SigningName+"/aws4_request" || scope(oa) != scope(sa) {
		t.Errorf("authorization %q, the SDK's %q", oa, sa)
	}
	for _, h := range signed(oa) {
		if !slices.Contains(signed(sa), h) {
			t.Errorf("we sign %s, which the SDK does not: %q", h, sa)
		}
	}
	for _, h := range append([]string{"content-type", "host", "x-amz-date", "x-amz-security-token"}, lower(p.Headers)...) {
		if !slices.Contains(signed(oa), h) {
			t.Errorf("%s is not signed: %q", h, oa)
		}
	}
	if d := ours.Header.Get("X-Amz-Date"); len(d) != len("20060102T150405Z") || !strings.Contains(oa, "/"+d[:8]+"/") {
		t.Errorf("X-Amz-Date %q, authorization %q", d, oa)
	}
}

func lower(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// Wire is an HTTP client that sends nothing: it keeps where each request went and how it was
// signed, and answers each with status 200 and its body in its content type.
type Wire struct {
	contentType, body string

	mu   sync.Mutex
	seen []string
}

// NewWire makes a Wire that answers body in p's content type.
func NewWire(p Protocol, body string) *Wire {
	return &Wire{contentType: p.ContentType, body: body}
}

// Do keeps r's method, URL and credential scope, and answers it.
func (w *Wire) Do(r *http.Request) (*http.Response, error) {
	_, scope, _ := strings.Cut(r.Header.Get("Authorization"), "Credential="+AccessKeyID+"/")
	_, scope, _ = strings.Cut(scope, "/") // without the date
	scope, _, _ = strings.Cut(scope, ",")
	w.mu.Lock()
	w.seen = append(w.seen, r.Method+" "+r.URL.String()+" "+scope)
	w.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {w.contentType}},
		Body: io.NopCloser(strings.NewReader(w.body)), Request: r}, nil
}

// Seen is each request sent so far, oldest first, as its method, URL and credential scope
// without the date (e.g. "POST https://kms.eu-west-1.amazonaws.com/ eu-west-1/kms/aws4_request").
func (w *Wire) Seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// Variants are the endpoint settings of a config (as AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT give them), as one of its ConfigSources.
type Variants struct{ FIPS, DualStack bool }

// EveryVariant is each combination of the variants.
var EveryVariant = []Variants{{}, {FIPS: true}, {DualStack: true}, {FIPS: true, DualStack: true}}

// GetUseFIPSEndpoint says whether v uses FIPS endpoints.
func (v Variants) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	if v.FIPS {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

// GetUseDualStackEndpoint says whether v uses dual-stack endpoints.
func (v Variants) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	if v.DualStack {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}

// Calls records the calls the middleware of a config sees (WatchCalls), as the bench's meter
// does: each as "<service id>.<operation>", with its parameters.
type Calls struct {
	Names  []string
	Params []any
}

// WatchCalls adds to cfg's APIOptions a middleware that records each call into the Calls it
// returns (one client at a time: it takes no lock).
func WatchCalls(cfg *aws.Config) *Calls {
	c := &Calls{}
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("watch", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.Names = append(c.Names, awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx))
			c.Params = append(c.Params, in.Parameters)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
	return c
}
