package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
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

func toDevices(ds []mfa.Device) []api.Device {
	out := make([]api.Device, 0, len(ds))
	for _, d := range ds {
		out = append(out, api.Device{ID: d.ID, Label: d.Label, IP: d.IP, CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt, ExpiresAt: d.ExpiresAt})
	}
	return out
}

func (a *API) listDevices(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	ds, err := a.Service.ListDevices(ctx, c, req.PathParameters["userId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.DeviceList{Devices: toDevices(ds)}, nil
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
	return http.StatusOK, api.DeviceList{Devices: toDevices(ds)}, nil
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
	return http.StatusOK, api.UserStatus{
		UserID: st.UserID, Factors: toFactors(st.Factors), BackupCodesRemaining: st.BackupCodesRemaining,
		LastChallengeAt: api.NullTime{Time: st.LastChallengeAt}, LastVerifiedAt: api.NullTime{Time: st.LastVerifiedAt},
		FailedAttempts: st.FailedAttempts, LockedUntil: api.NullTime{Time: st.LockedUntil}, LockedPermanently: st.LockedPermanently,
		Devices: toDevices(st.Devices),
	}, nil
}

func (a *API) adminBind(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	var body api.BindRequest
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
	out := api.Binding{BackupCodes: b.BackupCodes}
	if b.Factor.ID != "" {
		f := toFactor(b.Factor)
		out.Factor = &f
	}
	if b.TOTP != nil {
		if out.TOTP, err = totpSecret(*b.TOTP); err != nil {
			return 0, nil, err
		}
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

func eventPage(evs []mfa.AuditEvent, next string) api.EventPage {
	out := api.EventPage{Events: make([]api.Event, 0, len(evs)), NextCursor: next}
	for _, e := range evs {
		out.Events = append(out.Events, api.Event{At: e.At, Action: e.Action, Actor: e.Actor, Outcome: e.Outcome, Reason: e.Reason,
			FactorID: e.FactorID, FactorType: string(e.FactorType), ChallengeID: e.ChallengeID, IP: e.IP, UserAgent: e.UserAgent})
	}
	return out
}

func toStoredPolicy(orgID string, sp mfa.StoredPolicy) api.StoredPolicy {
	scope := api.ScopeGlobal
	if orgID != "" {
		scope = api.OrganizationScope(orgID)
	}
	return api.StoredPolicy{Scope: scope, Stored: sp.Stored, Version: sp.Meta.Version, UpdatedAt: sp.Meta.UpdatedAt, UpdatedBy: sp.Meta.UpdatedBy,
		Policy: sp.Overlay, Effective: sp.Effective.Policy, Sources: sp.Effective.Sources}
}

func (a *API) getPolicy(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	orgID := req.PathParameters["orgId"]
	sp, err := a.Service.GetPolicy(ctx, c, orgID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toStoredPolicy(orgID, sp), nil
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
	return http.StatusOK, toStoredPolicy(orgID, sp), nil
}

func (a *API) deletePolicy(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	if err := a.Service.DeletePolicy(ctx, c, req.PathParameters["orgId"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
