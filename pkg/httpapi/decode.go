package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// decodeBody decodes a JSON object strictly: one object, no unknown fields, valid UTF-8,
// at most MaxBodyBytes, and application/json when a content type is given.
func decodeBody(req events.APIGatewayV2HTTPRequest, dst any) error {
	if ct := header(req, "content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &transportError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "send the body as application/json"}
		}
	}
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+3 {
			return tooLarge()
		}
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body is not valid base64"}
		}
		raw = b
	}
	if len(raw) > MaxBodyBytes {
		return tooLarge()
	}
	if !utf8.Valid(raw) {
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body is not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "a JSON object body is required"}
	}
	// Decoding null into a struct is no error and leaves it untouched: a body of null would
	// pass as an empty object.
	if trimmed[0] != '{' {
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body must be a JSON object"}
	}
	if p, ok := dst.(plainBody); ok && p.readPlain(raw) {
		return nil // the plain form, read as the decoder reads it (verifybody.go)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body must hold exactly one JSON object"}
	}
	return nil
}

func tooLarge() error {
	return &transportError{http.StatusRequestEntityTooLarge, codeBodyTooLarge, "the body is larger than 64 KiB"}
}

// jsonProblem turns a decoding error into a problem naming the field, without echoing values.
func jsonProblem(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "field " + typeErr.Field + " must be a " + typeErr.Type.String()}
	case errors.As(err, &syntaxErr):
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body is not valid JSON"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(name) > 64 || !utf8.ValidString(name) {
			name = "(unnamed)"
		}
		return &transportError{http.StatusBadRequest, codeUnknownField, "unknown field: " + name}
	default:
		return &transportError{http.StatusBadRequest, codeInvalidJSON, "the body must be a JSON object of the documented shape"}
	}
}

// header reads a header by lower-case name, as API Gateway v2 delivers them.
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
