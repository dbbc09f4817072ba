// Package awsapi makes signed calls to AWS's JSON and REST-JSON APIs (and, through an
// operation's Codec, to others such as SNS's Query protocol) with the SDK's SigV4 signer,
// credentials, HTTP client, retryer and APIOptions, without the SDK's service clients, whose
// package initialisers build every shape's schema (and the endpoint rules) in every cold start
// of a function that links them. A client of one service (pkg/dynamoclient,
// pkg/eventsclient, pkg/kmsclient, pkg/sesclient, pkg/snsclient) says how its few operations
// go over the wire; this package resolves the
// endpoint as the SDK's client of that service does, runs each call through the config's
// middleware, signs, sends, retries and reads AWS's error answers.
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
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

// Service names a service as the SDK's client of it does.
type Service struct {
	// ID is the SDK's service id (its ServiceID constant, e.g. "KMS", "SESv2"): middleware
	// reads it (awsmiddleware.GetServiceID), and it names the service's own endpoint setting
	// (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SESV2).
	ID string
	// SigningName is the SigV4 service name, e.g. "kms", "ses".
	SigningName string
	// HostPrefix is the first label of the regional endpoint's host, e.g. "kms", "email";
	// the FIPS endpoint's is HostPrefix + "-fips".
	HostPrefix string
	// RegionalFIPS are the regions whose FIPS endpoint (without dual stack) is the regional
	// one, as the service's endpoint rules say: SNS's us-gov-east-1 and us-gov-west-1.
	RegionalFIPS []string
	// RegionalFIPSDualStack are the regions whose FIPS dual-stack endpoint is the regional
	// dual-stack one: EventBridge's us-gov-east-1 and us-gov-west-1.
	RegionalFIPSDualStack []string
	// Retryer is the service's retryer when the config sets none, as its SDK client makes it
	// (DynamoDB's: 4 attempts, a 25 ms base delay); nil: the SDK's standard retryer.
	Retryer func() aws.Retryer
	// MaxAnswer bounds what is read of an answer; 0: 1 MiB.
	MaxAnswer int
}

// Client calls one service.
type Client struct {
	service     Service
	apiOptions  []func(*middleware.Stack) error
	region      string
	endpoint    string // the service's URL, without a trailing slash; operations' paths follow it
	credentials aws.CredentialsProvider
	http        aws.HTTPClient
	retryer     aws.Retryer
	signer      *v4.Signer
	now         func() time.Time
}

// New makes a client of s from cfg: its region, credentials, HTTP client (the SDK's default
// when unset) and retryer (the SDK's standard one when unset); the endpoint is the service's
// own configured one (AWS_ENDPOINT_URL_<ID> or a profile's, through cfg's config sources),
// else cfg.BaseEndpoint, else the service's endpoint in the region's partition (FIPS or
// dual-stack when the config says so).
func New(cfg aws.Config, s Service) (*Client, error) {
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("awsapi: %s: invalid region %q", s.ID, cfg.Region)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("awsapi: %s: no credentials", s.ID)
	}
	c := &Client{service: s, apiOptions: cfg.APIOptions, region: cfg.Region, credentials: cfg.Credentials, http: cfg.HTTPClient, signer: v4.NewSigner(), now: time.Now}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	switch {
	case cfg.Retryer != nil:
		c.retryer = cfg.Retryer()
	case s.Retryer != nil:
		c.retryer = s.Retryer()
	default:
		c.retryer = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts != 0 { // as the SDK's clients apply AWS_MAX_ATTEMPTS
		c.retryer = retry.AddWithMaxAttempts(c.retryer, cfg.RetryMaxAttempts)
	}
	endpoint := regionalEndpoint(s, cfg.Region, useFIPS(cfg.ConfigSources), useDualStack(cfg.ConfigSources))
	if cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	// As the SDK's clients do: AWS_ENDPOINT_URL alone (without the service's own variable) is
	// the base endpoint, and no other source is asked.
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv(endpointVariable(s.ID))
	if v, ok := serviceEndpoint(cfg.ConfigSources, s.ID); ok && (own || !global) {
		endpoint = v
	}
	c.endpoint = strings.TrimSuffix(endpoint, "/")
	return c, nil
}

// endpointVariable is the environment variable of a service's own endpoint, as the SDK names
// it: AWS_ENDPOINT_URL_ and the service id in upper case, spaces as underscores.
func endpointVariable(id string) string {
	return "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(id, " ", "_"))
}

// serviceEndpoint is the service's own endpoint from the config sources (awsenv's or the
// SDK's AWS_ENDPOINT_URL_<ID>, a profile's services section), as the SDK's clients look it
// up: none when the sources say to ignore configured endpoints
// (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), which a profile's source does not check itself.
func serviceEndpoint(sources []any, id string) (string, bool) {
	ctx := context.Background()
	for _, s := range sources {
		if r, ok := s.(interface {
			GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
		}); ok {
			ignore, found, err := r.GetIgnoreConfiguredEndpoints(ctx)
			if found && ignore && err == nil {
				return "", false
			}
			if found || err != nil {
				break
			}
		}
	}
	for _, s := range sources {
		if r, ok := s.(interface {
			GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
		}); ok {
			v, found, err := r.GetServiceBaseEndpoint(ctx, id)
			if err != nil {
				return "", false
			}
			if found {
				return v, true
			}
		}
	}
	return "", false
}

// regionalEndpoint is a service's endpoint in region's partition, its FIPS one
// (host "<prefix>-fips", or the regional one in s.RegionalFIPS, and in
// s.RegionalFIPSDualStack with dual stack) and its dual-stack one, as the SDK's endpoint rules
// give them.
func regionalEndpoint(s Service, region string, fips, dualStack bool) string {
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
	host := s.HostPrefix
	regional := s.RegionalFIPS
	if dualStack {
		regional = s.RegionalFIPSDualStack
	}
	if fips && !slices.Contains(regional, region) {
		host += "-fips"
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

// Operation says how one operation goes over the wire.
type Operation struct {
	Name   string // the SDK's operation name, e.g. "Decrypt", "SendEmail"
	Method string // e.g. http.MethodPost
	// Path follows the endpoint: "/" in the JSON protocol, the operation's URI in REST-JSON
	// (e.g. "/v2/email/outbound-emails").
	Path   string
	Header http.Header // the protocol's headers, e.g. Content-Type and X-Amz-Target; signed
	// Codec carries the operation in a protocol other than JSON; its zero value is JSON's
	// (and REST-JSON's).
	Codec Codec
}

// Codec says how a protocol other than JSON encodes a call's input and reads its answers,
// e.g. SNS's Query protocol (a form in, XML out). Each nil func means JSON's way.
type Codec struct {
	// Encode is the request body for the call's input (its content type is in the
	// operation's Header).
	Encode func(in any) ([]byte, error)
	// Decode reads a successful answer into out.
	Decode func(data []byte, out any) error
	// Error reads an error answer's code, message and request id; an empty code is
	// UnknownError.
	Error func(header http.Header, data []byte) (code, message, requestID string)
	// Check, when set, checks every answer before it is read (e.g. DynamoDB's CRC32 of the
	// body); its error is the call's.
	Check func(header http.Header, data []byte) error
	// Fail, when set, makes the error of an error answer from what Error read of it and its
	// body (e.g. DynamoDB's ConditionalCheckFailedException with the item); it may return e.
	Fail func(e *APIError, data []byte) error
}

// Call runs op with in as its body (JSON unless op's Codec encodes it) and decodes the answer
// into out, through the config's APIOptions as the SDK's clients do: the SDK middleware they
// add (to count or trace calls) runs around it at the Initialize step, with the SDK's service
// id and operation name in the context and params as the call's parameters (what the SDK
// passes is its input struct; a client passes what its callers gave it). No HTTP request is
// exposed to later steps: the client builds, signs and retries its requests itself.
func (c *Client) Call(ctx context.Context, op Operation, params, in, out any) error {
	if len(c.apiOptions) == 0 {
		return c.send(ctx, op, in, out)
	}
	stack := middleware.NewStack(op.Name, smithyhttp.NewStackRequest)
	for _, add := range c.apiOptions {
		if err := add(stack); err != nil {
			return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
		}
	}
	// The call's output is the result every step sees on the way out (smithy hands a
	// handler's answer up as the raw response, which the SDK's deserializers would read).
	if err := stack.Deserialize.Add(asResult, middleware.After); err != nil {
		return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(ctx context.Context, _ any) (any, middleware.Metadata, error) {
		return out, middleware.Metadata{}, c.send(ctx, op, in, out)
	}), stack)
	ctx = awsmiddleware.SetServiceID(awsmiddleware.SetOperationName(ctx, op.Name), c.service.ID)
	_, _, err := h.Handle(ctx, params)
	return err
}

// asResult makes the answer of the call the result of the Deserialize step.
var asResult = middleware.DeserializeMiddlewareFunc("awsapiResult", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	out.Result, out.RawResponse = out.RawResponse, nil
	return out, md, err
})

// send sends op with input in and decodes its answer into out, retrying as the retryer says,
// within its retry quota and attempt tokens, as the SDK's retry middleware does.
func (c *Client) send(ctx context.Context, op Operation, in, out any) error {
	encode := op.Codec.Encode
	if encode == nil {
		encode = encodeJSON
	}
	body, err := encode(in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	releaseRetry := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
		}
		releaseAttempt := func(error) error { return nil }
		if v2, ok := c.retryer.(aws.RetryerV2); ok {
			if releaseAttempt, err = v2.GetAttemptToken(ctx); err != nil {
				return fmt.Errorf("%s %s: attempt token: %w", c.service.ID, op.Name, err)
			}
		}
		err := c.attempt(ctx, op, body, payloadHash, out)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil || ctx.Err() != nil || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		if max := c.retryer.MaxAttempts(); max > 0 && attempt >= max {
			return err
		}
		release, qerr := c.retryer.GetRetryToken(ctx, err)
		if qerr != nil { // the retry quota is spent: the service is failing, stop adding load
			return err
		}
		releaseRetry = release
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

// encodeJSON is in as JSON. As the SDK's encoder does, <, > and & go out as they are, not as
// \u003c…: an HTML email body would grow by a sixth.
func encodeJSON(in any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// maxAnswer bounds what is read of an answer (the calls made through this package get a few
// hundred bytes back).
const maxAnswer = 1 << 20

func (c *Client) attempt(ctx context.Context, op Operation, body []byte, payloadHash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, op.Method, c.endpoint+op.Path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
	}
	for k, vs := range op.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	creds, err := c.credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s %s: credentials: %w", c.service.ID, op.Name, err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, c.service.SigningName, c.region, c.now().UTC()); err != nil {
		return fmt.Errorf("%s %s: sign: %w", c.service.ID, op.Name, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
	}
	defer resp.Body.Close()
	limit := int64(c.service.MaxAnswer)
	if limit <= 0 {
		limit = maxAnswer
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", c.service.ID, op.Name, err)
	}
	defer clear(data) // it may hold a secret: KMS's Decrypt and GenerateDataKey answer the plaintext key
	if op.Codec.Check != nil {
		if err := op.Codec.Check(resp.Header, data); err != nil {
			return fmt.Errorf("%s %s: %w", c.service.ID, op.Name, err)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		read := op.Codec.Error
		if read == nil {
			read = jsonError
		}
		code, msg, id := read(resp.Header, data)
		if code == "" {
			code = "UnknownError"
		}
		e := &APIError{Service: c.service.ID, Operation: op.Name, Code: code, Message: msg, StatusCode: resp.StatusCode, RequestID: id}
		if op.Codec.Fail != nil {
			return op.Codec.Fail(e, data)
		}
		return e
	}
	decode := op.Codec.Decode
	if decode == nil {
		decode = json.Unmarshal
	}
	if err := decode(data, out); err != nil {
		return fmt.Errorf("%s %s: answer: %w", c.service.ID, op.Name, err)
	}
	return nil
}

// APIError is an error a service answered. It has the methods the SDK's retry rules and
// smithy's APIError ask of an error (ErrorCode, HTTPStatusCode, ErrorFault).
type APIError struct {
	Service    string // the SDK's service id, e.g. KMS, SESv2
	Operation  string
	Code       string // e.g. InvalidCiphertextException, MessageRejected, ThrottlingException
	Message    string
	StatusCode int
	RequestID  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d, RequestID: %s, %s: %s", e.Service, e.Operation, e.StatusCode, e.RequestID, e.Code, e.Message)
}

// ErrorCode is the error's type, as the SDK's errors name it.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is the service's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// HTTPStatusCode is the answer's status.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// ErrorFault says whose fault it was: the service's for a 5xx answer.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

var _ smithy.APIError = (*APIError)(nil)

// jsonError reads an error answer of the JSON and REST-JSON protocols: the type from
// X-Amzn-Errortype or the body's __type (or code), without its namespace ("…#") or trailing
// details (":…").
func jsonError(header http.Header, data []byte) (code, message, requestID string) {
	var body struct {
		Type       string `json:"__type"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		MessageCap string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	code = header.Get("X-Amzn-Errortype")
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
	message = body.Message
	if message == "" {
		message = body.MessageCap
	}
	return code, message, header.Get("X-Amzn-Requestid")
}
