package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
)

// Fuzz targets of the transport: what any caller can send reaches decodeBody and the
// handlers' validation before anything else. `go test` runs the seeds in
// testdata/fuzz/<FuzzName>; `make fuzz` explores further.

// bodyTarget returns a fresh destination of one of the shapes the handlers decode into.
func bodyTarget(kind byte) any {
	switch kind % 8 {
	case 0:
		return &api.StartEnrollmentRequest{}
	case 1:
		return &api.CompleteEnrollmentRequest{}
	case 2:
		return &api.ChallengeRequest{}
	case 3:
		return &api.VerifyRequest{}
	case 4:
		return &api.DeliveryRequest{}
	case 5:
		return &api.BindRequest{}
	case 6:
		p := policy.Default()
		return &p
	default:
		return &struct{}{}
	}
}

// checkTransportError asserts err is a bare *transportError with a 4xx status and a stable
// code, and that it renders as a problem with that status.
func checkTransportError(t *testing.T, err error) {
	t.Helper()
	te, ok := err.(*transportError)
	if !ok {
		t.Fatalf("decodeBody error %T %v, want *transportError", err, err)
	}
	if te.status < 400 || te.status > 499 || te.code == "" || te.message == "" {
		t.Fatalf("transport error %+v: want a 4xx status, a code and a message", te)
	}
	resp, de := problemResponse(err, "req")
	if de != nil || resp.StatusCode != te.status {
		t.Fatalf("problem for %v: status %d, domain error %v", err, resp.StatusCode, de)
	}
	checkProblem(t, resp)
}

// checkProblem asserts resp is an RFC 9457 problem of a 4xx status with a stable code.
func checkProblem(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Fatalf("status %d, want 4xx: %s", resp.StatusCode, resp.Body)
	}
	if resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", resp.Headers["Content-Type"])
	}
	var p struct {
		Type   string `json:"type"`
		Code   string `json:"code"`
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("problem body is not JSON: %v: %q", err, resp.Body)
	}
	if p.Code == "" || p.Type != api.ProblemType(p.Code) || p.Status != resp.StatusCode || p.Title == "" {
		t.Fatalf("problem %s does not match status %d", resp.Body, resp.StatusCode)
	}
}

// FuzzDecodeBody: arbitrary bytes, content types and base64 flag never panic; a body that is
// accepted was at most 64 KiB of valid UTF-8 holding exactly one JSON object, sent as JSON;
// every refusal is a transport problem with a 4xx status.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"type":"totp","label":"My phone"}`), "application/json", false, byte(0))
	f.Add([]byte(`{"code":"123456"}`), "", false, byte(1))
	f.Add([]byte(`{"type":"totp","code":"123 456","factorId":"abcdefghijklmnopqrstuvwxyz"}`), "application/json; charset=utf-8", false, byte(3))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte(`{"factorId":"x"}`))), "application/merge-patch+json", true, byte(4))
	f.Add([]byte(`{"mode":"required","factors":["totp"],"sms":{"maxPerUserPerHour":5}}`), "application/json", false, byte(6))
	f.Add([]byte(`{"type":"totp"} {"type":"sms"}`), "application/json", false, byte(0))
	f.Add([]byte(`{"unknown":1}`), "text/plain", false, byte(0))
	f.Add([]byte("null"), "", false, byte(2))
	f.Add([]byte("\xff\xfe{}"), "", false, byte(7))
	f.Add([]byte(`{"credential":{"id":"x"}}`), "application/json", false, byte(1))
	f.Fuzz(func(t *testing.T, body []byte, contentType string, isBase64 bool, kind byte) {
		req := events.APIGatewayV2HTTPRequest{Body: string(body), IsBase64Encoded: isBase64}
		if contentType != "" {
			req.Headers = map[string]string{"content-type": contentType}
		}
		err := decodeBody(req, bodyTarget(kind))
		if err != nil {
			checkTransportError(t, err)
			return
		}
		raw := body
		if isBase64 {
			var derr error
			if raw, derr = base64.StdEncoding.DecodeString(string(body)); derr != nil {
				t.Fatalf("accepted a body that is not base64: %v", derr)
			}
		}
		switch {
		case len(raw) > MaxBodyBytes:
			t.Fatalf("accepted a body of %d bytes", len(raw))
		case !utf8.Valid(raw):
			t.Fatal("accepted a body that is not UTF-8")
		case !json.Valid(raw):
			t.Fatalf("accepted a body that is not JSON: %q", raw)
		case !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")):
			t.Fatalf("accepted a body that is not a JSON object: %q", raw)
		}
		if contentType != "" {
			mt, _, perr := mime.ParseMediaType(contentType)
			if perr != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				t.Fatalf("accepted content type %q", contentType)
			}
		}
	})
}

// FuzzDecodeBodyAcceptsDocumentedShapes: a body of the documented shape, whatever its
// strings hold, is accepted and read back as sent.
func FuzzDecodeBodyAcceptsDocumentedShapes(f *testing.F) {
	f.Add("totp", "123456", "abcdefghijklmnopqrstuvwxyz", true, false)
	f.Add("backup_codes", "abcd-efgh-jkmn-pqrs", "", false, true)
	f.Add("", "\x00\u2028\"\\", "\xff", false, false)
	f.Fuzz(func(t *testing.T, typ, code, factorID string, remember, isBase64 bool) {
		sent := api.VerifyRequest{Type: typ, Code: code, FactorID: factorID, RememberDevice: remember}
		raw, err := json.Marshal(sent)
		if err != nil || len(raw) > MaxBodyBytes {
			return
		}
		req := events.APIGatewayV2HTTPRequest{Body: string(raw), Headers: map[string]string{"Content-Type": "application/json"}}
		if isBase64 {
			req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(raw), true
		}
		var got api.VerifyRequest
		if err := decodeBody(req, &got); err != nil {
			t.Fatalf("refused %s: %v", raw, err)
		}
		// Marshal replaces invalid UTF-8 with U+FFFD: compare with what was on the wire.
		var want api.VerifyRequest
		if err := json.Unmarshal(raw, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("read back %+v from %s, want %+v (%v)", got, raw, want, err)
		}
	})
}

// refuseStepUp stands in for the mfaToken verifier: no presented token is valid, so a
// request with X-MFA-Token ends in 401 before any handler runs.
type refuseStepUp struct{}

func (refuseStepUp) VerifyMFAToken(string) (mfa.StepUp, error) {
	return mfa.StepUp{}, errors.New("not an mfaToken of this service")
}

// fuzzRoute is a route with what makes it answer before the domain reaches for the store.
type fuzzRoute struct {
	key   string
	idKey string // path parameter holding a generated id, checked before any read; "" if none
	admin bool
}

// fuzzRoutes are the routes whose early refusals the handler fuzz drives. Each one, for the
// callers and path parameters the fuzz builds, refuses the request (bad body, bad user id,
// another user's id, malformed id, missing scope) before the domain touches the store, the
// policy or the clock. The global policy routes are left out: for an admin token nothing
// in the request stops them before the store.
var fuzzRoutes = []fuzzRoute{
	{key: "POST /v1/users/{userId}/enrollments"},
	{key: "POST /v1/users/{userId}/enrollments/{enrollmentId}/complete", idKey: "enrollmentId"},
	{key: "GET /v1/users/{userId}/factors"},
	{key: "DELETE /v1/users/{userId}/factors/{factorId}", idKey: "factorId"},
	{key: "PATCH /v1/users/{userId}/factors/{factorId}", idKey: "factorId"},
	{key: "POST /v1/users/{userId}/backup-codes"},
	{key: "GET /v1/users/{userId}/devices"},
	{key: "DELETE /v1/users/{userId}/devices/{deviceId}", idKey: "deviceId"},
	{key: "POST /v1/users/{userId}/challenges"},
	{key: "POST /v1/users/{userId}/challenges/{challengeId}/deliveries", idKey: "challengeId"},
	{key: "POST /v1/users/{userId}/enrollment-prompt/skip"},
	{key: "POST /v1/users/{userId}/challenges/{challengeId}/verifications", idKey: "challengeId"},
	{key: "GET /v1/admin/users/{userId}", admin: true},
	{key: "POST /v1/admin/users/{userId}/factors", admin: true},
	{key: "DELETE /v1/admin/users/{userId}/factors/{factorId}", idKey: "factorId", admin: true},
	{key: "DELETE /v1/admin/users/{userId}/factors", admin: true},
	{key: "POST /v1/admin/users/{userId}/unlock", admin: true},
	{key: "GET /v1/admin/users/{userId}/devices", admin: true},
	{key: "DELETE /v1/admin/users/{userId}/devices", admin: true},
	{key: "DELETE /v1/admin/users/{userId}/devices/{deviceId}", idKey: "deviceId", admin: true},
	{key: "GET /v1/admin/users/{userId}/events", admin: true},
	{key: "GET /v1/admin/organizations/{orgId}/policy", admin: true},
	{key: "PUT /v1/admin/organizations/{orgId}/policy", admin: true},
	{key: "DELETE /v1/admin/organizations/{orgId}/policy", admin: true},
}

// How a fuzzed request is made to fail early.
const (
	refuseBadUserID    = iota // the userId path parameter is no user id
	refuseOtherUser           // a user token on another user's id
	refuseMalformedID         // an authorized caller, a malformed generated id
	refuseNoAdminScope        // an admin route without the admin scope
	refuseNoToken             // no subject in the token
	refuseStepUpToken         // an X-MFA-Token that does not verify
	refuseUnknownRoute        // a route key no function serves
	refuseModes
)

// malformedOrg makes an organization id that the id rule refuses.
func malformedOrg(s string) string {
	if s == "" {
		return "bad org"
	}
	return s + " /"
}

// FuzzHandlerNever500 drives the real handlers with arbitrary bodies, content types, path
// parameters, claims and scopes, shaped so that each request must be refused before the
// domain reaches for the store (the services here have none: reaching it would panic, which the
// handler turns into a 500). Every answer must be a 4xx problem, never a 500.
func FuzzHandlerNever500(f *testing.F) {
	f.Add(uint8(0), uint8(refuseBadUserID), "alice", "bob", "abcdefghijklmnopqrstuvwxyz", "", []byte(`{"type":"totp"}`), "application/json", false)
	f.Add(uint8(1), uint8(refuseMalformedID), "alice", "alice", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", []byte(`{"code":"123456"}`), "", false)
	f.Add(uint8(11), uint8(refuseMalformedID), "me", "alice", "not-an-id", "mfa/service", []byte(`{"type":"totp","code":"123456"}`), "application/json", false)
	f.Add(uint8(8), uint8(refuseOtherUser), "bob", "alice", "", "", []byte(`{"purpose":"sign_in"}`), "application/json", false)
	f.Add(uint8(5), uint8(refuseOtherUser), "bob", "alice", "", "", []byte(""), "", false)
	f.Add(uint8(13), uint8(refuseBadUserID), "a/b", "root", "", "mfa/admin", []byte(`{"type":"email","email":"a@example.com"}`), "application/json", false)
	f.Add(uint8(22), uint8(refuseMalformedID), "acme", "root", "", "mfa/admin", []byte(`{"mode":"required"}`), "application/json", false)
	f.Add(uint8(20), uint8(refuseNoAdminScope), "alice", "alice", "", "mfa/service", []byte(""), "", false)
	f.Add(uint8(3), uint8(refuseNoToken), "alice", "", "abcdefghijklmnopqrstuvwxyz", "", []byte(""), "", false)
	f.Add(uint8(7), uint8(refuseStepUpToken), "alice", "alice", "abcdefghijklmnopqrstuvwxyz", "", []byte(""), "", false)
	f.Add(uint8(0), uint8(refuseUnknownRoute), "alice", "alice", "", "", []byte(`{}`), "", false)
	f.Add(uint8(9), uint8(refuseMalformedID), "alice", "alice", "", "", []byte(base64.StdEncoding.EncodeToString([]byte(`{"factorId":"x"}`))), "application/json", true)
	f.Add(uint8(11), uint8(refuseMalformedID), "alice", "alice", "x", "", []byte(`{"type":"webauthn","credential":{"id":"x","response":{}}}`), "application/json", false)
	f.Add(uint8(4), uint8(refuseMalformedID), "alice", "alice", "x", "", []byte(`{"label":"\u202eevil"}`), "application/json", false)
	f.Add(uint8(0), uint8(refuseOtherUser), "bob", "alice", "", "", []byte(`{"type":`), "application/json", false)
	f.Add(uint8(11), uint8(refuseMalformedID), "alice", "alice", "x", "", []byte(`{"type":"totp"}`), "text/plain", false)
	f.Add(uint8(22), uint8(refuseMalformedID), "acme", "root", "x", "mfa/admin", []byte(`{"mode":"sometimes","extra":1}`), "application/json", false)

	// Services without store, policy or clock: every request below must be refused before
	// it needs one.
	core := &mfa.Core{}
	factors := mfa.NewFactors(core, nil, nil, nil)
	api := &API{
		Service: Services{
			Enrollments: mfa.NewEnrollments(core, nil, nil, factors, nil), Factors: factors,
			Challenges: mfa.NewChallenges(core, nil, nil), Deliveries: mfa.NewDeliveries(core, nil, nil),
			Verifications:  mfa.NewVerifications(core, nil, nil, nil, nil),
			Administration: mfa.NewAdministration(core, nil, nil, factors), PolicyAdmin: mfa.NewPolicyAdmin(core, &mfa.Policies{}),
		},
		StepUp: refuseStepUp{},
		JWKS:   func(context.Context) ([]byte, error) { return nil, errors.New("no keys here") },
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	handler := api.serve(allRoutes(api), true)

	f.Fuzz(func(t *testing.T, routeIdx, mode uint8, userID, sub, id, scope string, body []byte, contentType string, isBase64 bool) {
		r := fuzzRoutes[int(routeIdx)%len(fuzzRoutes)]
		req := events.APIGatewayV2HTTPRequest{
			RouteKey:        r.key,
			Body:            string(body),
			IsBase64Encoded: isBase64,
			Headers:         map[string]string{},
			PathParameters:  map[string]string{},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID:  "fuzz",
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{}}},
				HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{SourceIP: "192.0.2.1", UserAgent: "fuzz"},
			},
		}
		if contentType != "" {
			req.Headers["content-type"] = contentType
		}
		jwt := req.RequestContext.Authorizer.JWT
		scopes := strings.Fields(scope)
		if !mfa.ValidUserID(sub) {
			sub = "alice"
		}
		jwt.Claims["sub"] = sub
		setUser := func(u string) { req.PathParameters["userId"] = u }

		switch mode % refuseModes {
		case refuseBadUserID:
			if mfa.ValidUserID(userID) {
				userID += "/" // never a user id, and never "me"
			}
			setUser(userID)
			if r.admin {
				scopes = append(scopes, ScopeAdmin)
				if strings.Contains(r.key, "{orgId}") {
					req.PathParameters["orgId"] = malformedOrg(id)
				}
			}
			if r.idKey != "" {
				req.PathParameters[r.idKey] = id
			}
		case refuseOtherUser:
			if r.admin {
				// An admin token on an admin route acts on anyone: no refusal to drive.
				scopes = without(scopes, ScopeAdmin)
			}
			scopes = without(scopes, ScopeService)
			if !mfa.ValidUserID(userID) || userID == sub || userID == "me" {
				userID = "other-than-" + sub
			}
			setUser(userID)
			if r.idKey != "" {
				req.PathParameters[r.idKey] = id
			}
		case refuseMalformedID:
			switch {
			case strings.Contains(r.key, "{orgId}"):
				scopes = append(scopes, ScopeAdmin)
				req.PathParameters["orgId"] = malformedOrg(id)
			case r.idKey == "":
				// No generated id to spoil: refuse by user id instead.
				setUser(userID + "\x00")
			default:
				if r.admin {
					scopes = append(scopes, ScopeAdmin)
				} else if !slices.Contains(scopes, ScopeService) && userID != "me" {
					userID = sub // a user token on its own id, so the id check is what refuses
				}
				setUser(userID)
				if mfa.ValidID(id) {
					id = strings.ToUpper(id)
				}
				req.PathParameters[r.idKey] = id
			}
		case refuseNoAdminScope:
			if !r.admin {
				req.RouteKey = fuzzRoutes[len(fuzzRoutes)-1].key // an admin route
			}
			scopes = without(scopes, ScopeAdmin)
			setUser(userID)
			if strings.Contains(req.RouteKey, "{orgId}") {
				req.PathParameters["orgId"] = id
			}
		case refuseNoToken:
			jwt.Claims["sub"] = ""
			setUser(userID)
		case refuseStepUpToken:
			req.Headers["X-MFA-Token"] = "x" + id
			setUser(userID)
		case refuseUnknownRoute:
			req.RouteKey = "POST /v1/users/{userId}/" + id + "unknown"
			setUser(userID)
		}
		jwt.Scopes = scopes

		resp, err := handler(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		checkProblem(t, resp)
	})
}

func allRoutes(a *API) map[string]route {
	all := map[string]route{}
	for _, set := range []map[string]route{a.enrollmentRoutes(), a.challengeRoutes(), a.verifyRoutes(), a.adminRoutes()} {
		for k, v := range set {
			all[k] = v
		}
	}
	return all
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
