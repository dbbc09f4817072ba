package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/passkey/passkeytest"
)

// The passkey relying party of the in-process app and the cold-started functions.
const (
	rpID     = "example.com"
	rpOrigin = "https://example.com"
)

// clock is the service's clock in the benchmarks. Each operation moves it on, so that TOTP
// steps, send windows and cool-downs never get in the way of the next operation.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// countingWriter counts the bytes of log lines the handlers write (CloudWatch Logs volume).
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// fixture is the app under test, its meter and clock, and the users the cases work on.
type fixture struct {
	app   *app.App
	meter *meter
	clock *clock
	logs  *countingWriter
	seq   int
	// events is the publisher's stream filter: which audit events are published.
	events streamFilter
	// indexes reads the user's state around each operation for its index writes.
	indexes indexWriter
	// streams runs the stream functions on what each operation sent down the stream.
	streams *streamFunctions

	totp    totpUser
	email   emailUser
	deliver emailUser
	sendNow emailUser // asks for the code with the challenge (sendCode)
	passkey passkeyUser
}

type totpUser struct {
	id, factorID, backupFactorID string
	secret                       []byte
	backupCodes                  []string
}

type emailUser struct {
	id, address, factorID string
}

type passkeyUser struct {
	id, factorID string
	handle       []byte
	auth         *passkeytest.Authenticator
}

// who is the caller of an event: a user token for sub, or a service token.
type who struct {
	sub, scope string
	claims     map[string]string
}

func userToken(sub string) who { return who{sub: sub} }
func serviceToken() who        { return who{sub: "bench-backend", scope: "mfa/service"} }

// apiEvent builds the API Gateway v2 event that the HTTP API would hand the function.
// benchUserAgent, the request id above and lambdaContext are as long as real ones: they go
// into the request log line and the audit events (which ride on the user's state), whose
// sizes the cost model counts.
const benchUserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// lambdaContext is a request's context as Lambda gives it to a handler.
func lambdaContext() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f5e2c1a-3b7d-4e9f-a6c0-1d2b3e4f5a6b"})
}

func apiEvent(as who, routeKey string, params map[string]string, body any) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(routeKey, " ")
	raw := path
	for k, v := range params {
		raw = strings.ReplaceAll(raw, "{"+k+"}", v)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: raw, PathParameters: params,
		Headers: map[string]string{"content-type": "application/json", "user-agent": benchUserAgent},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "JkVqPjPwvHcEJqQ=", RouteKey: routeKey, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: raw, SourceIP: "198.51.100.7", UserAgent: benchUserAgent},
		},
	}
	if as.sub != "" {
		claims := map[string]string{"sub": as.sub}
		if as.scope != "" {
			claims["scope"] = as.scope
		}
		for k, v := range as.claims {
			claims[k] = v
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	if body != nil {
		b, _ := json.Marshal(body)
		ev.Body = string(b)
	}
	return ev
}

// call runs a handler outside any measurement (setup) and decodes its JSON answer.
func call(h httpapi.Handler, ev events.APIGatewayV2HTTPRequest, want int) (map[string]any, error) {
	resp, err := h(context.Background(), ev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ev.RouteKey, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s: status %d, want %d: %s", ev.RouteKey, resp.StatusCode, want, resp.Body)
	}
	var out map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			return nil, fmt.Errorf("%s: %w", ev.RouteKey, err)
		}
	}
	return out, nil
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

// totpCode is RFC 6238 (SHA-1, 6 digits, 30 s) at t: what an authenticator app shows.
func totpCode(secret []byte, t time.Time) string {
	m := hmac.New(sha1.New, secret)
	_ = binary.Write(m, binary.BigEndian, t.Unix()/30)
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

func decodeSecret(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "="))
}

func (f *fixture) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%d", prefix, f.seq)
}

// startTOTP starts a TOTP enrollment for user uid and returns its id and the secret.
func (f *fixture) startTOTP(uid string) (eid string, secret []byte, err error) {
	out, err := call(f.app.API.Enrollment(), apiEvent(userToken(uid), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": uid}, map[string]any{"type": "totp", "label": "Phone"}), 201)
	if err != nil {
		return "", nil, err
	}
	secret, err = decodeSecret(str(out, "totp", "secret"))
	return str(out, "enrollmentId"), secret, err
}

func completeEvent(uid, eid string, body map[string]any) events.APIGatewayV2HTTPRequest {
	return apiEvent(userToken(uid), "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", map[string]string{"userId": uid, "enrollmentId": eid}, body)
}

func (f *fixture) setupUsers() error {
	// A user with an authenticator app; the first factor brings backup codes.
	f.totp.id = "bench-totp"
	eid, secret, err := f.startTOTP(f.totp.id)
	if err != nil {
		return err
	}
	out, err := call(f.app.API.Enrollment(), completeEvent(f.totp.id, eid, map[string]any{"code": totpCode(secret, f.clock.Now())}), 200)
	if err != nil {
		return err
	}
	f.totp.secret, f.totp.factorID = secret, str(out, "factor", "id")
	for _, c := range out["backupCodes"].([]any) {
		f.totp.backupCodes = append(f.totp.backupCodes, c.(string))
	}
	f.clock.Advance(30 * time.Second)
	ch, err := f.challenge(f.totp.id)
	if err != nil {
		return err
	}
	for _, fa := range ch["factors"].([]any) {
		if m := fa.(map[string]any); m["type"] == "backup_codes" {
			f.totp.backupFactorID = m["id"].(string)
		}
	}
	if f.totp.backupFactorID == "" {
		return fmt.Errorf("the TOTP user's challenge offers no backup codes: %v", ch)
	}

	// Users whose factor is an email address, bound at once (a service token vouches for it).
	for _, u := range []*emailUser{{id: "bench-email", address: "ann@example.com"}, {id: "bench-delivery", address: "bob@example.com"}, {id: "bench-sendcode", address: "cy@example.com"}} {
		out, err := call(f.app.API.Enrollment(), apiEvent(serviceToken(), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": u.id}, map[string]any{"type": "email", "email": u.address, "preVerified": true}), 201)
		if err != nil {
			return err
		}
		u.factorID = str(out, "factor", "id")
		if u.factorID == "" {
			return fmt.Errorf("email enrollment did not bind at once: %v", out)
		}
		switch u.id {
		case "bench-email":
			f.email = *u
		case "bench-delivery":
			f.deliver = *u
		default:
			f.sendNow = *u
		}
	}

	// A user with a passkey (software authenticator).
	f.passkey.id = "bench-passkey"
	auth, err := passkeytest.New()
	if err != nil {
		return err
	}
	f.passkey.auth = auth
	out, err = call(f.app.API.Enrollment(), apiEvent(userToken(f.passkey.id), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": f.passkey.id}, map[string]any{"type": "webauthn", "label": "Laptop"}), 201)
	if err != nil {
		return err
	}
	rawOpts, _ := json.Marshal(out["webauthn"])
	if f.passkey.handle, err = passkeytest.UserHandleOf(rawOpts); err != nil {
		return err
	}
	att, err := auth.Register(rawOpts, passkeytest.Honest(rpOrigin, rpID))
	if err != nil {
		return err
	}
	out, err = call(f.app.API.Enrollment(), completeEvent(f.passkey.id, str(out, "enrollmentId"), map[string]any{"credential": json.RawMessage(att)}), 200)
	if err != nil {
		return err
	}
	f.passkey.factorID = str(out, "factor", "id")
	return nil
}

func (f *fixture) challenge(uid string) (map[string]any, error) {
	return call(f.app.API.Challenge(), apiEvent(userToken(uid), "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{"purpose": "sign_in"}), 201)
}

func verifyEvent(uid, cid string, body map[string]any) events.APIGatewayV2HTTPRequest {
	return apiEvent(userToken(uid), "POST /v1/users/{userId}/challenges/{challengeId}/verifications", map[string]string{"userId": uid, "challengeId": cid}, body)
}

// benchCase is one hot handler: setup builds the event of one operation (not timed), the
// handler's answer to it is timed and must have status want.
type benchCase struct {
	Name    string
	Route   string
	Budget  int // DynamoDB round trips; 0: none
	handler func(*httpapi.API) httpapi.Handler
	want    int
	setup   func(f *fixture) (events.APIGatewayV2HTTPRequest, error)
	check   func(resp events.APIGatewayV2HTTPResponse) error // nil: the status is enough
}

// betweenSignIns is how far the clock moves between two sign-ins of one case's user: past the
// 10-minute life of the previous challenge, as for nearly every real sign-in, so the user's
// state holds the ledger of one sign-in, not of one every 30 seconds (a user answering a
// challenge every 30 s keeps 20 live tallies, a state item of about 1.3 KB, 2 WRU an
// answer: the report shows the state item's size per case).
const betweenSignIns = 11 * time.Minute

func cases() []benchCase {
	return []benchCase{
		{
			Name: "challenge (create)", Route: "POST /v1/users/{userId}/challenges", Budget: 2,
			handler: (*httpapi.API).Challenge, want: 201,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(30 * time.Second)
				return apiEvent(userToken(f.totp.id), "POST /v1/users/{userId}/challenges", map[string]string{"userId": f.totp.id}, map[string]any{"purpose": "sign_in"}), nil
			},
		},
		{
			// A challenge that offers a passkey stores its WebAuthn session (DESIGN §6.6).
			Name: "challenge (create, passkey)", Route: "POST /v1/users/{userId}/challenges", Budget: 2,
			handler: (*httpapi.API).Challenge, want: 201,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(betweenSignIns)
				return apiEvent(userToken(f.passkey.id), "POST /v1/users/{userId}/challenges", map[string]string{"userId": f.passkey.id}, map[string]any{"purpose": "sign_in"}), nil
			},
		},
		{
			// The challenge of an email user's sign-in, with the code sent at once (sendCode).
			Name: "challenge (create, email code sent)", Route: "POST /v1/users/{userId}/challenges", Budget: 2,
			handler: (*httpapi.API).Challenge, want: 201,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				// 7 minutes a send keeps under 10 sends per user and per address an hour.
				f.clock.Advance(7 * time.Minute)
				return apiEvent(userToken(f.sendNow.id), "POST /v1/users/{userId}/challenges", map[string]string{"userId": f.sendNow.id}, map[string]any{"purpose": "sign_in", "sendCode": true}), nil
			},
			check: func(resp events.APIGatewayV2HTTPResponse) error {
				var out struct {
					Delivery      *struct{ Channel string }
					DeliveryError string
				}
				if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.Delivery == nil || out.Delivery.Channel != "email" {
					return fmt.Errorf("no email code sent with the challenge: %s", resp.Body)
				}
				return nil
			},
		},
		{
			Name: "challenge delivery (email)", Route: "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", Budget: 2,
			handler: (*httpapi.API).Challenge, want: 202,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				// 7 minutes a send keeps under 10 sends per user and per address an hour.
				f.clock.Advance(7 * time.Minute)
				ch, err := f.challenge(f.deliver.id)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				return apiEvent(userToken(f.deliver.id), "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": f.deliver.id, "challengeId": str(ch, "challengeId")}, map[string]any{"factorId": f.deliver.factorID}), nil
			},
		},
		{
			Name: "verify (totp)", Route: "POST /v1/users/{userId}/challenges/{challengeId}/verifications", Budget: 2,
			handler: (*httpapi.API).Verify, want: 200,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(betweenSignIns) // also a fresh time step
				ch, err := f.challenge(f.totp.id)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				return verifyEvent(f.totp.id, str(ch, "challengeId"), map[string]any{"type": "totp", "factorId": f.totp.factorID, "code": totpCode(f.totp.secret, f.clock.Now())}), nil
			},
		},
		{
			Name: "verify (email)", Route: "POST /v1/users/{userId}/challenges/{challengeId}/verifications", Budget: 2,
			handler: (*httpapi.API).Verify, want: 200,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(7 * time.Minute)
				ch, err := f.challenge(f.email.id)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				cid := str(ch, "challengeId")
				_, sentBefore := f.meter.emailCode(f.email.address)
				if _, err := call(f.app.API.Challenge(), apiEvent(userToken(f.email.id), "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", map[string]string{"userId": f.email.id, "challengeId": cid}, map[string]any{"factorId": f.email.factorID}), 202); err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				code, sent := f.meter.emailCode(f.email.address)
				if code == "" || sent == sentBefore {
					return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("no email code captured for %s", f.email.address)
				}
				return verifyEvent(f.email.id, cid, map[string]any{"type": "email", "factorId": f.email.factorID, "code": code}), nil
			},
		},
		{
			Name: "verify (backup_codes)", Route: "POST /v1/users/{userId}/challenges/{challengeId}/verifications", Budget: 2,
			handler: (*httpapi.API).Verify, want: 200,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(betweenSignIns)
				if len(f.totp.backupCodes) == 0 {
					// A new set (a service token needs no step-up); not timed.
					out, err := call(f.app.API.Enrollment(), apiEvent(serviceToken(), "POST /v1/users/{userId}/backup-codes", map[string]string{"userId": f.totp.id}, nil), 201)
					if err != nil {
						return events.APIGatewayV2HTTPRequest{}, err
					}
					for _, c := range out["backupCodes"].([]any) {
						f.totp.backupCodes = append(f.totp.backupCodes, c.(string))
					}
				}
				code := f.totp.backupCodes[0]
				f.totp.backupCodes = f.totp.backupCodes[1:]
				ch, err := f.challenge(f.totp.id)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				return verifyEvent(f.totp.id, str(ch, "challengeId"), map[string]any{"type": "backup_codes", "factorId": f.totp.backupFactorID, "code": code}), nil
			},
		},
		{
			Name: "verify (webauthn)", Route: "POST /v1/users/{userId}/challenges/{challengeId}/verifications", Budget: 2,
			handler: (*httpapi.API).Verify, want: 200,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				f.clock.Advance(betweenSignIns)
				ch, err := f.challenge(f.passkey.id)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				opts, _ := json.Marshal(ch["webauthn"])
				assertion, err := f.passkey.auth.Assert(opts, passkeytest.Honest(rpOrigin, rpID), f.passkey.handle)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				return verifyEvent(f.passkey.id, str(ch, "challengeId"), map[string]any{"type": "webauthn", "factorId": f.passkey.factorID, "credential": json.RawMessage(assertion)}), nil
			},
		},
		{
			Name: "enrollment complete (totp)", Route: "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", Budget: 2,
			handler: (*httpapi.API).Enrollment, want: 200,
			setup: func(f *fixture) (events.APIGatewayV2HTTPRequest, error) {
				// A new user each time: the first factor, which also creates backup codes.
				uid := f.nextID("bench-enroll")
				eid, secret, err := f.startTOTP(uid)
				if err != nil {
					return events.APIGatewayV2HTTPRequest{}, err
				}
				return completeEvent(uid, eid, map[string]any{"code": totpCode(secret, f.clock.Now())}), nil
			},
		},
	}
}

// HandlerResult is one benchmarked handler.
type HandlerResult struct {
	Name        string `json:"name"`
	Route       string `json:"route"`
	Ops         int    `json:"ops"`
	NsPerOp     int64  `json:"nsPerOp"`     // wall time per operation, AWS (moto) round trips included
	BytesPerOp  int64  `json:"bytesPerOp"`  // heap bytes allocated per operation (handler and SDK)
	AllocsPerOp int64  `json:"allocsPerOp"` // heap allocations per operation
	// Handler CPU excluding AWS: wall time minus wall time inside SDK calls, mean and median.
	CPUExclAWS    float64 `json:"handlerCpuExclAwsMs"`
	CPUExclAWSP50 float64 `json:"handlerCpuExclAwsMedianMs"`
	// Process CPU time (getrusage) per operation outside SDK calls, and over the whole
	// request (SDK work and GC included; waiting costs none): what a Lambda pays for.
	CPUOutsideSDK float64 `json:"processCpuOutsideSdkMs"`
	ProcessCPU    float64 `json:"processCpuMs"`
	SDKMs         float64 `json:"sdkCallsMs"` // wall time inside SDK calls per operation (moto)
	// DynamoDB round trips per operation: the most any operation made, and the mean.
	DynamoMax    int      `json:"dynamoRoundTripsMax"`
	DynamoMean   float64  `json:"dynamoRoundTripsMean"`
	Budget       int      `json:"dynamoRoundTripBudget,omitempty"`
	KMSCalls     int      `json:"kmsCalls"` // in all timed operations together
	EmailsPerOp  float64  `json:"emailsPerOp"`
	TxItemsPerOp float64  `json:"transactionItemsPerOp"`
	Calls        []string `json:"calls"` // the AWS calls of one operation, in order
	SameCalls    bool     `json:"sameCallsEveryOp"`
	Units        units    `json:"requestUnitsPerOp"` // estimated, see capacity.go
	MotoCU       float64  `json:"motoConsumedCapacityPerOp"`
	MotoCUCalls  float64  `json:"motoCallsWithConsumedCapacityPerOp"`
	// IndexWRU is the global secondary index writes per operation (included in Units.WRU),
	// from the user's state item before and after (indexes.go).
	IndexWRU float64 `json:"indexWruPerOp"`
	LogBytes float64 `json:"logBytesPerOp"`
	// Audit events written per operation, and those the publisher's stream filter passes
	// (each one an EventBridge entry and a publisher invocation), see events.go.
	AuditEventsPerOp     float64 `json:"auditEventsPerOp"`
	PublishedEventsPerOp float64 `json:"publishedEventsPerOp"`
	// CarriedEventsPerOp are the audit events riding on state writes, which the audit writer
	// puts into the log (their WRU, WriterWRU, are in Units.WRU).
	CarriedEventsPerOp float64 `json:"carriedEventsPerOp"`
	WriterWRU          float64 `json:"auditWriterWruPerOp"`
	// StateWRU is what updates of the user's state cost above the 1 WRU a small item's
	// update is counted at (included in Units.WRU): DynamoDB charges an update on the larger
	// of the item before and after.
	StateWRU float64 `json:"stateUpdateExtraWruPerOp"`
	// StateBytes is the user's state item, the larger of before and after, mean per op.
	StateBytes      float64 `json:"stateItemBytes"`
	AuditBytesPerOp float64 `json:"auditBytesPerOp"` // stored size (item + 100 bytes)
}

// runCase benchmarks one case with testing.Benchmark. Only the handler call is timed; the
// meter's numbers are those of the final round (the one testing.Benchmark reports).
func (f *fixture) runCase(c benchCase) (HandlerResult, error) {
	h := c.handler(f.app.API)
	var (
		setupErr   error
		res        HandlerResult
		wall       time.Duration
		sdk        time.Duration
		cpu, out   time.Duration
		dynamo     int
		first      []string
		ru         units
		motoCU     float64
		motoSeen   int
		emails     int
		txItems    int
		logBytes   int64
		perOp      []float64
		audits     int
		publish    int
		indexWRUs  float64
		auditBytes int
		carried    int
		writerWRU  float64
		stateWRU   float64
		stateBytes int
	)
	br := testing.Benchmark(func(b *testing.B) {
		b.StopTimer()
		if setupErr != nil {
			return // a failed round: do not start another
		}
		res = HandlerResult{Name: c.Name, Route: c.Route, Budget: c.Budget, SameCalls: true}
		wall, sdk, cpu, out, dynamo, first, ru, motoCU, motoSeen, emails, txItems, logBytes, perOp = 0, 0, 0, 0, 0, nil, units{}, 0, 0, 0, 0, 0, nil
		audits, publish, indexWRUs, auditBytes = 0, 0, 0, 0
		carried, writerWRU, stateWRU, stateBytes = 0, 0, 0, 0
		for i := 0; i < b.N; i++ {
			ev, err := c.setup(f)
			if err != nil {
				setupErr = err
				return
			}
			uid := ev.PathParameters["userId"]
			stateBefore, err := f.indexes.state(context.Background(), uid)
			if err != nil {
				setupErr = err
				return
			}
			logsBefore := f.logs.n.Load()
			b.StartTimer()
			f.meter.begin()
			t0 := time.Now()
			resp, err := h(lambdaContext(), ev)
			d := time.Since(t0)
			st := f.meter.end()
			b.StopTimer()
			logBytes += f.logs.n.Load() - logsBefore
			if err == nil && resp.StatusCode != c.want {
				err = fmt.Errorf("status %d, want %d: %s", resp.StatusCode, c.want, resp.Body)
			}
			if err == nil && c.check != nil {
				err = c.check(resp)
			}
			if err != nil {
				setupErr = fmt.Errorf("%s: %w", c.Name, err)
				return
			}
			stateAfter, err := f.indexes.state(context.Background(), uid)
			if err != nil {
				setupErr = err
				return
			}
			ix := indexWRU(f.indexes.indexes, stateBefore, stateAfter)
			indexWRUs += ix
			st.Units.WRU += ix
			// capacity.go counts an update as 1 KB; the state item may be larger.
			stateSize := max(itemSize(stateBefore), itemSize(stateAfter))
			stateBytes += stateSize
			extra := writeUnits(stateSize) - 1
			extra *= float64(st.StateUpdates + 2*st.TxStateUpdate)
			stateWRU += extra
			st.Units.WRU += extra
			for _, a := range st.Carried {
				w := writeUnits(itemSize(a))
				writerWRU += w
				st.Units.WRU += w
			}
			carried += len(st.Carried)
			var published []map[string]dynamoclient.AttributeValue
			wall += d
			perOp = append(perOp, float64(d-st.SDK)/float64(time.Millisecond))
			sdk += st.SDK
			cpu += st.CPU
			out += st.CPUOutsideSDK
			dynamo += st.Dynamo
			res.DynamoMax = max(res.DynamoMax, st.Dynamo)
			res.KMSCalls += st.KMS
			if i == 0 {
				first = st.Calls
			} else if !slices.Equal(st.Calls, first) {
				res.SameCalls = false
			}
			ru = ru.add(st.Units)
			motoCU += st.MotoCU
			motoSeen += st.MotoCUSeen
			emails += st.Emails
			txItems += st.TxItems
			audits += len(st.Audits)
			// The stream brings an event written with its change as a new audit item, and
			// one riding on a state write in that write (published from there).
			isCarried := map[*dynamoclient.AttributeValueMemberS]bool{}
			for _, a := range st.Carried {
				if sk, ok := a["sk"].(*dynamoclient.AttributeValueMemberS); ok {
					isCarried[sk] = true
				}
			}
			var publishedCarried []map[string]dynamoclient.AttributeValue
			for _, a := range st.Audits {
				auditBytes += itemSize(a) + 100
				sk, _ := a["sk"].(*dynamoclient.AttributeValueMemberS)
				switch {
				case isCarried[sk] && f.events.passesCarried(a):
					publish++
					publishedCarried = append(publishedCarried, a)
				case !isCarried[sk] && f.events.passes(a):
					publish++
					published = append(published, a)
				}
			}
			if f.streams != nil {
				if err := f.streams.write(context.Background(), f.indexes.table, st.Carried); err != nil {
					setupErr = fmt.Errorf("%s: audit writer: %w", c.Name, err)
					return
				}
				if err := f.streams.publish(context.Background(), published, publishedCarried); err != nil {
					setupErr = fmt.Errorf("%s: event publisher: %w", c.Name, err)
					return
				}
			}
		}
		res.Ops = b.N
	})
	if setupErr != nil {
		return HandlerResult{}, setupErr
	}
	n := float64(res.Ops)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	res.NsPerOp, res.BytesPerOp, res.AllocsPerOp = br.NsPerOp(), br.AllocedBytesPerOp(), br.AllocsPerOp()
	res.CPUExclAWS = ms(wall - sdk)
	res.CPUExclAWSP50 = median(perOp)
	res.CPUOutsideSDK = ms(out)
	res.ProcessCPU = ms(cpu)
	res.SDKMs = ms(sdk)
	res.DynamoMean = float64(dynamo) / n
	res.Calls = first
	res.Units = ru.scale(1 / n)
	res.MotoCU = motoCU / n
	res.MotoCUCalls = float64(motoSeen) / n
	res.EmailsPerOp = float64(emails) / n
	res.TxItemsPerOp = float64(txItems) / n
	res.LogBytes = float64(logBytes) / n
	res.IndexWRU = indexWRUs / n
	res.AuditEventsPerOp = float64(audits) / n
	res.PublishedEventsPerOp = float64(publish) / n
	res.AuditBytesPerOp = float64(auditBytes) / n
	res.CarriedEventsPerOp = float64(carried) / n
	res.WriterWRU = writerWRU / n
	res.StateWRU = stateWRU / n
	res.StateBytes = float64(stateBytes) / n
	return res, nil
}
