// Package localapi is a local stand-in for the API Gateway HTTP API in front of the
// service: it serves the HttpApi routes of template.yaml by invoking the real Lambda
// handlers in-process with payload format 2.0 events, emulates the JWT authorizer, and
// runs a dev token issuer (POST /local/token, GET /local/jwks.json) plus a view of the
// messages the local stack has sent (GET /local/outbox) and of the security events it has
// published (GET /local/events).
//
// It follows what API Gateway does rather than what would be convenient, so that a
// handler that works here works behind the real gateway: for example
// requestContext.authorizer.jwt.scopes is only filled on routes that declare
// authorization scopes, and sourceIp is the TCP peer, never X-Forwarded-For.
package localapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// Handler is a Lambda handler for HTTP API payload format 2.0 events.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Message is one email or SMS the local stack has sent, as listed by GET /local/outbox.
type Message struct {
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	Subject     string    `json:"subject,omitempty"`
	Body        string    `json:"body"`
	SentAt      time.Time `json:"sentAt,omitzero"` // omitted when the emulator records no time
}

// Options configures a Gateway.
type Options struct {
	Routes   []samtemplate.Route
	Handlers map[string]Handler // by Route.FunctionID; every route needs one
	Issuer   string             // iss of dev tokens and the only issuer the authorizer accepts
	Audience string             // aud of dev tokens and what the authorizer demands
	Outbox   func(context.Context) ([]Message, error)
	// Events lists the security events published so far (GET /local/events); nil: none.
	Events func(context.Context) ([]Event, error)
	Logger *slog.Logger     // nil → slog.Default()
	Now    func() time.Time // nil → time.Now; drives token times and event times
}

// Gateway is an http.Handler that behaves like the deployed HTTP API. It is safe for
// concurrent use; nothing in it changes after New.
type Gateway struct {
	routes   []route
	handlers map[string]Handler
	issuer   *devIssuer
	outbox   func(context.Context) ([]Message, error)
	events   func(context.Context) ([]Event, error)
	log      *slog.Logger
	now      func() time.Time
}

// Limits API Gateway enforces.
const (
	maxRequestBody = 10 << 20 // HTTP API payload limit
	clockSkew      = 5 * time.Second
)

// New compiles the routes and generates an ephemeral ES256 key for the dev issuer, so
// tokens from one run never verify against another.
func New(opts Options) (*Gateway, error) {
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("localapi: Issuer and Audience are required")
	}
	routes, err := compileRoutes(opts.Routes, opts.Handlers)
	if err != nil {
		return nil, err
	}
	issuer, err := newDevIssuer(opts.Issuer, opts.Audience)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		routes:   routes,
		handlers: opts.Handlers,
		issuer:   issuer,
		outbox:   opts.Outbox,
		events:   opts.Events,
		log:      opts.Logger,
		now:      opts.Now,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// ServeHTTP routes one request. A request handed to a function is logged by that
// function (one line, as in Lambda); a request the gateway answers itself (its local
// endpoints, an unknown route, an authorizer refusal, a bad body) gets one line here, in
// the same key style. The line carries no header values and no bodies: they hold tokens,
// codes and secrets.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("Apigw-Requestid", reqID)

	routeKey, invoked := g.serve(sw, r, reqID)
	if invoked {
		return
	}
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("route", routeKey),
		slog.Int("status", sw.status),
		slog.String("requestId", reqID),
		slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
	)
}

// serve answers the request and returns the route key to log, and whether a function
// was invoked (which then logs the request itself).
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, reqID string) (string, bool) {
	if h, key := g.localEndpoint(r.URL.Path); h != nil {
		h(w, r)
		return key, false
	}
	rt, params, ok := g.match(r)
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return "-", false
	}
	routeKey := rt.RouteKey()
	var authz *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if !rt.NoAuth {
		var denied *authFailure
		if authz, denied = g.authorize(r, rt); denied != nil {
			denied.write(w)
			return routeKey, false
		}
	}
	body, err := readBody(r)
	if err != nil {
		writeBodyError(w, err)
		return routeKey, false
	}
	ev := g.buildEvent(r, eventInput{route: rt, params: params, body: body, authz: authz, reqID: reqID})
	g.invoke(r.Context(), w, rt, ev)
	return routeKey, true
}

// invoke runs the route's handler and writes its response; any failure becomes the
// gateway's own 500, as a Lambda error does behind API Gateway.
func (g *Gateway) invoke(ctx context.Context, w http.ResponseWriter, rt *route, ev events.APIGatewayV2HTTPRequest) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       ev.RequestContext.RequestID,
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:" + accountID + ":function:" + rt.FunctionID,
	})
	resp, err := callHandler(ctx, g.handlers[rt.FunctionID], ev)
	if err == nil {
		err = writeResponse(w, resp)
	}
	if err != nil {
		g.log.LogAttrs(ctx, slog.LevelError, "handler failed",
			slog.String("function", rt.FunctionID),
			slog.String("route", rt.RouteKey()),
			slog.String("requestId", ev.RequestContext.RequestID),
			slog.String("error", err.Error()),
		)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// callHandler turns a panic into an error so that one bad handler cannot take the
// whole local stack down.
func callHandler(ctx context.Context, h Handler, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// readBody reads at most maxRequestBody bytes; a longer body is an *http.MaxBytesError.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > maxRequestBody {
		return nil, &http.MaxBytesError{Limit: maxRequestBody}
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, maxRequestBody))
}

func writeBodyError(w http.ResponseWriter, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	writeMessage(w, http.StatusBadRequest, "Bad Request")
}

// newRequestID mimics API Gateway's ids ("Mc7UVioPPHcEKPA="): 10 random bytes, base64.
func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b)
}

// statusWriter remembers the status for the request log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
