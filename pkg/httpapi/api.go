// Package httpapi adapts the MFA domain to API Gateway HTTP API (payload 2.0) events: it reads
// the caller from the JWT authorizer's claims, decodes bodies strictly, calls the domain and
// renders JSON or RFC 9457 problems. One Handler serves each Lambda function's routes.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// Handler is a Lambda handler for HTTP API events.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// StepUpVerifier checks an X-MFA-Token.
type StepUpVerifier interface {
	VerifyMFAToken(raw string) (mfa.StepUp, error)
}

// Scopes with meaning to this service.
const (
	ScopeService = "mfa/service"
	ScopeAdmin   = "mfa/admin"
)

// API holds what the handlers need.
type API struct {
	Service Services
	StepUp  StepUpVerifier
	// JWKS returns the current public key set document.
	JWKS func(context.Context) ([]byte, error)
	Log  *slog.Logger
}

type route func(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error)

// Enrollment serves the enrollment function's routes.
func (a *API) Enrollment() Handler { return a.serve(a.enrollmentRoutes(), true) }

// Challenge serves the challenge function's routes.
func (a *API) Challenge() Handler { return a.serve(a.challengeRoutes(), true) }

// Verify serves the verify function's routes.
func (a *API) Verify() Handler { return a.serve(a.verifyRoutes(), true) }

// Keys serves the public JWKS.
func (a *API) Keys() Handler { return a.serve(a.jwksRoutes(), false) }

func (a *API) enrollmentRoutes() map[string]route {
	return map[string]route{
		"POST /v1/users/{userId}/enrollments":                         a.startEnrollment,
		"POST /v1/users/{userId}/enrollments/{enrollmentId}/complete": a.completeEnrollment,
		"GET /v1/users/{userId}/factors":                              a.listFactors,
		"DELETE /v1/users/{userId}/factors/{factorId}":                a.deleteFactor,
		"PATCH /v1/users/{userId}/factors/{factorId}":                 a.renameFactor,
		"POST /v1/users/{userId}/backup-codes":                        a.regenerateBackupCodes,
		"GET /v1/users/{userId}/devices":                              a.listDevices,
		"DELETE /v1/users/{userId}/devices/{deviceId}":                a.revokeDevice,
	}
}

func (a *API) challengeRoutes() map[string]route {
	return map[string]route{
		"POST /v1/users/{userId}/challenges":                          a.createChallenge,
		"POST /v1/users/{userId}/challenges/{challengeId}/deliveries": a.sendCode,
		"POST /v1/users/{userId}/enrollment-prompt/skip":              a.skipPrompt,
	}
}

func (a *API) verifyRoutes() map[string]route {
	return map[string]route{"POST /v1/users/{userId}/challenges/{challengeId}/verifications": a.verify}
}

func (a *API) jwksRoutes() map[string]route {
	return map[string]route{"GET /.well-known/jwks.json": a.jwks}
}

// RouteKeys lists the route keys each function serves; the local stack and tests compare
// them with the template.
func (a *API) RouteKeys() map[string][]string {
	out := map[string][]string{}
	for fn, h := range a.handlers() {
		for k := range h.routes {
			out[fn] = append(out[fn], k)
		}
	}
	return out
}

// Handlers returns every function's handler by template logical id, for an API given every
// service (the local stack).
func (a *API) Handlers() map[string]Handler {
	out := map[string]Handler{}
	for fn, h := range a.handlers() {
		out[fn] = a.serve(h.routes, h.authenticated)
	}
	return out
}

type routeSet struct {
	routes        map[string]route
	authenticated bool
}

func (a *API) handlers() map[string]routeSet {
	return map[string]routeSet{
		"EnrollmentFunction": {a.enrollmentRoutes(), true},
		"ChallengeFunction":  {a.challengeRoutes(), true},
		"VerifyFunction":     {a.verifyRoutes(), true},
		"JwksFunction":       {a.jwksRoutes(), false},
		"AdminFunction":      {a.adminRoutes(), true},
	}
}

func (a *API) serve(routes map[string]route, authenticated bool) Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		start := time.Now()
		reqID := req.RequestContext.RequestID
		resp := a.dispatch(ctx, routes, authenticated, req)
		level := slog.LevelInfo
		if resp.StatusCode >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("route", req.RouteKey), slog.Int("status", resp.StatusCode),
			slog.String("requestId", reqID), slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
		}
		// Lambda's own id joins a line to Lambda's records of the invocation, which the
		// template keeps for failures only (SystemLogLevel WARN: errors and timeouts, no
		// START/END/REPORT): on a failure's line it finds them, on any other it joins nothing
		// and would be a fifth of every request line's bytes.
		if lc, ok := lambdacontext.FromContext(ctx); ok && level >= slog.LevelError {
			attrs = append(attrs, slog.String("lambdaRequestId", lc.AwsRequestID))
		}
		if code := problemCode(resp); code != "" {
			attrs = append(attrs, slog.String("problem", code))
		}
		a.Log.LogAttrs(ctx, level, "request", attrs...)
		return resp, nil
	}
}

func (a *API) dispatch(ctx context.Context, routes map[string]route, authenticated bool, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse) {
	reqID := req.RequestContext.RequestID
	defer func() {
		// A panic is our bug: answer 500 without its text and log it.
		if r := recover(); r != nil {
			a.Log.Error("panic", slog.String("requestId", reqID), slog.Any("panic", r))
			resp, _ = problemResponse(errors.New("panic"), reqID)
		}
	}()
	fail := func(err error) events.APIGatewayV2HTTPResponse {
		resp, de := problemResponse(err, reqID)
		if de != nil && de.Err != nil {
			a.Log.Error("request failed", slog.String("requestId", reqID), slog.String("code", de.Code), slog.String("error", de.Err.Error()))
		}
		return resp
	}
	h, ok := routes[req.RouteKey]
	if !ok {
		return fail(&transportError{http.StatusNotFound, codeRouteNotFound, "no such route"})
	}
	var c mfa.Caller
	if authenticated {
		var err error
		if c, err = a.caller(req); err != nil {
			return fail(err)
		}
		if isAdminRoute(req.RouteKey) && c.Kind != mfa.CallerAdmin {
			// Refused before anything of the request is read.
			return fail(&mfa.Error{Kind: mfa.KindForbidden, Code: mfa.CodeAdminRequired, Message: "this route needs a token with the mfa/admin scope"})
		}
		if uid, ok := req.PathParameters["userId"]; ok && uid == "me" {
			if c.Kind != mfa.CallerUser {
				return fail(mfa.Invalid(mfa.CodeInvalidRequest, "userId", "me names the token's own user; a service token must name the user"))
			}
			req.PathParameters["userId"] = c.Subject
		}
	}
	status, body, err := h(ctx, req, c)
	if err != nil {
		return fail(err)
	}
	return jsonResponse(status, body)
}

func jsonResponse(status int, body any) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"Cache-Control": "no-store"}
	if body == nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers}
	}
	headers["Content-Type"] = "application/json"
	var raw []byte
	if b, ok := body.(json.RawMessage); ok {
		raw = b
	} else {
		raw, _ = json.Marshal(body)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: string(raw)}
}

// caller reads the principal from what the JWT authorizer verified. A token with the service
// scope acts as the service; any other token is its subject's user token.
func (a *API) caller(req events.APIGatewayV2HTTPRequest) (mfa.Caller, error) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || auth.JWT.Claims["sub"] == "" {
		return mfa.Caller{}, &mfa.Error{Kind: mfa.KindUnauthenticated, Code: mfa.CodeUnauthenticated, Message: "a bearer token is required"}
	}
	claims := auth.JWT.Claims
	scopes := auth.JWT.Scopes
	if len(scopes) == 0 && claims["scope"] != "" {
		scopes = strings.Fields(claims["scope"])
	}
	c := mfa.Caller{
		Kind:          mfa.CallerUser,
		Subject:       claims["sub"],
		Email:         claims["email"],
		EmailVerified: claims["email_verified"] == "true",
		Phone:         claims["phone_number"],
		PhoneVerified: claims["phone_number_verified"] == "true",
		IP:            req.RequestContext.HTTP.SourceIP,
		UserAgent:     req.RequestContext.HTTP.UserAgent,
		// The user's language when a request names none: the OpenID Connect locale claim
		// (some providers write de_DE), then the browser's Accept-Language.
		Locale:         strings.ReplaceAll(claims["locale"], "_", "-"),
		AcceptLanguage: header(req, "accept-language"),
	}
	switch {
	case isAdminRoute(req.RouteKey):
		// Admin routes act only for admin tokens; the domain refuses anyone else.
		if slices.Contains(scopes, ScopeAdmin) {
			c.Kind = mfa.CallerAdmin
		}
	case slices.Contains(scopes, ScopeService):
		c.Kind = mfa.CallerService
	}
	if raw := header(req, "x-mfa-token"); raw != "" {
		su, err := a.StepUp.VerifyMFAToken(raw)
		if err != nil {
			return mfa.Caller{}, &mfa.Error{Kind: mfa.KindUnauthenticated, Code: mfa.CodeInvalidMFAToken, Message: "X-MFA-Token is not a valid, unexpired mfaToken of this service"}
		}
		c.StepUp = &su
	}
	return c, nil
}

// ---- wire shapes (pkg/api) ----

func toFactor(f mfa.Factor) api.Factor {
	out := api.Factor{ID: f.ID, Type: string(f.Type), Label: f.Label, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt, MaskedDestination: mfa.MaskedDestination(f)}
	if f.Type == mfa.TypeBackupCodes {
		n := len(f.BackupCodes)
		out.Remaining = &n
	}
	if f.Type == mfa.TypeWebAuthn {
		out.CredentialID = base64.RawURLEncoding.EncodeToString(f.CredentialID)
	}
	return out
}

func toFactors(fs []mfa.Factor) []api.Factor {
	out := make([]api.Factor, 0, len(fs))
	for _, f := range fs {
		out = append(out, toFactor(f))
	}
	return out
}

func toDelivery(d mfa.DeliveryInfo) *api.Delivery {
	return &api.Delivery{Channel: string(d.Channel), MaskedDestination: d.MaskedDestination, ExpiresAt: d.ExpiresAt, ResendAfter: d.ResendAfter}
}

// ---- enrollment ----

func (a *API) startEnrollment(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.StartEnrollmentRequest
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	if body.Type == "" {
		return 0, nil, mfa.Invalid(mfa.CodeInvalidRequest, "type", "type is required")
	}
	res, err := a.Service.StartEnrollment(ctx, c, req.PathParameters["userId"], mfa.StartEnrollmentRequest{
		Type: mfa.FactorType(body.Type), Label: body.Label, Email: body.Email, Phone: body.Phone, PreVerified: body.PreVerified,
		OrganizationID: body.OrganizationID, Locale: body.Locale,
	})
	if err != nil {
		return 0, nil, err
	}
	out := api.Enrollment{EnrollmentID: res.EnrollmentID, Type: string(res.Type), ExpiresAt: res.ExpiresAt, Status: api.StatusPending, BackupCodes: res.BackupCodes}
	if res.TOTP != nil {
		if out.TOTP, err = totpSecret(*res.TOTP); err != nil {
			return 0, nil, err
		}
	}
	out.WebAuthn = res.WebAuthn
	if res.Delivery != nil {
		out.Delivery = toDelivery(*res.Delivery)
	}
	if res.Factor != nil {
		f := toFactor(*res.Factor)
		out.Factor, out.Status = &f, api.StatusActive
	}
	return http.StatusCreated, out, nil
}

func (a *API) completeEnrollment(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.CompleteEnrollmentRequest
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	if body.Code == "" && len(body.Credential) == 0 {
		return 0, nil, mfa.Invalid(mfa.CodeInvalidCode, "code", "code (or credential, for a passkey) is required")
	}
	act, err := a.Service.CompleteEnrollment(ctx, c, req.PathParameters["userId"], req.PathParameters["enrollmentId"], mfa.CompleteEnrollmentRequest{Code: body.Code, Credential: body.Credential})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, activatedJSON(act), nil
}

func activatedJSON(act mfa.Activated) api.Activation {
	return api.Activation{Factor: toFactor(act.Factor), BackupCodes: act.BackupCodes}
}

func (a *API) regenerateBackupCodes(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if req.Body != "" {
		var body api.RegenerateBackupCodesRequest
		if err := decodeBody(req, &body); err != nil {
			return 0, nil, err
		}
	}
	codes, err := a.Service.RegenerateBackupCodes(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.BackupCodes{BackupCodes: codes, Remaining: len(codes)}, nil
}

func (a *API) listFactors(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	list, err := a.Service.ListFactors(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.FactorList{Factors: toFactors(list.Factors), BackupCodesRemaining: list.BackupCodesRemaining}, nil
}

func (a *API) renameFactor(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.RenameFactorRequest
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	f, err := a.Service.RenameFactor(ctx, c, req.PathParameters["userId"], req.PathParameters["factorId"], body.Label)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RenamedFactor{Factor: toFactor(f)}, nil
}

func (a *API) deleteFactor(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.DeleteFactor(ctx, c, req.PathParameters["userId"], req.PathParameters["factorId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// ---- challenge ----

func (a *API) createChallenge(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.ChallengeRequest
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	var ctxIP, ctxDevice string
	if body.Context != nil {
		ctxIP, ctxDevice = body.Context.IP, body.Context.DeviceID
	}
	res, err := a.Service.CreateChallenge(ctx, c, req.PathParameters["userId"], mfa.ChallengeRequest{
		OrganizationID: body.OrganizationID, Purpose: body.Purpose, MinStrength: body.MinStrength, DeviceToken: body.DeviceToken,
		RegisteredAt: body.RegisteredAt, ContextIP: ctxIP, ContextDevice: ctxDevice, Locale: body.Locale,
	})
	if err != nil {
		return 0, nil, err
	}
	out := api.Challenge{
		ChallengeID: res.ChallengeID, MFARequired: res.MFARequired, Reason: res.Reason,
		EnrollmentRequired: res.EnrollmentRequired, EnrollmentSkippable: res.EnrollmentSkippable,
		Factors: []api.OfferedFactor{}, DefaultFactorID: res.DefaultFactorID, ExpiresAt: res.ExpiresAt, WebAuthn: res.WebAuthn, Signals: res.Signals,
	}
	for _, f := range res.Factors {
		of := api.OfferedFactor{ID: f.ID, Type: string(f.Type), Label: f.Label, MaskedDestination: mfa.MaskedDestination(f)}
		if f.Type == mfa.TypeWebAuthn {
			of.CredentialID = base64.RawURLEncoding.EncodeToString(f.CredentialID)
		}
		out.Factors = append(out.Factors, of)
	}
	if body.SendCode && res.MFARequired {
		out.Delivery, out.DeliveryError = a.sendDefaultCode(ctx, c, res, body.Locale)
	}
	return http.StatusCreated, out, nil
}

// sendDefaultCode sends the code of a new challenge's default factor when it is an email or
// SMS factor. A refused or failed send leaves the challenge as it is: its problem's code is
// in the response beside it.
func (a *API) sendDefaultCode(ctx context.Context, c mfa.Caller, res mfa.ChallengeResult, locale string) (*api.Delivery, string) {
	for _, f := range res.Factors {
		if f.ID != res.DefaultFactorID || (f.Type != mfa.TypeEmail && f.Type != mfa.TypeSMS) {
			continue
		}
		d, err := a.Service.SendOpenedCode(ctx, c, res, mfa.DeliveryRequest{FactorID: f.ID, Locale: locale})
		if err != nil {
			// The response is a 201: the request log line does not show this problem.
			e := mfa.AsError(err)
			a.Log.LogAttrs(ctx, slog.LevelWarn, "code not sent with the challenge", slog.String("problem", e.Code))
			return nil, e.Code
		}
		return toDelivery(d), ""
	}
	return nil, ""
}

func (a *API) sendCode(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.DeliveryRequest
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	d, err := a.Service.SendChallengeCode(ctx, c, req.PathParameters["userId"], req.PathParameters["challengeId"], mfa.DeliveryRequest{FactorID: body.FactorID, Locale: body.Locale})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, toDelivery(d), nil
}

// ---- verify ----

func (a *API) verify(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body verifyBody
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	if body.Type == "" {
		return 0, nil, mfa.Invalid(mfa.CodeInvalidRequest, "type", "type is required")
	}
	res, err := a.Service.Verify(ctx, c, req.PathParameters["userId"], req.PathParameters["challengeId"], mfa.VerifyRequest{
		FactorID: body.FactorID, Type: mfa.FactorType(body.Type), Code: body.Code, Credential: body.Credential, RememberDevice: body.RememberDevice,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, verificationJSON(api.Verification{
		Verified: true, MFAToken: res.MFAToken, Factor: api.FactorRef{ID: res.Factor.ID, Type: string(res.Factor.Type)},
		DeviceToken: res.DeviceToken, BackupCodesRemaining: res.BackupCodesRemaining, EnrollmentRequired: res.EnrollmentRequired,
	}), nil
}

// ---- jwks ----

func (a *API) jwks(ctx context.Context, _ events.APIGatewayV2HTTPRequest, _ mfa.Caller) (int, any, error) {
	doc, err := a.JWKS(ctx)
	if err != nil {
		return 0, nil, &mfa.Error{Kind: mfa.KindUnavailable, Code: mfa.CodeUnavailable, Message: "keys are not available now", Err: err}
	}
	return http.StatusOK, json.RawMessage(doc), nil
}

// isAdminRoute reports whether a route key is under /v1/admin/.
func isAdminRoute(routeKey string) bool {
	_, path, _ := strings.Cut(routeKey, " ")
	return strings.HasPrefix(path, "/v1/admin/")
}

func (a *API) skipPrompt(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.SkipEnrollmentPromptRequest
	if req.Body != "" {
		if err := decodeBody(req, &body); err != nil {
			return 0, nil, err
		}
	}
	if err := a.Service.SkipEnrollmentPrompt(ctx, c, req.PathParameters["userId"], body.OrganizationID); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// problemCode is the stable code of a problem response, for the request's log line.
func problemCode(resp events.APIGatewayV2HTTPResponse) string {
	if resp.StatusCode < 400 || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
		return ""
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &p)
	return p.Code
}
