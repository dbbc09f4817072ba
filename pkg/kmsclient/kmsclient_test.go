package kmsclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/kmsclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var dataKeyContext = map[string]string{"service": "mfa", "purpose": "data-key"}

func newClient(t *testing.T, cfg aws.Config) *kmsclient.Client {
	t.Helper()
	c, err := kmsclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Against KMS (moto): a generated key unwraps to itself under its key and context, and only
// there; KMS's refusals come back with their codes.
func TestGenerateAndDecrypt(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, awstest.Config(t))
	keyID := awstest.NewKey(t)
	plaintext, wrapped, err := c.GenerateDataKey(ctx, keyID, dataKeyContext)
	if err != nil {
		t.Fatal(err)
	}
	if len(plaintext) != 32 || len(wrapped) == 0 || bytes.Contains(wrapped, plaintext) {
		t.Fatalf("generated %d bytes, wrapped %d", len(plaintext), len(wrapped))
	}
	got, err := c.Decrypt(ctx, keyID, wrapped, dataKeyContext)
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("decrypt: %x, %v; want the generated key", got, err)
	}
	// The SDK's client unwraps what this one wrapped.
	out, err := kms.NewFromConfig(awstest.Config(t)).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, KeyId: &keyID, EncryptionContext: dataKeyContext})
	if err != nil || !bytes.Equal(out.Plaintext, plaintext) {
		t.Fatalf("the SDK's decrypt: %v", err)
	}

	_, err = c.Decrypt(ctx, keyID, wrapped, map[string]string{"service": "mfa", "purpose": "other"})
	var apiErr *kmsclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "InvalidCiphertextException" || apiErr.StatusCode != 400 || apiErr.Operation != "Decrypt" || apiErr.Service != "KMS" {
		t.Errorf("another encryption context: %v, want InvalidCiphertextException", err)
	}
	_, _, err = c.GenerateDataKey(ctx, "11111111-2222-3333-4444-555555555555", dataKeyContext)
	if !errors.As(err, &apiErr) || apiErr.Code != "NotFoundException" {
		t.Errorf("an unknown key: %v, want NotFoundException", err)
	}
	var smithyErr smithy.APIError
	if !errors.As(err, &smithyErr) || smithyErr.ErrorFault() != smithy.FaultClient {
		t.Errorf("%v is not a client-fault smithy.APIError", err)
	}
}

// recorder is a KMS stand-in on the loopback that keeps each request and answers from a
// script (the status and body of each answer, the last repeated).
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	answers  []answer
	srv      *httptest.Server
}

type recorded struct {
	header http.Header
	path   string
	body   map[string]any
}

type answer struct {
	status int
	body   string
}

func newRecorder(t *testing.T, answers ...answer) *recorder {
	r := &recorder{answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{header: req.Header.Clone(), path: req.URL.Path, body: body})
		a := r.answers[min(len(r.requests), len(r.answers))-1]
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "req-1")
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

// What goes over the wire is what the SDK's KMS client sends for the same call: the target,
// the content type and length, the JSON members, a SigV4 signature for kms in the region over
// the same headers (with the session token); and an answer reads the same, an error with the
// same code.
func TestRequestsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, answer{200, `{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/k","Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","CiphertextBlob":"d3JhcHBlZA==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`})
	cfg := staticConfig(rec.srv.URL)
	ours := newClient(t, cfg)
	sdk := kms.NewFromConfig(cfg)
	keyID := "alias/mfa"

	plaintext, err := ours.Decrypt(ctx, keyID, []byte("wrapped"), dataKeyContext)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("wrapped"), KeyId: &keyID, EncryptionContext: dataKeyContext})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plaintext, dec.Plaintext) || len(plaintext) != 32 {
		t.Errorf("decrypt read %x, the SDK %x", plaintext, dec.Plaintext)
	}
	sameRequest(t, rec.taken())

	gp, gw, err := ours.GenerateDataKey(ctx, keyID, dataKeyContext)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := sdk.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: &keyID, KeySpec: "AES_256", EncryptionContext: dataKeyContext})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gp, gen.Plaintext) || !bytes.Equal(gw, gen.CiphertextBlob) {
		t.Errorf("generate read %x %x, the SDK %x %x", gp, gw, gen.Plaintext, gen.CiphertextBlob)
	}
	sameRequest(t, rec.taken())

	for _, tc := range []struct {
		answer answer
		code   string
	}{
		{answer{400, `{"__type":"InvalidCiphertextException","message":"no"}`}, "InvalidCiphertextException"},
		{answer{400, `{"__type":"com.amazonaws.kms#AccessDeniedException","Message":"denied"}`}, "AccessDeniedException"},
		{answer{404, `{"__type":"NotFoundException:http://internal.amazon.com/","message":"gone"}`}, "NotFoundException"},
	} {
		rec.answers = []answer{tc.answer}
		_, err := ours.Decrypt(ctx, keyID, []byte("wrapped"), dataKeyContext)
		_, sdkErr := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("wrapped"), KeyId: &keyID, EncryptionContext: dataKeyContext})
		var a, b smithy.APIError
		if !errors.As(err, &a) || !errors.As(sdkErr, &b) || a.ErrorCode() != tc.code || b.ErrorCode() != tc.code || a.ErrorMessage() != b.ErrorMessage() {
			t.Errorf("%s: ours %v, the SDK's %v", tc.answer.body, err, sdkErr)
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
	if ours.path != sdk.path || !reflect.DeepEqual(ours.body, sdk.body) {
		t.Errorf("request %s %v, the SDK's %s %v", ours.path, ours.body, sdk.path, sdk.body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "X-Amz-Target", "X-Amz-Security-Token"} {
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
	if !strings.HasPrefix(oa, "AWS4-HMAC-SHA256 ") || scope(oa) != "AKIDEXAMPLE/eu-west-1/kms/aws4_request" || scope(oa) != scope(sa) {
		t.Errorf("authorization %q, the SDK's %q", oa, sa)
	}
	for _, h := range signed(oa) {
		if !strings.Contains(";"+strings.Join(signed(sa), ";")+";", ";"+h+";") {
			t.Errorf("we sign %s, which the SDK does not: %q", h, sa)
		}
	}
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
		if !strings.Contains(";"+strings.Join(signed(oa), ";")+";", ";"+h+";") {
			t.Errorf("%s is not signed: %q", h, oa)
		}
	}
}

// Throttling, a server error or a broken connection is retried as the retryer says, up to its
// attempts; a client error is not; a cancelled context ends the retries.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	ok := answer{200, `{"Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`}
	for _, tc := range []struct {
		name     string
		answers  []answer
		requests int
		fails    bool
	}{
		{"throttled twice", []answer{{400, `{"__type":"ThrottlingException"}`}, {400, `{"__type":"ThrottlingException"}`}, ok}, 3, false},
		{"unavailable twice", []answer{{503, `{"__type":"KMSInternalException"}`}, {500, ``}, ok}, 3, false},
		{"unavailable throughout", []answer{{503, ``}}, 3, true},
		{"denied", []answer{{400, `{"__type":"AccessDeniedException"}`}, ok}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, tc.answers...)
			c := newClient(t, staticConfig(rec.srv.URL))
			_, err := c.Decrypt(ctx, "k", []byte("w"), dataKeyContext)
			if (err != nil) != tc.fails || len(rec.taken()) != tc.requests {
				t.Errorf("err %v after %d requests; want failure %v after %d", err, len(rec.requests), tc.fails, tc.requests)
			}
		})
	}
	// A connection refused is retried too.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	cfg := staticConfig(url)
	var attempts int
	cfg.Retryer = func() aws.Retryer {
		return countingRetryer{retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} }), &attempts}
	}
	if _, err := newClient(t, cfg).Decrypt(ctx, "k", []byte("w"), dataKeyContext); err == nil || attempts != 2 {
		t.Errorf("connection refused: %v after %d retries, want an error after 2", err, attempts)
	}
	// A cancelled context is not retried.
	rec := newRecorder(t, answer{503, ``})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newClient(t, staticConfig(rec.srv.URL)).Decrypt(cancelled, "k", []byte("w"), dataKeyContext); err == nil || len(rec.taken()) > 1 {
		t.Errorf("cancelled: %v", err)
	}
}

type countingRetryer struct {
	aws.Retryer
	n *int
}

func (c countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	*c.n++
	return c.Retryer.RetryDelay(attempt, err)
}

// The config's APIOptions run around each call as around the SDK's (the bench and the tests
// count calls with them): once per call, however many attempts it took, with the SDK's
// service id and operation name.
func TestAPIOptionsSeeEachCall(t *testing.T) {
	rec := newRecorder(t, answer{503, ``}, answer{200, `{"Plaintext":"AA=="}`})
	cfg := staticConfig(rec.srv.URL)
	var seen []string
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("see", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			seen = append(seen, awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
	if _, err := newClient(t, cfg).Decrypt(context.Background(), "k", []byte("w"), dataKeyContext); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "KMS.Decrypt" || len(rec.taken()) != 2 {
		t.Errorf("middleware saw %v over 2 attempts, want [KMS.Decrypt]", seen)
	}
}

// wire is an HTTP client that sends nothing: it keeps where each request went and how it was
// signed, and answers it from KMS.
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
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(`{"Plaintext":"AA=="}`)), Request: r}, nil
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

// With no endpoint configured, a call goes where the SDK's client sends it, signed for the
// same service and region: KMS's regional endpoints (kms.…, kms-fips.…) in each partition,
// and the FIPS and dual-stack variants.
func TestEndpointsAreTheSDKs(t *testing.T) {
	keyID := "alias/mfa"
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"} {
		for _, v := range []variants{{}, {fips: true}, {dual: true}, {fips: true, dual: true}} {
			w := &wire{}
			cfg := aws.Config{Region: region, Credentials: staticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := newClient(t, cfg).Decrypt(context.Background(), keyID, []byte("w"), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := kms.NewFromConfig(cfg).Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: []byte("w"), KeyId: &keyID}); err != nil {
				t.Fatal(err)
			}
			if len(w.seen) != 2 || w.seen[0] != w.seen[1] || !strings.HasSuffix(w.seen[0], " "+region+"/kms/aws4_request") {
				t.Errorf("%s %+v: ours, then the SDK's: %q", region, v, w.seen)
			}
		}
	}
}
