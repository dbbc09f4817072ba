package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/policy"
)

// retry says whether a call may be repeated; see Client.
const (
	retrySafe = true
	single    = false
)

// send calls routeKey (a template.yaml route) with ids filling its path parameters.
func (c *Client) send(ctx context.Context, routeKey string, ids []string, body any, retry bool, opts []CallOption, out any) error {
	r, err := newRequest(routeKey, ids...)
	if err != nil {
		return err
	}
	r.body, r.retry, r.opts = body, retry, opts
	return c.do(ctx, r, out)
}

func ids(v ...string) []string { return v }

// ---- enrollment ----

// StartEnrollment starts enrolling a factor (POST /v1/users/{userId}/enrollments). A user
// token that adds a factor while the user has one needs WithMFAToken. Never retried: it may
// send a code, and it shows a TOTP secret once.
func (c *Client) StartEnrollment(ctx context.Context, userID string, req StartEnrollmentRequest, opts ...CallOption) (*Enrollment, error) {
	var out Enrollment
	if err := c.send(ctx, "POST /v1/users/{userId}/enrollments", ids(userID), req, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteEnrollment answers an enrollment with a code or a passkey credential. The step-up
// rule is checked again here. Never retried: the answer is single use and failures count.
func (c *Client) CompleteEnrollment(ctx context.Context, userID, enrollmentID string, req CompleteEnrollmentRequest, opts ...CallOption) (*Activation, error) {
	var out Activation
	if err := c.send(ctx, "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", ids(userID, enrollmentID), req, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListFactors lists a user's factors (never their secrets).
func (c *Client) ListFactors(ctx context.Context, userID string, opts ...CallOption) (*FactorList, error) {
	var out FactorList
	if err := c.send(ctx, "GET /v1/users/{userId}/factors", ids(userID), nil, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RenameFactor sets a factor's label.
func (c *Client) RenameFactor(ctx context.Context, userID, factorID, label string, opts ...CallOption) (*Factor, error) {
	var out api.RenamedFactor
	body := api.RenameFactorRequest{Label: label}
	// PATCH to a fixed label is idempotent.
	if err := c.send(ctx, "PATCH /v1/users/{userId}/factors/{factorId}", ids(userID, factorID), body, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return &out.Factor, nil
}

// DeleteFactor removes a factor; a user token needs WithMFAToken.
func (c *Client) DeleteFactor(ctx context.Context, userID, factorID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/users/{userId}/factors/{factorId}", ids(userID, factorID), nil, retrySafe, opts, nil)
}

// RegenerateBackupCodes replaces the user's backup codes with a new set, shown once; a user
// token needs WithMFAToken. Never retried.
func (c *Client) RegenerateBackupCodes(ctx context.Context, userID string, opts ...CallOption) (*BackupCodes, error) {
	var out BackupCodes
	if err := c.send(ctx, "POST /v1/users/{userId}/backup-codes", ids(userID), api.RegenerateBackupCodesRequest{}, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDevices lists the user's trusted devices.
func (c *Client) ListDevices(ctx context.Context, userID string, opts ...CallOption) ([]Device, error) {
	var out api.DeviceList
	if err := c.send(ctx, "GET /v1/users/{userId}/devices", ids(userID), nil, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// RevokeDevice revokes one trusted device.
func (c *Client) RevokeDevice(ctx context.Context, userID, deviceID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/users/{userId}/devices/{deviceId}", ids(userID, deviceID), nil, retrySafe, opts, nil)
}

// ---- challenge and verify ----

// CreateChallenge opens a challenge and returns the policy's decision. Retried: an
// unanswered challenge expires and counts nothing, unless req.SendCode asks for the default
// factor's code with it: a send is capped, so that request is never retried (as SendCode).
func (c *Client) CreateChallenge(ctx context.Context, userID string, req ChallengeRequest, opts ...CallOption) (*Challenge, error) {
	var out Challenge
	retry := retrySafe
	if req.SendCode {
		retry = single
	}
	if err := c.send(ctx, "POST /v1/users/{userId}/challenges", ids(userID), req, retry, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SendCode sends an email or SMS code for one of the challenge's factors. Never retried:
// sends are capped (429 send_limited, with Retry-After and Extra["limit"]).
func (c *Client) SendCode(ctx context.Context, userID, challengeID, factorID string, opts ...CallOption) (*Delivery, error) {
	var out Delivery
	body := api.DeliveryRequest{FactorID: factorID}
	if err := c.send(ctx, "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", ids(userID, challengeID), body, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Verify answers a challenge. A wrong answer is a Problem with code verification_failed
// (see AttemptsRemaining); a locked user gets too_many_attempts with RetryAfter. Never
// retried: the answer is single use and every failure counts. (A 409 conflict means a
// concurrent failure was counted first and this answer was not checked; the caller may send
// it again.)
func (c *Client) Verify(ctx context.Context, userID, challengeID string, req VerifyRequest, opts ...CallOption) (*Verification, error) {
	var out Verification
	if err := c.send(ctx, "POST /v1/users/{userId}/challenges/{challengeId}/verifications", ids(userID, challengeID), req, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SkipEnrollmentPrompt records that the user skipped a skippable enrollment prompt
// (organizationID may be empty). Retried: skipping twice is skipping once.
func (c *Client) SkipEnrollmentPrompt(ctx context.Context, userID, organizationID string, opts ...CallOption) error {
	body := api.SkipEnrollmentPromptRequest{OrganizationID: organizationID}
	return c.send(ctx, "POST /v1/users/{userId}/enrollment-prompt/skip", ids(userID), body, retrySafe, opts, nil)
}

// JWKS returns the public key set (RFC 7517) that verifies mfaTokens, for a JOSE library
// (e.g. go-jose's JSONWebKeySet). It is sent without a bearer token.
func (c *Client) JWKS(ctx context.Context, opts ...CallOption) (json.RawMessage, error) {
	r, _ := newRequest("GET /.well-known/jwks.json")
	r.retry, r.public, r.opts = true, true, opts
	var out json.RawMessage
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ---- admin (scope mfa/admin) ----

// AdminStatus is a user's factors, counters, lock and devices; a user the service never saw
// has an empty status.
func (c *Client) AdminStatus(ctx context.Context, userID string, opts ...CallOption) (*UserStatus, error) {
	var out UserStatus
	if err := c.send(ctx, "GET /v1/admin/users/{userId}", ids(userID), nil, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminBind binds a pre-verified factor for a user. Never retried: a TOTP secret or backup
// codes it mints are shown once, and a repeated email or number is 409 factor_exists.
func (c *Client) AdminBind(ctx context.Context, userID string, req BindRequest, opts ...CallOption) (*Binding, error) {
	var out Binding
	if err := c.send(ctx, "POST /v1/admin/users/{userId}/factors", ids(userID), req, single, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminDeleteFactor removes one factor of a user.
func (c *Client) AdminDeleteFactor(ctx context.Context, userID, factorID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/admin/users/{userId}/factors/{factorId}", ids(userID, factorID), nil, retrySafe, opts, nil)
}

// AdminReset removes all of a user's factors, backup codes, trusted devices and lock.
func (c *Client) AdminReset(ctx context.Context, userID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/admin/users/{userId}/factors", ids(userID), nil, retrySafe, opts, nil)
}

// AdminUnlock lifts a user's verification lock. Retried: unlocking twice is unlocking once.
func (c *Client) AdminUnlock(ctx context.Context, userID string, opts ...CallOption) error {
	return c.send(ctx, "POST /v1/admin/users/{userId}/unlock", ids(userID), nil, retrySafe, opts, nil)
}

// AdminListDevices lists a user's trusted devices.
func (c *Client) AdminListDevices(ctx context.Context, userID string, opts ...CallOption) ([]Device, error) {
	var out api.DeviceList
	if err := c.send(ctx, "GET /v1/admin/users/{userId}/devices", ids(userID), nil, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// AdminRevokeDevice revokes one of a user's trusted devices.
func (c *Client) AdminRevokeDevice(ctx context.Context, userID, deviceID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/admin/users/{userId}/devices/{deviceId}", ids(userID, deviceID), nil, retrySafe, opts, nil)
}

// AdminRevokeAllDevices revokes all of a user's trusted devices.
func (c *Client) AdminRevokeAllDevices(ctx context.Context, userID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/admin/users/{userId}/devices", ids(userID), nil, retrySafe, opts, nil)
}

// AdminEvents reads one page of a user's audit events, newest first.
func (c *Client) AdminEvents(ctx context.Context, userID string, page EventsRequest, opts ...CallOption) (*EventPage, error) {
	return c.eventPage(ctx, page, opts, "GET /v1/admin/users/{userId}/events", userID)
}

// AdminPolicyEvents reads one page of the audit events of policy changes and deletions,
// newest first. An event's Reason is the scope changed: "global" or "organization:<orgId>".
func (c *Client) AdminPolicyEvents(ctx context.Context, page EventsRequest, opts ...CallOption) (*EventPage, error) {
	return c.eventPage(ctx, page, opts, "GET /v1/admin/policy/events")
}

func (c *Client) eventPage(ctx context.Context, page EventsRequest, opts []CallOption, routeKey string, ids ...string) (*EventPage, error) {
	r, err := newRequest(routeKey, ids...)
	if err != nil {
		return nil, err
	}
	r.query = url.Values{}
	if page.Limit > 0 {
		r.query.Set("limit", strconv.Itoa(page.Limit))
	}
	if page.Cursor != "" {
		r.query.Set("cursor", page.Cursor)
	}
	r.retry, r.opts = true, opts
	var out EventPage
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminAllEvents iterates over all of a user's audit events, newest first, fetching pages of
// pageSize (0: the service's default). It stops after yielding an error.
//
//	for ev, err := range c.AdminAllEvents(ctx, "alice", 100) { … }
func (c *Client) AdminAllEvents(ctx context.Context, userID string, pageSize int, opts ...CallOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		req := EventsRequest{Limit: pageSize}
		for {
			page, err := c.AdminEvents(ctx, userID, req, opts...)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range page.Events {
				if !yield(e, nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == req.Cursor {
				return
			}
			req.Cursor = page.NextCursor
		}
	}
}

// AdminGetPolicy returns the global policy: its stored overlay and the effective policy
// (Stored false: nothing stored, the deployment's default is in force).
func (c *Client) AdminGetPolicy(ctx context.Context, opts ...CallOption) (*StoredPolicy, error) {
	return c.policyCall(ctx, "GET /v1/admin/policy", nil, nil, opts)
}

// AdminPutPolicy stores the global policy's overlay: exactly the fields set in o; those left
// nil follow the deployment's default. It replaces the stored overlay (to change one field,
// start from a StoredPolicy's Policy). A bad field is 400 invalid_policy with Field naming it.
func (c *Client) AdminPutPolicy(ctx context.Context, o policy.Overlay, opts ...CallOption) (*StoredPolicy, error) {
	return c.policyCall(ctx, "PUT /v1/admin/policy", nil, o, opts)
}

// AdminGetOrgPolicy returns an organization's stored overlay and its effective policy; 404
// policy_not_found when it has none (the global one applies).
func (c *Client) AdminGetOrgPolicy(ctx context.Context, orgID string, opts ...CallOption) (*StoredPolicy, error) {
	return c.policyCall(ctx, "GET /v1/admin/organizations/{orgId}/policy", ids(orgID), nil, opts)
}

// AdminPutOrgPolicy stores an organization's overlay: exactly the fields set in o. Those left
// nil inherit the global policy as it stands, and keep following it. When a challenge names
// the organization, the effective policy (StoredPolicy.Effective) applies.
func (c *Client) AdminPutOrgPolicy(ctx context.Context, orgID string, o policy.Overlay, opts ...CallOption) (*StoredPolicy, error) {
	return c.policyCall(ctx, "PUT /v1/admin/organizations/{orgId}/policy", ids(orgID), o, opts)
}

// AdminDeleteOrgPolicy removes an organization's policy.
func (c *Client) AdminDeleteOrgPolicy(ctx context.Context, orgID string, opts ...CallOption) error {
	return c.send(ctx, "DELETE /v1/admin/organizations/{orgId}/policy", ids(orgID), nil, retrySafe, opts, nil)
}

func (c *Client) policyCall(ctx context.Context, routeKey string, id []string, body any, opts []CallOption) (*StoredPolicy, error) {
	var out StoredPolicy
	if err := c.send(ctx, routeKey, id, body, retrySafe, opts, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
