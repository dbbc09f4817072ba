// Package kmsclient makes the two KMS calls of the keyring (pkg/seal): Decrypt, which unwraps
// the data key once per cold start, and GenerateDataKey, which makes it the first time the
// service runs. It speaks KMS's JSON protocol, signs with the SDK's SigV4 signer and takes
// the SDK's credentials, HTTP client, retry rules and APIOptions (middleware that counts or
// traces calls) from the aws.Config, and resolves the endpoint as the SDK's KMS client does.
//
// Why not the SDK's KMS client: its package initialisers build the schema of every KMS shape
// and its endpoint rules (about 430 KB of heap, 1.5 ms) in every function that unwraps the
// key, and its first call pays for a second middleware stack: together about 2–3 ms of the
// 50 ms cold-start budget for two calls per container (make bench, -coldstart-compare).
// TestRequestsAreTheSDKs, TestEndpointsAreTheSDKs and the tests against moto hold it to the
// SDK's client.
package kmsclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Client calls KMS.
type Client struct {
	apiOptions  []func(*middleware.Stack) error
	region      string
	endpoint    string // the URL requests are posted to
	credentials aws.CredentialsProvider
	http        aws.HTTPClient
	retryer     aws.Retryer
	signer      *v4.Signer
	now         func() time.Time
}

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (the SDK's standard one when unset); the endpoint is
// AWS_ENDPOINT_URL_KMS (through cfg's config sources), else cfg.BaseEndpoint, else KMS's
// endpoint in the region's partition (FIPS or dual-stack when the config says so).
func New(cfg aws.Config) (*Client, error) {
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("kmsclient: invalid region %q", cfg.Region)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("kmsclient: no credentials")
	}
	c := &Client{apiOptions: cfg.APIOptions, region: cfg.Region, credentials: cfg.Credentials, http: cfg.HTTPClient, signer: v4.NewSigner(), now: time.Now}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	if cfg.Retryer != nil {
		c.retryer = cfg.Retryer()
	} else {
		c.retryer = retry.NewStandard()
	}
	endpoint := regionalEndpoint(cfg.Region, useFIPS(cfg.ConfigSources), useDualStack(cfg.ConfigSources))
	if cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	// As the SDK's clients do: AWS_ENDPOINT_URL alone (no AWS_ENDPOINT_URL_KMS) is the base
	// endpoint, and no other source is asked.
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_KMS")
	if v, ok := serviceEndpoint(cfg.ConfigSources); ok && (own || !global) {
		endpoint = v
	}
	c.endpoint = strings.TrimSuffix(endpoint, "/") + "/"
	return c, nil
}

// serviceEndpoint is KMS's own endpoint from the config sources (awsenv, the SDK's
// EnvConfig: AWS_ENDPOINT_URL_KMS), as the SDK's clients look it up.
func serviceEndpoint(sources []any) (string, bool) {
	for _, s := range sources {
		if r, ok := s.(interface {
			GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
		}); ok {
			if v, found, err := r.GetServiceBaseEndpoint(context.Background(), "KMS"); err == nil && found {
				return v, true
			}
		}
	}
	return "", false
}

// regionalEndpoint is KMS's endpoint in region's partition, its FIPS one (kms-fips) and its
// dual-stack one as the SDK's endpoint rules give them.
func regionalEndpoint(region string, fips, dualStack bool) string {
	suffix, dual := "amazonaws.com", "api.aws"
	for _, p := range [...]struct{ prefix, suffix, dual string }{
		{"cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
		{"us-iso-", "c2s.ic.gov", "api.aws.ic.gov"},
		{"us-isob-", "sc2s.sgov.gov", "api.aws.scloud"},
		{"us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"},
		{"eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"},
		{"eusc-", "amazonaws.eu", "api.amazonwebservices.eu"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			suffix, dual = p.suffix, p.dual
			break
		}
	}
	host := "kms"
	if fips {
		host = "kms-fips"
	}
	if dualStack {
		suffix = dual
	}
	return "https://" + host + "." + region + "." + suffix
}

// useFIPS and useDualStack read the endpoint variants from the config sources (the SDK's
// AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT, or a profile's settings).
func useFIPS(sources []any) bool {
	for _, s := range sources {
		if r, ok := s.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		}); ok {
			if v, found, err := r.GetUseFIPSEndpoint(context.Background()); err == nil && found {
				return v == aws.FIPSEndpointStateEnabled
			}
		}
	}
	return false
}

func useDualStack(sources []any) bool {
	for _, s := range sources {
		if r, ok := s.(interface {
			GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
		}); ok {
			if v, found, err := r.GetUseDualStackEndpoint(context.Background()); err == nil && found {
				return v == aws.DualStackEndpointStateEnabled
			}
		}
	}
	return false
}

// validRegion: a region is a host label (letters, digits, hyphens), as the SDK requires.
func validRegion(r string) bool {
	if r == "" || len(r) > 63 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Decrypt unwraps a data key wrapped under keyID with encryptionContext.
func (c *Client) Decrypt(ctx context.Context, keyID string, wrapped []byte, encryptionContext map[string]string) ([]byte, error) {
	in := struct {
		CiphertextBlob    []byte            `json:"CiphertextBlob"`
		EncryptionContext map[string]string `json:"EncryptionContext,omitempty"`
		KeyID             string            `json:"KeyId,omitempty"`
	}{wrapped, encryptionContext, keyID}
	var out struct {
		Plaintext []byte `json:"Plaintext"`
	}
	if err := c.call(ctx, "Decrypt", in, &out); err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}

// GenerateDataKey makes a 256-bit data key under keyID, bound to encryptionContext, and
// returns it in plaintext and wrapped.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, encryptionContext map[string]string) (plaintext, wrapped []byte, err error) {
	in := struct {
		EncryptionContext map[string]string `json:"EncryptionContext,omitempty"`
		KeyID             string            `json:"KeyId"`
		KeySpec           string            `json:"KeySpec"`
	}{encryptionContext, keyID, "AES_256"}
	var out struct {
		CiphertextBlob []byte `json:"CiphertextBlob"`
		Plaintext      []byte `json:"Plaintext"`
	}
	if err := c.call(ctx, "GenerateDataKey", in, &out); err != nil {
		return nil, nil, err
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// call runs operation op through the config's APIOptions, as the SDK's clients do: the SDK
// middleware they add (to count or trace calls) runs around it at the Initialize step, with
// the SDK's service id ("KMS") and operation name in the context and the input as its
// parameters. No HTTP request is exposed to later steps: the client builds, signs and
// retries its requests itself.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	if len(c.apiOptions) == 0 {
		return c.send(ctx, op, in, out)
	}
	stack := middleware.NewStack(op, smithyhttp.NewStackRequest)
	for _, add := range c.apiOptions {
		if err := add(stack); err != nil {
			return fmt.Errorf("kms %s: %w", op, err)
		}
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(ctx context.Context, _ any) (any, middleware.Metadata, error) {
		return out, middleware.Metadata{}, c.send(ctx, op, in, out)
	}), stack)
	ctx = awsmiddleware.SetServiceID(awsmiddleware.SetOperationName(ctx, op), "KMS")
	_, _, err := h.Handle(ctx, in)
	return err
}

// send sends operation op with input in and decodes its answer into out, retrying as the
// retryer says. (The retryer's retry quota is left out: a container makes one such call.)
func (c *Client) send(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("kms %s: %w", op, err)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, op, body, payloadHash, out)
		if err == nil || ctx.Err() != nil || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		if max := c.retryer.MaxAttempts(); max > 0 && attempt >= max {
			return err
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// maxAnswer bounds what is read of an answer (KMS's are a few hundred bytes).
const maxAnswer = 1 << 20

func (c *Client) attempt(ctx context.Context, op string, body []byte, payloadHash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("kms %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	creds, err := c.credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("kms %s: credentials: %w", op, err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, "kms", c.region, c.now().UTC()); err != nil {
		return fmt.Errorf("kms %s: sign: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kms %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("kms %s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(op, resp, data)
	}
	err = json.Unmarshal(data, out)
	clear(data) // it held the plaintext key
	if err != nil {
		return fmt.Errorf("kms %s: answer: %w", op, err)
	}
	return nil
}

// APIError is an error KMS answered. It has the methods the SDK's retry rules and smithy's
// APIError ask of an error (ErrorCode, HTTPStatusCode, ErrorFault).
type APIError struct {
	Operation  string
	Code       string // e.g. InvalidCiphertextException, AccessDeniedException, ThrottlingException
	Message    string
	StatusCode int
	RequestID  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("kms %s: HTTP %d, RequestID: %s, %s: %s", e.Operation, e.StatusCode, e.RequestID, e.Code, e.Message)
}

// ErrorCode is the error's type, as the SDK's errors name it.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is KMS's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// HTTPStatusCode is the answer's status.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// ErrorFault says whose fault it was: KMS's for a 5xx answer.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// answerError reads an error answer of the JSON protocol: the type from X-Amzn-Errortype or
// the body's __type (or code), without its namespace ("…#") or trailing details (":…").
func answerError(op string, resp *http.Response, data []byte) error {
	var body struct {
		Type       string `json:"__type"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		MessageCap string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	code := resp.Header.Get("X-Amzn-Errortype")
	for _, c := range []string{body.Type, body.Code} {
		if code == "" {
			code = c
		}
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = "UnknownError"
	}
	msg := body.Message
	if msg == "" {
		msg = body.MessageCap
	}
	return &APIError{Operation: op, Code: code, Message: msg, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
}
