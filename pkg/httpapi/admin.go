package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
)

// adminRoutes are the admin function's routes. The HTTP API's authorizer demands the
// mfa/admin scope on each; the handler checks it again, so a route misconfigured without it
// still refuses other tokens.
func (a *API) adminRoutes() map[string]route {
	return map[string]route{
		"GET /v1/admin/users":                                a.adminListUsers,
		"GET /v1/admin/users/{userId}":                       a.adminStatus,
		"POST /v1/admin/users/{userId}/factors":              a.adminBind,
		"DELETE /v1/admin/users/{userId}/factors/{factorId}": a.adminDeleteFactor,
		"DELETE /v1/admin/users/{userId}/factors":            a.adminReset,
		"POST /v1/admin/users/{userId}/unlock":               a.adminUnlock,
		"GET /v1/admin/users/{userId}/devices":               a.adminListDevices,
		"DELETE /v1/admin/users/{userId}/devices":            a.adminRevokeAllDevices,
		"DELETE /v1/admin/users/{userId}/devices/{deviceId}": a.adminRevokeDevice,
		"GET /v1/admin/users/{userId}/events":                a.adminEvents,
		"GET /v1/admin/policy":                               a.getPolicy,
		"GET /v1/admin/policy/events":                        a.policyEvents,
		"PUT /v1/admin/policy":                               a.putPolicy,
		"GET /v1/admin/organizations/{orgId}/policy":         a.getPolicy,
		"PUT /v1/admin/organizations/{orgId}/policy":         a.putPolicy,
		"DELETE /v1/admin/organizations/{orgId}/policy":      a.deletePolicy,
	}
}

// Admin serves the admin function's routes.
func (a *API) Admin() Handler { return a.serve(a.adminRoutes(), true) }

type deviceJSON struct {
	ID         string     `json:"id"`
	Label      string     `json:"label,omitempty"`
	IP         string     `json:"ip,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	ExpiresAt  time.Time  `json:"expiresAt"`
}

func devicesJSON(ds []mfa.Device) []deviceJSON {
	out := make([]deviceJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, deviceJSON{ID: d.ID, Label: d.Label, IP: d.IP, CreatedAt: d.CreatedAt, LastUsedAt: timePtr(d.LastUsedAt), ExpiresAt: d.ExpiresAt})
	}
	return out
}

func (a *API) listDevices(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	ds, err := a.Service.ListDevices(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"devices": devicesJSON(ds)}, nil
}

func (a *API) revokeDevice(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.RevokeDevice(ctx, c, req.PathParameters["userId"], req.PathParameters["deviceId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) adminListDevices(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	ds, err := a.Service.AdminListDevices(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"devices": devicesJSON(ds)}, nil
}

func (a *API) adminRevokeDevice(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.AdminRevokeDevice(ctx, c, req.PathParameters["userId"], req.PathParameters["deviceId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) adminRevokeAllDevices(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.RevokeAllDevices(ctx, c, req.PathParameters["userId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) adminStatus(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	st, err := a.Service.AdminStatus(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		UserID               string       `json:"userId"`
		Factors              []factorJSON `json:"factors"`
		BackupCodesRemaining int          `json:"backupCodesRemaining"`
		LastChallengeAt      *time.Time   `json:"lastChallengeAt"`
		LastVerifiedAt       *time.Time   `json:"lastVerifiedAt"`
		FailedAttempts       int          `json:"failedAttempts"`
		LockedUntil          *time.Time   `json:"lockedUntil"`
		LockedPermanently    bool         `json:"lockedPermanently"`
		Devices              []deviceJSON `json:"devices"`
	}{
		UserID: st.UserID, Factors: []factorJSON{}, BackupCodesRemaining: st.BackupCodesRemaining,
		LastChallengeAt: timePtr(st.LastChallengeAt), LastVerifiedAt: timePtr(st.LastVerifiedAt),
		FailedAttempts: st.FailedAttempts, LockedUntil: timePtr(st.LockedUntil), LockedPermanently: st.LockedPermanently,
		Devices: devicesJSON(st.Devices),
	}
	for _, f := range st.Factors {
		out.Factors = append(out.Factors, toFactorJSON(f))
	}
	return http.StatusOK, out, nil
}

type bindBody struct {
	Type   string `json:"type"`
	Email  string `json:"email,omitempty"`
	Phone  string `json:"phone,omitempty"`
	Secret string `json:"secret,omitempty"`
	Label  string `json:"label,omitempty"`
	Locale string `json:"locale,omitempty"` // the user's language for this factor's messages
}

func (a *API) adminBind(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body bindBody
	if err := decodeBody(req, &body); err != nil {
		return 0, nil, err
	}
	if body.Type == "" {
		return 0, nil, mfa.Invalid(mfa.CodeInvalidRequest, "type", "type is required")
	}
	b, err := a.Service.AdminBind(ctx, c, req.PathParameters["userId"], mfa.BindRequest{Type: body.Type, Email: body.Email, Phone: body.Phone, Secret: body.Secret, Label: body.Label, Locale: body.Locale})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Factor      *factorJSON `json:"factor,omitempty"`
		TOTP        *totpJSON   `json:"totp,omitempty"`
		BackupCodes []string    `json:"backupCodes,omitempty"`
	}{BackupCodes: b.BackupCodes}
	if b.Factor.ID != "" {
		fj := toFactorJSON(b.Factor)
		out.Factor = &fj
	}
	if b.TOTP != nil {
		out.TOTP = &totpJSON{Secret: b.TOTP.Secret, OTPAuthURI: b.TOTP.OTPAuthURI, QRPNG: b.TOTP.QRPNG}
	}
	return http.StatusCreated, out, nil
}

func (a *API) adminDeleteFactor(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.AdminDeleteFactor(ctx, c, req.PathParameters["userId"], req.PathParameters["factorId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) adminReset(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.AdminReset(ctx, c, req.PathParameters["userId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) adminUnlock(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.AdminUnlock(ctx, c, req.PathParameters["userId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

type eventJSON struct {
	At          time.Time `json:"at"`
	Action      string    `json:"action"`
	Actor       string    `json:"actor"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	FactorID    string    `json:"factorId,omitempty"`
	FactorType  string    `json:"factorType,omitempty"`
	ChallengeID string    `json:"challengeId,omitempty"`
	IP          string    `json:"ip,omitempty"`
	UserAgent   string    `json:"userAgent,omitempty"`
}

func (a *API) adminEvents(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	limit, err := eventsLimit(req)
	if err != nil {
		return 0, nil, err
	}
	evs, next, err := a.Service.Events(ctx, c, req.PathParameters["userId"], limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, eventPage(evs, next), nil
}

func (a *API) policyEvents(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	limit, err := eventsLimit(req)
	if err != nil {
		return 0, nil, err
	}
	evs, next, err := a.Service.PolicyEvents(ctx, c, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, eventPage(evs, next), nil
}

func eventsLimit(req events.APIGatewayV2HTTPRequest) (int, error) {
	v := req.QueryStringParameters["limit"]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, mfa.Invalid(mfa.CodeInvalidRequest, "limit", "limit must be a number from 1 to 200")
	}
	return n, nil
}

func eventPage(evs []mfa.AuditEvent, next string) any {
	out := struct {
		Events     []eventJSON `json:"events"`
		NextCursor string      `json:"nextCursor,omitempty"`
	}{Events: []eventJSON{}, NextCursor: next}
	for _, e := range evs {
		out.Events = append(out.Events, eventJSON{At: e.At, Action: e.Action, Actor: e.Actor, Outcome: e.Outcome, Reason: e.Reason,
			FactorID: e.FactorID, FactorType: string(e.FactorType), ChallengeID: e.ChallengeID, IP: e.IP, UserAgent: e.UserAgent})
	}
	return out
}

// policyJSON is a policy as the admin routes answer it: the overlay as stored (exactly the
// fields sent; send it back to PUT unchanged), and the effective policy it makes, every field
// filled, with where each came from.
type policyJSON struct {
	Scope     string         `json:"scope"`
	Stored    bool           `json:"stored"`
	Version   int            `json:"version,omitempty"`
	UpdatedAt *time.Time     `json:"updatedAt,omitempty"`
	UpdatedBy string         `json:"updatedBy,omitempty"`
	Policy    policy.Overlay `json:"policy"`
	Effective policy.Policy  `json:"effective"`
	Sources   policy.Sources `json:"sources"`
}

func toPolicyJSON(orgID string, sp mfa.StoredPolicy) policyJSON {
	scope := "global"
	if orgID != "" {
		scope = "organization:" + orgID
	}
	return policyJSON{Scope: scope, Stored: sp.Stored, Version: sp.Meta.Version, UpdatedAt: timePtr(sp.Meta.UpdatedAt), UpdatedBy: sp.Meta.UpdatedBy,
		Policy: sp.Overlay, Effective: sp.Effective.Policy, Sources: sp.Effective.Sources}
}

func (a *API) getPolicy(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	orgID := req.PathParameters["orgId"]
	sp, err := a.Service.GetPolicy(ctx, c, orgID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPolicyJSON(orgID, sp), nil
}

// putPolicy stores the body as the scope's overlay: exactly the fields sent. What it leaves
// out (or sends as null) follows the layer below: the default for the global policy, the
// global policy in force for an organization's.
func (a *API) putPolicy(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var o policy.Overlay
	if err := decodeBody(req, &o); err != nil {
		return 0, nil, err
	}
	orgID := req.PathParameters["orgId"]
	sp, err := a.Service.PutPolicy(ctx, c, orgID, o)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPolicyJSON(orgID, sp), nil
}

func (a *API) deletePolicy(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.DeletePolicy(ctx, c, req.PathParameters["orgId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
