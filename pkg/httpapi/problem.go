package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// statusOf is the one place where an error kind becomes an HTTP status.
func statusOf(k mfa.Kind) int {
	switch k {
	case mfa.KindInvalid:
		return http.StatusBadRequest
	case mfa.KindUnauthenticated:
		return http.StatusUnauthorized
	case mfa.KindForbidden:
		return http.StatusForbidden
	case mfa.KindNotFound:
		return http.StatusNotFound
	case mfa.KindConflict:
		return http.StatusConflict
	case mfa.KindGone:
		return http.StatusGone
	case mfa.KindTooManyAttempts:
		return http.StatusTooManyRequests
	case mfa.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// transportError is a problem that only the transport can see: sizes, media types, routes.
type transportError struct {
	status  int
	code    string
	message string
}

func (e *transportError) Error() string { return e.code + ": " + e.message }

// Transport problem codes.
const (
	codeBodyTooLarge     = "body_too_large"
	codeInvalidJSON      = "invalid_json"
	codeUnknownField     = "unknown_field"
	codeUnsupportedMedia = "unsupported_media_type"
	codeRouteNotFound    = "route_not_found"
)

// problemResponse renders err as RFC 9457 problem+json: the one place where an error becomes
// a status, a problem body (api.Problem) and its headers. Internal causes are never rendered.
func problemResponse(err error, requestID string) (events.APIGatewayV2HTTPResponse, *mfa.Error) {
	headers := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
	var p api.Problem
	var te *transportError
	var de *mfa.Error
	if errors.As(err, &te) {
		p.Status, p.Code, p.Detail = te.status, te.code, te.message
	} else {
		de = mfa.AsError(err)
		p.Status, p.Code, p.Detail, p.Field = statusOf(de.Kind), de.Code, de.Message, de.Field
		p.AttemptsRemaining, p.Limit = de.AttemptsRemaining, de.SendLimit
		if de.Lock != nil {
			// null: only an administrator can unlock. Whole seconds, as Retry-After.
			p.LockedUntil = &api.NullTime{}
			if !de.Lock.Permanent {
				p.LockedUntil.Time = de.Lock.Until.UTC().Truncate(time.Second)
			}
		}
		if de.RetryAfter > 0 {
			headers["Retry-After"] = strconv.Itoa(int(de.RetryAfter.Seconds()))
		}
	}
	p.Type = api.ProblemType(p.Code)
	p.Title = http.StatusText(p.Status)
	if requestID != "" {
		p.Instance = api.ProblemInstance(requestID)
	}
	raw, _ := json.Marshal(p)
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: string(raw)}, de
}
