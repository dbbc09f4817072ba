package kmsclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awsapi/awsapitest"
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

// kmsJSON is KMS's JSON 1.1 protocol: each operation named by X-Amz-Target.
var kmsJSON = awsapitest.Protocol{SigningName: "kms", ContentType: "application/x-amz-json-1.1", Headers: []string{"X-Amz-Target"}}

// What goes over the wire is what the SDK's KMS client sends for the same call: the method,
// path and target, the content type and length, the JSON members, a SigV4 signature for kms
// in the region over the same headers (with the session token); and an answer reads the
// same, an error with the same code.
func TestRequestsAreTheSDKs(t *testing.T) {
	ctx := context.Background()
	rec := awsapitest.NewRecorder(t, kmsJSON, awsapitest.Answer{Status: 200, Body: `{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/k","Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","CiphertextBlob":"d3JhcHBlZA==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`})
	cfg := awsapitest.StaticConfig(rec.URL)
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
	kmsJSON.SameRequest(t, rec.Taken())

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
	kmsJSON.SameRequest(t, rec.Taken())

	for _, tc := range []struct {
		answer awsapitest.Answer
		code   string
	}{
		{awsapitest.Answer{Status: 400, Body: `{"__type":"InvalidCiphertextException","message":"no"}`}, "InvalidCiphertextException"},
		{awsapitest.Answer{Status: 400, Body: `{"__type":"com.amazonaws.kms#AccessDeniedException","Message":"denied"}`}, "AccessDeniedException"},
		{awsapitest.Answer{Status: 404, Body: `{"__type":"NotFoundException:http://internal.amazon.com/","message":"gone"}`}, "NotFoundException"},
	} {
		rec.SetAnswers(tc.answer)
		_, err := ours.Decrypt(ctx, keyID, []byte("wrapped"), dataKeyContext)
		_, sdkErr := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("wrapped"), KeyId: &keyID, EncryptionContext: dataKeyContext})
		var a, b smithy.APIError
		if !errors.As(err, &a) || !errors.As(sdkErr, &b) || a.ErrorCode() != tc.code || b.ErrorCode() != tc.code || a.ErrorMessage() != b.ErrorMessage() {
			t.Errorf("%s: ours %v, the SDK's %v", tc.answer.Body, err, sdkErr)
		}
		rec.Taken()
	}
}

// Throttling, a server error or a broken connection is retried as the retryer says, up to its
// attempts; a client error is not; a cancelled context ends the retries.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	ok := awsapitest.Answer{Status: 200, Body: `{"Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`}
	for _, tc := range []struct {
		name     string
		answers  []awsapitest.Answer
		requests int
		fails    bool
	}{
		{"throttled twice", []awsapitest.Answer{{Status: 400, Body: `{"__type":"ThrottlingException"}`}, {Status: 400, Body: `{"__type":"ThrottlingException"}`}, ok}, 3, false},
		{"unavailable twice", []awsapitest.Answer{{Status: 503, Body: `{"__type":"KMSInternalException"}`}, {Status: 500}, ok}, 3, false},
		{"unavailable throughout", []awsapitest.Answer{{Status: 503}}, 3, true},
		{"denied", []awsapitest.Answer{{Status: 400, Body: `{"__type":"AccessDeniedException"}`}, ok}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := awsapitest.NewRecorder(t, kmsJSON, tc.answers...)
			c := newClient(t, awsapitest.StaticConfig(rec.URL))
			_, err := c.Decrypt(ctx, "k", []byte("w"), dataKeyContext)
			if n := len(rec.Taken()); (err != nil) != tc.fails || n != tc.requests {
				t.Errorf("err %v after %d requests; want failure %v after %d", err, n, tc.fails, tc.requests)
			}
		})
	}
	// A connection refused is retried too.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	cfg := awsapitest.StaticConfig(url)
	var attempts int
	cfg.Retryer = func() aws.Retryer {
		return countingRetryer{retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = awsapitest.NoBackoff{} }), &attempts}
	}
	if _, err := newClient(t, cfg).Decrypt(ctx, "k", []byte("w"), dataKeyContext); err == nil || attempts != 2 {
		t.Errorf("connection refused: %v after %d retries, want an error after 2", err, attempts)
	}
	// A cancelled context is not retried.
	rec := awsapitest.NewRecorder(t, kmsJSON, awsapitest.Answer{Status: 503})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newClient(t, awsapitest.StaticConfig(rec.URL)).Decrypt(cancelled, "k", []byte("w"), dataKeyContext); err == nil || len(rec.Taken()) > 1 {
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
	rec := awsapitest.NewRecorder(t, kmsJSON, awsapitest.Answer{Status: 503}, awsapitest.Answer{Status: 200, Body: `{"Plaintext":"AA=="}`})
	cfg := awsapitest.StaticConfig(rec.URL)
	calls := awsapitest.WatchCalls(&cfg)
	if _, err := newClient(t, cfg).Decrypt(context.Background(), "k", []byte("w"), dataKeyContext); err != nil {
		t.Fatal(err)
	}
	if len(calls.Names) != 1 || calls.Names[0] != "KMS.Decrypt" || len(rec.Taken()) != 2 {
		t.Errorf("middleware saw %v over 2 attempts, want [KMS.Decrypt]", calls.Names)
	}
}

// With no endpoint configured, a call goes where the SDK's client sends it, signed for the
// same service and region: KMS's regional endpoints (kms.…, kms-fips.…) in each partition,
// and the FIPS and dual-stack variants.
func TestEndpointsAreTheSDKs(t *testing.T) {
	keyID := "alias/mfa"
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"} {
		for _, v := range awsapitest.EveryVariant {
			w := awsapitest.NewWire(kmsJSON, `{"Plaintext":"AA=="}`)
			cfg := aws.Config{Region: region, Credentials: awsapitest.StaticConfig("").Credentials, HTTPClient: w, ConfigSources: []any{v}}
			if _, err := newClient(t, cfg).Decrypt(context.Background(), keyID, []byte("w"), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := kms.NewFromConfig(cfg).Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: []byte("w"), KeyId: &keyID}); err != nil {
				t.Fatal(err)
			}
			if seen := w.Seen(); len(seen) != 2 || seen[0] != seen[1] || !strings.HasSuffix(seen[0], " "+region+"/kms/aws4_request") {
				t.Errorf("%s %+v: ours, then the SDK's: %q", region, v, seen)
			}
		}
	}
}
