package localapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// writeResponse turns a handler's response into HTTP. It validates everything before
// writing so that a malformed response can still become a clean 500.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return fmt.Errorf("invalid statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("body marked isBase64Encoded does not decode: %w", err)
		}
	}
	h := w.Header()
	for k, v := range resp.Headers {
		if !gatewayManaged(k) {
			h.Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			if !gatewayManaged(k) {
				h.Add(k, v)
			}
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json") // API Gateway's default
	}
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing left to do
	return nil
}

// gatewayManaged lists headers the gateway computes itself rather than taking from the
// function.
func gatewayManaged(name string) bool {
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding", "connection":
		return true
	}
	return false
}

// writeMessage writes API Gateway's own error shape: {"message":"Not Found"}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
