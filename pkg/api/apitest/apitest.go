// Package apitest says which pkg/api type is each route's JSON request body and each of its
// JSON answers, for the tests that hold both sides to those types: infra's OpenAPI test
// compares them with openapi.yaml, and pkg/httpapi's tests check every answer the handlers
// give against them (Check).
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/policy"
)

// Route is one route's bodies: a zero value of each type.
type Route struct {
	Request   any         // nil: the route takes no body
	Responses map[int]any // by status: the 2xx answers with a JSON body
}

// Routes has every route of the HTTP API that takes or answers a JSON body, by route key.
var Routes = map[string]Route{
	"POST /v1/users/{userId}/enrollments":                            {api.StartEnrollmentRequest{}, map[int]any{201: api.Enrollment{}}},
	"POST /v1/users/{userId}/enrollments/{enrollmentId}/complete":    {api.CompleteEnrollmentRequest{}, map[int]any{200: api.Activation{}}},
	"GET /v1/users/{userId}/factors":                                 {nil, map[int]any{200: api.FactorList{}}},
	"PATCH /v1/users/{userId}/factors/{factorId}":                    {api.RenameFactorRequest{}, map[int]any{200: api.RenamedFactor{}}},
	"POST /v1/users/{userId}/backup-codes":                           {api.RegenerateBackupCodesRequest{}, map[int]any{201: api.BackupCodes{}}},
	"GET /v1/users/{userId}/devices":                                 {nil, map[int]any{200: api.DeviceList{}}},
	"POST /v1/users/{userId}/challenges":                             {api.ChallengeRequest{}, map[int]any{201: api.Challenge{}}},
	"POST /v1/users/{userId}/challenges/{challengeId}/deliveries":    {api.DeliveryRequest{}, map[int]any{202: api.Delivery{}}},
	"POST /v1/users/{userId}/challenges/{challengeId}/verifications": {api.VerifyRequest{}, map[int]any{200: api.Verification{}}},
	"POST /v1/users/{userId}/enrollment-prompt/skip":                 {api.SkipEnrollmentPromptRequest{}, nil},
	"GET /v1/admin/users":                                            {nil, map[int]any{200: api.DirectoryPage{}}},
	"GET /v1/admin/users/{userId}":                                   {nil, map[int]any{200: api.UserStatus{}}},
	"POST /v1/admin/users/{userId}/factors":                          {api.BindRequest{}, map[int]any{201: api.Binding{}}},
	"GET /v1/admin/users/{userId}/devices":                           {nil, map[int]any{200: api.DeviceList{}}},
	"GET /v1/admin/users/{userId}/events":                            {nil, map[int]any{200: api.EventPage{}}},
	"GET /v1/admin/policy/events":                                    {nil, map[int]any{200: api.EventPage{}}},
	"GET /v1/admin/policy":                                           {nil, map[int]any{200: api.StoredPolicy{}}},
	"PUT /v1/admin/policy":                                           {policy.Overlay{}, map[int]any{200: api.StoredPolicy{}}},
	"GET /v1/admin/organizations/{orgId}/policy":                     {nil, map[int]any{200: api.StoredPolicy{}}},
	"PUT /v1/admin/organizations/{orgId}/policy":                     {policy.Overlay{}, map[int]any{200: api.StoredPolicy{}}},
}

// NotWireTypes are JSON answers ("<route key> <status>") that are no pkg/api type, and why.
var NotWireTypes = map[string]string{
	// The key set is pkg/token's JWK encoding, served as stored by pkg/keyset; the Go client
	// hands it on raw (Client.JWKS) to a JOSE library.
	"GET /.well-known/jwks.json 200": "RFC 7517 key set written by pkg/token",
}

// Check holds one answer of the service to its wire type: a problem+json body must be an
// api.Problem, a 2xx JSON body of a route in Routes that route's type for the status. The body
// must decode with no unknown member and encode back to exactly the same bytes, so the answer
// is that type's encoding, member order and omissions included. Other answers are not checked.
func Check(routeKey string, status int, contentType, body string) error {
	var want any
	switch {
	case strings.HasPrefix(contentType, "application/problem+json"):
		want = api.Problem{}
	case status >= 200 && status < 300 && strings.HasPrefix(contentType, "application/json"):
		r, ok := Routes[routeKey]
		if !ok {
			if NotWireTypes[fmt.Sprintf("%s %d", routeKey, status)] != "" {
				return nil
			}
			return fmt.Errorf("%s answered %d with JSON; apitest.Routes names no type for it", routeKey, status)
		}
		if want, ok = r.Responses[status]; !ok {
			return fmt.Errorf("%s answered %d with JSON; apitest.Routes names no type for that status", routeKey, status)
		}
	default:
		return nil
	}
	v := reflect.New(reflect.TypeOf(want))
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return fmt.Errorf("%s %d: the body is no %T: %v: %s", routeKey, status, want, err, body)
	}
	again, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Errorf("%s %d: %T does not encode back: %v", routeKey, status, want, err)
	}
	if !bytes.Equal(again, []byte(body)) {
		return fmt.Errorf("%s %d: the body is not %T's encoding:\n got  %s\n %T: %s", routeKey, status, want, body, want, again)
	}
	return nil
}
