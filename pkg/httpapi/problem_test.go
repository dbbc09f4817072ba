package httpapi

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// The problem bodies are exact: the domain says what happened (kind, code, field and the
// facts a caller acts on), and this package alone writes status, members and headers.
func TestProblemBodies(t *testing.T) {
	until := time.Date(2026, 12, 6, 23, 1, 30, 999_000_000, time.FixedZone("CET", 3600))
	three := 3
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		body       string
		retryAfter string
	}{
		{"verification failed", &mfa.Error{Kind: mfa.KindUnauthenticated, Code: mfa.CodeVerificationFailed, Message: "the code is not valid", AttemptsRemaining: &three},
			401, `{"attemptsRemaining":3,"code":"verification_failed","detail":"the code is not valid","instance":"urn:request:r1","status":401,"title":"Unauthorized","type":"urn:mfa:problem:verification_failed"}`, ""},
		{"enrollment code refused, with its field", &mfa.Error{Kind: mfa.KindInvalid, Code: mfa.CodeVerificationFailed, Message: "the code does not match", Field: "code", AttemptsRemaining: new(0)},
			400, `{"attemptsRemaining":0,"code":"verification_failed","detail":"the code does not match","field":"code","instance":"urn:request:r1","status":400,"title":"Bad Request","type":"urn:mfa:problem:verification_failed"}`, ""},
		{"locked for a time", &mfa.Error{Kind: mfa.KindTooManyAttempts, Code: mfa.CodeTooManyAttempts, Message: "too many failed attempts; try again later", RetryAfter: 90 * time.Second, Lock: &mfa.Lock{Until: until}},
			429, `{"code":"too_many_attempts","detail":"too many failed attempts; try again later","instance":"urn:request:r1","lockedUntil":"2026-12-06T22:01:30Z","status":429,"title":"Too Many Requests","type":"urn:mfa:problem:too_many_attempts"}`, "90"},
		{"locked until an admin unlocks", &mfa.Error{Kind: mfa.KindTooManyAttempts, Code: mfa.CodeTooManyAttempts, Message: "locked", RetryAfter: time.Hour, Lock: &mfa.Lock{Permanent: true}},
			429, `{"code":"too_many_attempts","detail":"locked","instance":"urn:request:r1","lockedUntil":null,"status":429,"title":"Too Many Requests","type":"urn:mfa:problem:too_many_attempts"}`, "3600"},
		{"send limited", &mfa.Error{Kind: mfa.KindTooManyAttempts, Code: mfa.CodeSendLimited, Message: "wait", RetryAfter: 30 * time.Second, SendLimit: "cooldown"},
			429, `{"code":"send_limited","detail":"wait","instance":"urn:request:r1","limit":"cooldown","status":429,"title":"Too Many Requests","type":"urn:mfa:problem:send_limited"}`, "30"},
		{"transport", &transportError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "send the body as application/json"},
			415, `{"code":"unsupported_media_type","detail":"send the body as application/json","instance":"urn:request:r1","status":415,"title":"Unsupported Media Type","type":"urn:mfa:problem:unsupported_media_type"}`, ""},
		{"internal cause never shown", errors.New("dynamodb: secret table name"),
			500, `{"code":"internal","detail":"internal error","instance":"urn:request:r1","status":500,"title":"Internal Server Error","type":"urn:mfa:problem:internal"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := problemResponse(tc.err, "r1")
			if resp.StatusCode != tc.status || resp.Body != tc.body {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, resp.Body, tc.status, tc.body)
			}
			if resp.Headers["Retry-After"] != tc.retryAfter || resp.Headers["Content-Type"] != "application/problem+json" || resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("headers %v", resp.Headers)
			}
		})
	}
	if resp, _ := problemResponse(mfa.Invalid(mfa.CodeInvalidRequest, "type", "type is required"), ""); resp.Body != `{"code":"invalid_request","detail":"type is required","field":"type","status":400,"title":"Bad Request","type":"urn:mfa:problem:invalid_request"}` {
		t.Errorf("without a request id: %s", resp.Body)
	}
}
