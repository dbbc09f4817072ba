package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/mfa-service/mfa/pkg/api/apitest"
	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/notify"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

type env struct {
	claims map[string]string // extra token claims for the next calls
	query  map[string]string // query string of the next call only
	header map[string]string // extra headers of the next call only
	t      *testing.T
	app    *app.App
	clock  *clock
	logs   *syncBuffer
	table  string
}

// newEnv wires the real service against a fresh table and KMS key in the harness moto.
func newEnv(t *testing.T) *env {
	t.Helper()
	table := awstest.NewTable(t)
	a, err := app.New(context.Background(), testConfig(t, table), testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, clock: &clock{t: time.Unix(1_800_000_000, 0).UTC()}, logs: &syncBuffer{}, table: table}
	a.Core.Now = e.clock.Now
	a.Log = httpapi.NewLogger(e.logs, -8)
	a.API.Log = a.Log
	return e
}

const sender = "mfa@example.com"

var senderOnce sync.Once

// testConfig is the service configuration of a test: its own table and key, and a verified
// SES sender in the harness moto.
func testConfig(t *testing.T, table string) app.Config {
	t.Helper()
	senderOnce.Do(func() {
		ses := sesv2.NewFromConfig(awstest.Config(t))
		if _, err := ses.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
			t.Fatalf("ses identity: %v", err)
		}
	})
	return app.Config{
		TableName: table, KMSKeyID: awstest.NewKey(t),
		MFATokenIssuer: "mfa-test", MFATokenAudience: "app", MFATokenTTL: 5 * time.Minute,
		TOTPIssuer: "Test MFA", AuditRetention: 24 * time.Hour,
	}
}

// testOptions are every adapter, the notifier sending from the test's verified SES sender.
func testOptions(extra ...app.Option) []app.Option {
	opts := append(fullstack.Options(), fullstack.WithNotify(notify.Config{Sender: sender, ProductName: "Test MFA"}))
	return append(opts, extra...)
}

// who is a caller as the JWT authorizer would describe it.
type who struct {
	sub   string
	scope string
	mfa   string // X-MFA-Token
}

func user(sub string) who           { return who{sub: sub} }
func service() who                  { return who{sub: "backend", scope: "mfa/service"} }
func admin() who                    { return who{sub: "root", scope: "mfa/admin"} }
func (w who) stepUp(tok string) who { w.mfa = tok; return w }

type response struct {
	status  int
	headers map[string]string
	body    map[string]any
	raw     string
}

func (r response) str(key string) string { s, _ := r.body[key].(string); return s }

var handlersByRoute = map[string]func(*httpapi.API) httpapi.Handler{
	"POST /v1/users/{userId}/enrollments":                            (*httpapi.API).Enrollment,
	"POST /v1/users/{userId}/enrollments/{enrollmentId}/complete":    (*httpapi.API).Enrollment,
	"GET /v1/users/{userId}/factors":                                 (*httpapi.API).Enrollment,
	"DELETE /v1/users/{userId}/factors/{factorId}":                   (*httpapi.API).Enrollment,
	"POST /v1/users/{userId}/challenges":                             (*httpapi.API).Challenge,
	"POST /v1/users/{userId}/challenges/{challengeId}/deliveries":    (*httpapi.API).Challenge,
	"POST /v1/users/{userId}/backup-codes":                           (*httpapi.API).Enrollment,
	"POST /v1/users/{userId}/challenges/{challengeId}/verifications": (*httpapi.API).Verify,
	"PATCH /v1/users/{userId}/factors/{factorId}":                    (*httpapi.API).Enrollment,
	"POST /v1/users/{userId}/enrollment-prompt/skip":                 (*httpapi.API).Challenge,
	"GET /v1/admin/policy":                                           (*httpapi.API).Admin,
	"GET /v1/admin/policy/events":                                    (*httpapi.API).Admin,
	"PUT /v1/admin/policy":                                           (*httpapi.API).Admin,
	"GET /v1/admin/organizations/{orgId}/policy":                     (*httpapi.API).Admin,
	"PUT /v1/admin/organizations/{orgId}/policy":                     (*httpapi.API).Admin,
	"DELETE /v1/admin/organizations/{orgId}/policy":                  (*httpapi.API).Admin,
	"GET /v1/users/{userId}/devices":                                 (*httpapi.API).Enrollment,
	"DELETE /v1/users/{userId}/devices/{deviceId}":                   (*httpapi.API).Enrollment,
	"GET /v1/admin/users":                                            (*httpapi.API).Admin,
	"GET /v1/admin/users/{userId}":                                   (*httpapi.API).Admin,
	"POST /v1/admin/users/{userId}/factors":                          (*httpapi.API).Admin,
	"DELETE /v1/admin/users/{userId}/factors/{factorId}":             (*httpapi.API).Admin,
	"DELETE /v1/admin/users/{userId}/factors":                        (*httpapi.API).Admin,
	"POST /v1/admin/users/{userId}/unlock":                           (*httpapi.API).Admin,
	"GET /v1/admin/users/{userId}/devices":                           (*httpapi.API).Admin,
	"DELETE /v1/admin/users/{userId}/devices":                        (*httpapi.API).Admin,
	"DELETE /v1/admin/users/{userId}/devices/{deviceId}":             (*httpapi.API).Admin,
	"GET /v1/admin/users/{userId}/events":                            (*httpapi.API).Admin,
	"GET /.well-known/jwks.json":                                     (*httpapi.API).Keys,
}

// do sends an API Gateway v2 event to the function that serves routeKey.
func (e *env) do(as who, routeKey string, params map[string]string, body any) response {
	e.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, PathParameters: params,
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{SourceIP: "198.51.100.1", UserAgent: "test"},
		},
	}
	if as.sub != "" {
		claims := map[string]string{"sub": as.sub}
		if as.scope != "" {
			claims["scope"] = as.scope
		}
		for k, v := range e.claims {
			claims[k] = v
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	if as.mfa != "" {
		ev.Headers["x-mfa-token"] = as.mfa
	}
	if e.query != nil {
		ev.QueryStringParameters, e.query = e.query, nil
	}
	if e.header != nil {
		for k, v := range e.header {
			ev.Headers[k] = v
		}
		e.header = nil
	}
	switch b := body.(type) {
	case nil:
	case string:
		ev.Body = b
	default:
		raw, _ := json.Marshal(b)
		ev.Body = string(raw)
	}
	return e.send(routeKey, ev)
}

func (e *env) send(routeKey string, ev events.APIGatewayV2HTTPRequest) response {
	e.t.Helper()
	h := handlersByRoute[routeKey](e.app.API)
	out, err := h(context.Background(), ev)
	if err != nil {
		e.t.Fatalf("%s: handler error %v", routeKey, err)
	}
	r := response{status: out.StatusCode, headers: out.Headers, raw: out.Body}
	if out.Body != "" {
		if err := json.Unmarshal([]byte(out.Body), &r.body); err != nil {
			e.t.Fatalf("%s: body is not JSON: %q", routeKey, out.Body)
		}
	}
	if out.StatusCode >= 400 && out.Headers["Content-Type"] != "application/problem+json" {
		e.t.Errorf("%s: error %d without problem+json: %v", routeKey, out.StatusCode, out.Headers)
	}
	if out.StatusCode >= 500 && out.StatusCode != 503 {
		e.t.Errorf("%s: status %d: %s", routeKey, out.StatusCode, out.Body)
	}
	// Every answer is exactly its pkg/api wire type's encoding, the type the Go client reads
	// and infra's OpenAPI test holds openapi.yaml to.
	if err := apitest.Check(routeKey, out.StatusCode, out.Headers["Content-Type"], out.Body); err != nil {
		e.t.Error(err)
	}
	return r
}

// hotp is an independent RFC 4226 implementation, so tests do not check the service's TOTP
// code with itself.
func hotp(secret []byte, counter int64) string {
	m := hmac.New(sha1.New, secret)
	_ = binary.Write(m, binary.BigEndian, counter)
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

func decodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codeAt is the code an authenticator shows at t, offset by whole steps.
func codeAt(secret []byte, t time.Time, steps int64) string { return hotp(secret, t.Unix()/30+steps) }

// enrolled is a user with one active TOTP factor.
type enrolled struct {
	userID   string
	factorID string
	secret   []byte
	b32      string
}

// enrollTOTP enrolls and activates a TOTP factor with the code of the current step.
func (e *env) enrollTOTP(as who, uid string) enrolled {
	e.t.Helper()
	r := e.do(as, "POST /v1/users/{userId}/enrollments", map[string]string{"userId": uid}, map[string]any{"type": "totp", "label": "Phone"})
	if r.status != 201 {
		e.t.Fatalf("enroll: %d %s", r.status, r.raw)
	}
	totp := r.body["totp"].(map[string]any)
	b32 := totp["secret"].(string)
	secret := decodeSecret(e.t, b32)
	eid := r.str("enrollmentId")
	r = e.do(as, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": uid, "enrollmentId": eid}, map[string]any{"code": codeAt(secret, e.clock.Now(), 0)})
	if r.status != 200 {
		e.t.Fatalf("complete: %d %s", r.status, r.raw)
	}
	return enrolled{userID: uid, factorID: r.body["factor"].(map[string]any)["id"].(string), secret: secret, b32: b32}
}

func (e *env) challenge(as who, uid string) response {
	e.t.Helper()
	r := e.do(as, "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{})
	if r.status != 201 {
		e.t.Fatalf("challenge: %d %s", r.status, r.raw)
	}
	return r
}

func (e *env) verify(as who, uid, challengeID string, body map[string]any) response {
	e.t.Helper()
	return e.do(as, "POST /v1/users/{userId}/challenges/{challengeId}/verifications", map[string]string{"userId": uid, "challengeId": challengeID}, body)
}

// signIn answers a fresh challenge with the current code and returns the mfaToken.
func (e *env) signIn(as who, u enrolled, steps int64) string {
	e.t.Helper()
	ch := e.challenge(as, u.userID)
	r := e.verify(as, u.userID, ch.str("challengeId"), map[string]any{"type": "totp", "factorId": u.factorID, "code": codeAt(u.secret, e.clock.Now(), steps)})
	if r.status != 200 {
		e.t.Fatalf("sign-in: %d %s", r.status, r.raw)
	}
	return r.str("mfaToken")
}
