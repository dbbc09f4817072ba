package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

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

// problemType makes a problem's type URI from its code; the README lists them all.
func problemType(code string) string { return "urn:mfa:problem:" + code }

// problemResponse renders err as RFC 9457 problem+json. Internal causes are never rendered.
func problemResponse(err error, requestID string) (events.APIGatewayV2HTTPResponse, *mfa.Error) {
	body := map[string]any{}
	headers := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
	var status int
	var te *transportError
	var de *mfa.Error
	if errors.As(err, &te) {
		status = te.status
		body["code"], body["detail"] = te.code, te.message
	} else {
		de = mfa.AsError(err)
		status = statusOf(de.Kind)
		for k, v := range de.Extra {
			body[k] = v
		}
		body["code"], body["detail"] = de.Code, de.Message
		if de.Field != "" {
			body["field"] = de.Field
		}
		if de.RetryAfter > 0 {
			headers["Retry-After"] = strconv.Itoa(int(de.RetryAfter.Seconds()))
		}
	}
	body["type"] = problemType(body["code"].(string))
	body["title"] = http.StatusText(status)
	body["status"] = status
	if requestID != "" {
		body["instance"] = "urn:request:" + requestID
	}
	raw, _ := json.Marshal(body)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: string(raw)}, de
}
