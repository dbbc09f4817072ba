// Package client is a typed Go client for the MFA service's HTTP API: the self-service and
// service routes under /v1/users/{userId}/…, the admin routes under /v1/admin/…, and the
// public JWKS. Its request and response types are the service's wire types (pkg/api, which
// the server uses too); a policy is written as a policy.Overlay (the fields set) and read
// back with its effective policy.Policy.
//
//	c, err := client.New("https://mfa.example.com", client.WithTokenSource(tokens))
//	ch, err := c.CreateChallenge(ctx, "me", client.ChallengeRequest{Purpose: "sign_in"})
//	v, err := c.Verify(ctx, "me", ch.ChallengeID, client.VerifyRequest{Type: "totp", Code: code})
//	if client.IsCode(err, "verification_failed") { … }
//
// Error answers are *Problem values. A user id may be "me" with a user token.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenSource returns the bearer token (an access token of the identity provider the
// service's JWT authorizer trusts) for one request. It is called before every attempt, so
// it may refresh tokens; its error ends the call.
type TokenSource func(ctx context.Context) (string, error)

// RetryPolicy bounds retries. The zero value of a field takes its default.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included (default 3; 1 turns
	// retrying off).
	MaxAttempts int
	// BaseDelay is the first back-off; it doubles with each attempt, with jitter (default
	// 200ms).
	BaseDelay time.Duration
	// MaxDelay caps one wait (default 5s). A Retry-After longer than this is not waited for:
	// the Problem is returned at once, with its RetryAfter.
	MaxDelay time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	return p
}

// Client calls one deployment of the MFA service. It is safe for concurrent use.
//
// # Retries
//
// An answer of 429, 502, 503 or 504, or a failed connection, is retried with exponential
// back-off and jitter, waiting at least the answer's Retry-After, within the RetryPolicy's
// attempts and the context's deadline, but only where repeating the request cannot do harm:
//
//   - GET, PUT and DELETE requests (reads, policy writes, removals) and RenameFactor;
//   - the POSTs that create nothing single use and count nothing: CreateChallenge (an
//     unanswered challenge just expires) unless it asks for a code (SendCode),
//     SkipEnrollmentPrompt and AdminUnlock.
//
// These are never retried, whatever the answer:
//
//   - Verify and CompleteEnrollment: an answer is single use and every failure is counted
//     towards the user's lock-out;
//   - SendCode, CreateChallenge with SendCode and StartEnrollment (which may send a code):
//     sends are capped per challenge, user and destination;
//   - RegenerateBackupCodes and AdminBind: they mint codes or secrets shown only once.
//
// A DELETE retried after its first attempt succeeded unseen answers 404 (factor_not_found,
// device_not_found, policy_not_found).
//
// # Secrets
//
// Errors never contain a request body, a bearer token or an X-MFA-Token. The client does
// not follow redirects, so neither token is ever sent to another URL. Plain http is refused
// except to a loopback host, unless AllowInsecureHTTP is given.
type Client struct {
	base   *url.URL
	hc     *http.Client
	tokens TokenSource
	retry  RetryPolicy
	ua     string
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// Option configures a Client.
type Option func(*options)

type options struct {
	hc            *http.Client
	tokens        TokenSource
	retry         RetryPolicy
	userAgent     string
	allowInsecure bool
}

// WithTokenSource sets where bearer tokens come from.
func WithTokenSource(ts TokenSource) Option { return func(o *options) { o.tokens = ts } }

// WithToken uses one fixed bearer token.
func WithToken(token string) Option {
	return WithTokenSource(func(context.Context) (string, error) { return token, nil })
}

// WithHTTPClient sets the HTTP client (transport, timeouts). The client is copied and the
// copy does not follow redirects.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithRetry sets the retry bounds; see Client for which calls are retried.
func WithRetry(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithoutRetries turns retrying off.
func WithoutRetries() Option { return WithRetry(RetryPolicy{MaxAttempts: 1}) }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// AllowInsecureHTTP permits a plain http base URL to a host that is not loopback. Tokens
// then cross the network in clear text: for tests only.
func AllowInsecureHTTP() Option { return func(o *options) { o.allowInsecure = true } }

// New returns a client for the service at baseURL, e.g. the stack's ApiUrl output
// ("https://abc.execute-api.eu-west-1.amazonaws.com") or "http://localhost:3000". A path
// in baseURL (a custom domain's base path) is kept.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := options{userAgent: "mfa-service-go-client/1"}
	for _, opt := range opts {
		opt(&o)
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("mfa client: the base URL must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mfa client: the base URL must not carry credentials, a query or a fragment")
	}
	if u.Scheme == "http" && !o.allowInsecure && !isLoopback(u.Hostname()) {
		return nil, errors.New("mfa client: plain http is allowed only to a loopback host (tokens would travel in clear text)")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if o.hc != nil {
		cp := *o.hc
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		base: u, hc: hc, tokens: o.tokens, retry: o.retry.withDefaults(), ua: o.userAgent,
		now: time.Now, sleep: sleepCtx,
	}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CallOption adjusts one call.
type CallOption func(*call)

type call struct {
	mfaToken string
	token    string
	noRetry  bool
}

// WithMFAToken sends an mfaToken as X-MFA-Token: the step-up a user token needs to add a
// factor while the user has one, remove a factor, or regenerate backup codes.
func WithMFAToken(mfaToken string) CallOption { return func(c *call) { c.mfaToken = mfaToken } }

// WithAccessToken uses this bearer token for the call instead of the client's TokenSource,
// e.g. the signed-in user's own token in a backend that serves many users.
func WithAccessToken(token string) CallOption { return func(c *call) { c.token = token } }

// NoRetry turns retrying off for the call.
func NoRetry() CallOption { return func(c *call) { c.noRetry = true } }

// request is one API call.
type request struct {
	method string
	route  string // the route template, for error texts (ids can be personal data)
	path   string // escaped path under the base URL
	query  url.Values
	body   any  // JSON-encoded when non-nil
	retry  bool // safe to repeat (see Client)
	public bool // no bearer token (the JWKS)
	opts   []CallOption
}

// newRequest fills a route key of template.yaml ("POST /v1/users/{userId}/challenges")
// with escaped ids, in order. An empty id is refused before any request is made.
func newRequest(routeKey string, ids ...string) (request, error) {
	method, rest, _ := strings.Cut(routeKey, " ")
	r := request{method: method, route: rest}
	var b strings.Builder
	for i := 0; ; i++ {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := open + strings.IndexByte(rest[open:], '}')
		name := rest[open+1 : end]
		if i >= len(ids) {
			panic("client: route " + routeKey + " lacks a value for " + name)
		}
		if ids[i] == "" {
			return request{}, fmt.Errorf("mfa client: %s %s: %s is empty", method, r.route, name)
		}
		b.WriteString(rest[:open])
		b.WriteString(escapeSegment(ids[i]))
		rest = rest[end+1:]
	}
	r.path = b.String()
	return r, nil
}

// escapeSegment escapes one path segment; "." and ".." are escaped too, so that nothing on
// the way resolves them as relative paths.
func escapeSegment(s string) string {
	if strings.Trim(s, ".") == "" {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// do sends r and decodes a 2xx JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	var cl call
	for _, o := range r.opts {
		o(&cl)
	}
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("mfa client: %s %s: encoding the request failed", r.method, r.route)
		}
	}
	target := c.base.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	attempts := 1
	if r.retry && !cl.noRetry {
		attempts = c.retry.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		status, hdr, body, err := c.once(ctx, r, cl, target, payload)
		var retryAfter time.Duration
		var failure error
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("mfa client: %s %s: %w", r.method, r.route, ctx.Err())
			}
			var te *transportError
			if !errors.As(err, &te) {
				return err // no request was sent (token source)
			}
			failure = err
		case status >= 200 && status < 300:
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("mfa client: %s %s: the answer (%d) is not the expected JSON", r.method, r.route, status)
			}
			return nil
		default:
			p := parseProblem(status, hdr, body, c.now())
			if !retryableStatus(status) {
				return p
			}
			failure, retryAfter = p, p.RetryAfter
		}
		if attempt >= attempts {
			return failure
		}
		wait := c.backoff(attempt)
		if retryAfter > c.retry.MaxDelay {
			return failure // the server asks for longer than we wait
		}
		wait = max(wait, retryAfter)
		if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
			return fmt.Errorf("mfa client: %s %s: %w; last answer: %w", r.method, r.route, context.DeadlineExceeded, failure)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("mfa client: %s %s: %w; last answer: %w", r.method, r.route, err, failure)
		}
	}
}

// transportError is a request that got no HTTP answer.
type transportError struct {
	method, route string
	err           error
}

func (e *transportError) Error() string {
	// The *url.Error's text holds the URL (ids, no secrets); the cause is what matters.
	cause := e.err
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err
	}
	return fmt.Sprintf("mfa client: %s %s: %v", e.method, e.route, cause)
}

func (e *transportError) Unwrap() error { return e.err }

const maxAnswer = 4 << 20

func (c *Client) once(ctx context.Context, r request, cl call, target string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("mfa client: %s %s: cannot build the request", r.method, r.route)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.ua)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !r.public {
		tok := cl.token
		if tok == "" && c.tokens != nil {
			if tok, err = c.tokens(ctx); err != nil {
				return 0, nil, nil, fmt.Errorf("mfa client: token source: %w", err)
			}
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if cl.mfaToken != "" {
			req.Header.Set("X-MFA-Token", cl.mfaToken)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, &transportError{r.method, r.route, err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, nil, &transportError{r.method, r.route, err}
	}
	return resp.StatusCode, resp.Header, body, nil
}

func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is BaseDelay·2^(attempt-1), capped at MaxDelay, with "equal jitter": a random
// point in its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
