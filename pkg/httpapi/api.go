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

// Handlers returns every function's handler by template logical id.
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
		if lc, ok := lambdacontext.FromContext(ctx); ok {
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

// ---- wire shapes ----

type factorJSON struct {
	ID                string     `json:"id"`
	Type              string     `json:"type"`
	Label             string     `json:"label"`
	CreatedAt         *time.Time `json:"createdAt,omitempty"`
	LastUsedAt        *time.Time `json:"lastUsedAt,omitempty"`
	MaskedDestination string     `json:"maskedDestination,omitempty"`
	Remaining         *int       `json:"remaining,omitempty"`    // backup codes left in the set
	CredentialID      string     `json:"credentialId,omitempty"` // webauthn: base64url, to match an assertion to its factor
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toFactorJSON(f mfa.Factor) factorJSON {
	out := factorJSON{ID: f.ID, Type: string(f.Type), Label: f.Label, CreatedAt: timePtr(f.CreatedAt), LastUsedAt: timePtr(f.LastUsedAt), MaskedDestination: mfa.MaskedDestination(f)}
	if f.Type == mfa.TypeBackupCodes {
		n := len(f.BackupCodes)
		out.Remaining = &n
	}
	if f.Type == mfa.TypeWebAuthn {
		out.CredentialID = base64.RawURLEncoding.EncodeToString(f.CredentialID)
	}
	return out
}

type deliveryJSON struct {
	Channel           string    `json:"channel"`
	MaskedDestination string    `json:"maskedDestination"`
	ExpiresAt         time.Time `json:"expiresAt"`
	ResendAfter       time.Time `json:"resendAfter"`
}

func toDeliveryJSON(d mfa.DeliveryInfo) *deliveryJSON {
	return &deliveryJSON{Channel: string(d.Channel), MaskedDestination: d.MaskedDestination, ExpiresAt: d.ExpiresAt, ResendAfter: d.ResendAfter}
}

// ---- enrollment ----

type startEnrollmentBody struct {
	Type        string `json:"type"`
	Label       string `json:"label,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	PreVerified bool   `json:"preVerified,omitempty"`
	// OrganizationID: the enrollment is held to that organization's effective policy.
	OrganizationID string `json:"organizationId,omitempty"`
	Locale         string `json:"locale,omitempty"`
}

type totpJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauthUri"`
	QRPNG      string `json:"qrPng"`
}

type enrollmentJSON struct {
	EnrollmentID string          `json:"enrollmentId"`
	Type         string          `json:"type"`
	ExpiresAt    time.Time       `json:"expiresAt"`
	Status       string          `json:"status"` // "pending" (complete it) or "active" (bound already)
	TOTP         *totpJSON       `json:"totp,omitempty"`
	WebAuthn     json.RawMessage `json:"webauthn,omitempty"` // creation options: {"publicKey": …}
	Delivery     *deliveryJSON   `json:"delivery,omitempty"`
	Factor       *factorJSON     `json:"factor,omitempty"`
	BackupCodes  []string        `json:"backupCodes,omitempty"`
}

func (a *API) startEnrollment(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body startEnrollmentBody
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
	out := enrollmentJSON{EnrollmentID: res.EnrollmentID, Type: string(res.Type), ExpiresAt: res.ExpiresAt, Status: "pending", BackupCodes: res.BackupCodes}
	if res.TOTP != nil {
		out.TOTP = &totpJSON{Secret: res.TOTP.Secret, OTPAuthURI: res.TOTP.OTPAuthURI, QRPNG: res.TOTP.QRPNG}
	}
	out.WebAuthn = res.WebAuthn
	if res.Delivery != nil {
		out.Delivery = toDeliveryJSON(*res.Delivery)
	}
	if res.Factor != nil {
		fj := toFactorJSON(*res.Factor)
		out.Factor, out.Status = &fj, "active"
	}
	return http.StatusCreated, out, nil
}

type completeEnrollmentBody struct {
	Code       string          `json:"code,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

func (a *API) completeEnrollment(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body completeEnrollmentBody
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

func activatedJSON(act mfa.Activated) any {
	out := struct {
		Factor      factorJSON `json:"factor"`
		BackupCodes []string   `json:"backupCodes,omitempty"`
	}{Factor: toFactorJSON(act.Factor), BackupCodes: act.BackupCodes}
	return out
}

func (a *API) regenerateBackupCodes(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if req.Body != "" {
		var body struct{}
		if err := decodeBody(req, &body); err != nil {
			return 0, nil, err
		}
	}
	codes, err := a.Service.RegenerateBackupCodes(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"backupCodes": codes, "remaining": len(codes)}, nil
}

func (a *API) listFactors(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	list, err := a.Service.ListFactors(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Factors              []factorJSON `json:"factors"`
		BackupCodesRemaining int          `json:"backupCodesRemaining"`
	}{Factors: []factorJSON{}, BackupCodesRemaining: list.BackupCodesRemaining}
	for _, f := range list.Factors {
		out.Factors = append(out.Factors, toFactorJSON(f))
	}
	return http.StatusOK, out, nil
}

type renameBody struct {
	Label string `json:"label"`
}

func (a *API) renameFactor(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body renameBody
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	f, err := a.Service.RenameFactor(ctx, c, req.PathParameters["userId"], req.PathParameters["factorId"], body.Label)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"factor": toFactorJSON(f)}, nil
}

func (a *API) deleteFactor(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.DeleteFactor(ctx, c, req.PathParameters["userId"], req.PathParameters["factorId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// ---- challenge ----

type challengeBody struct {
	OrganizationID string `json:"organizationId,omitempty"`
	Purpose        string `json:"purpose,omitempty"`
	MinStrength    string `json:"minStrength,omitempty"`
	DeviceToken    string `json:"deviceToken,omitempty"`
	Context        *struct {
		IP        string `json:"ip,omitempty"`
		UserAgent string `json:"userAgent,omitempty"`
		DeviceID  string `json:"deviceId,omitempty"`
	} `json:"context,omitempty"`
	RegisteredAt *time.Time `json:"registeredAt,omitempty"`
	Locale       string     `json:"locale,omitempty"`
}

type challengeJSON struct {
	ChallengeID         string          `json:"challengeId"`
	MFARequired         bool            `json:"mfaRequired"`
	Reason              string          `json:"reason"`
	EnrollmentRequired  bool            `json:"enrollmentRequired"`
	EnrollmentSkippable bool            `json:"enrollmentSkippable"`
	Factors             []factorJSON    `json:"factors"`
	DefaultFactorID     string          `json:"defaultFactorId,omitempty"`
	ExpiresAt           time.Time       `json:"expiresAt"`
	WebAuthn            json.RawMessage `json:"webauthn,omitempty"` // assertion options: {"publicKey": …}
	Signals             []string        `json:"signals,omitempty"`  // risk signals that fired (adaptive mode)
}

func (a *API) createChallenge(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body challengeBody
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	var registeredAt time.Time
	if body.RegisteredAt != nil {
		registeredAt = *body.RegisteredAt
	}
	var ctxIP, ctxDevice string
	if body.Context != nil {
		ctxIP, ctxDevice = body.Context.IP, body.Context.DeviceID
	}
	res, err := a.Service.CreateChallenge(ctx, c, req.PathParameters["userId"], mfa.ChallengeRequest{
		OrganizationID: body.OrganizationID, Purpose: body.Purpose, MinStrength: body.MinStrength, DeviceToken: body.DeviceToken,
		RegisteredAt: registeredAt, ContextIP: ctxIP, ContextDevice: ctxDevice, Locale: body.Locale,
	})
	if err != nil {
		return 0, nil, err
	}
	out := challengeJSON{
		ChallengeID: res.ChallengeID, MFARequired: res.MFARequired, Reason: res.Reason,
		EnrollmentRequired: res.EnrollmentRequired, EnrollmentSkippable: res.EnrollmentSkippable,
		Factors: []factorJSON{}, DefaultFactorID: res.DefaultFactorID, ExpiresAt: res.ExpiresAt, WebAuthn: res.WebAuthn, Signals: res.Signals,
	}
	for _, f := range res.Factors {
		fj := factorJSON{ID: f.ID, Type: string(f.Type), Label: f.Label, MaskedDestination: mfa.MaskedDestination(f)}
		if f.Type == mfa.TypeWebAuthn {
			fj.CredentialID = base64.RawURLEncoding.EncodeToString(f.CredentialID)
		}
		out.Factors = append(out.Factors, fj)
	}
	return http.StatusCreated, out, nil
}

type deliveryBody struct {
	FactorID string `json:"factorId"`
	Locale   string `json:"locale,omitempty"`
}

func (a *API) sendCode(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body deliveryBody
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	d, err := a.Service.SendChallengeCode(ctx, c, req.PathParameters["userId"], req.PathParameters["challengeId"], mfa.DeliveryRequest{FactorID: body.FactorID, Locale: body.Locale})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, toDeliveryJSON(d), nil
}

// ---- verify ----

type verifyBody struct {
	FactorID       string          `json:"factorId,omitempty"`
	Type           string          `json:"type"`
	Code           string          `json:"code,omitempty"`
	Credential     json.RawMessage `json:"credential,omitempty"`
	RememberDevice bool            `json:"rememberDevice,omitempty"`
}

type verifyJSON struct {
	Verified bool   `json:"verified"`
	MFAToken string `json:"mfaToken"`
	Factor   struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"factor"`
	DeviceToken          string `json:"deviceToken,omitempty"`
	BackupCodesRemaining *int   `json:"backupCodesRemaining,omitempty"`
	EnrollmentRequired   bool   `json:"enrollmentRequired"`
}

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
	out := verifyJSON{Verified: true, MFAToken: res.MFAToken, DeviceToken: res.DeviceToken, EnrollmentRequired: res.EnrollmentRequired, BackupCodesRemaining: res.BackupCodesRemaining}
	out.Factor.ID, out.Factor.Type = res.Factor.ID, string(res.Factor.Type)
	return http.StatusOK, out, nil
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

type skipBody struct {
	OrganizationID string `json:"organizationId,omitempty"`
}

func (a *API) skipPrompt(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body skipBody
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
