package localapi

import (
	"bytes"
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestEventShape(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	req := newRequest(http.MethodPost, "/v1/users/u%20one/enrollments?b=2&a=1&a=3&e=x%26y", strings.NewReader(`{"type":"totp"}`),
		append(bearer(s.token(t, TokenRequest{Sub: "u one"})),
			"Content-Type", "application/json",
			"X-Custom", "one",
			"X-Custom", "two",
			"X-Forwarded-For", "203.0.113.9",
			"Cookie", "a=1; b=2",
			"User-Agent", "test-agent/1.0",
		)...)
	req.Host = "localhost:3000"
	req.RemoteAddr = "192.0.2.10:5555"

	rec := s.do(req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	ev := s.funcs["Enrollment"].only(t)
	rc := ev.RequestContext

	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /v1/users/{userId}/enrollments"},
		{"requestContext.routeKey", rc.RouteKey, "POST /v1/users/{userId}/enrollments"},
		{"rawPath", ev.RawPath, "/v1/users/u%20one/enrollments"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=3&e=x%26y"},
		{"pathParameters", ev.PathParameters, map[string]string{"userId": "u one"}},
		{"queryStringParameters", ev.QueryStringParameters, map[string]string{"a": "1,3", "b": "2", "e": "x&y"}},
		{"cookies", ev.Cookies, []string{"a=1", "b=2"}},
		{"header x-custom", ev.Headers["x-custom"], "one,two"},
		{"header content-type", ev.Headers["content-type"], "application/json"},
		{"header host", ev.Headers["host"], "localhost:3000"},
		{"header x-forwarded-for", ev.Headers["x-forwarded-for"], "203.0.113.9, 192.0.2.10"},
		{"body", ev.Body, `{"type":"totp"}`},
		{"isBase64Encoded", ev.IsBase64Encoded, false},
		{"accountId", rc.AccountID, "000000000000"},
		{"apiId", rc.APIID, "local"},
		{"stage", rc.Stage, "$default"},
		{"domainName", rc.DomainName, "localhost:3000"},
		{"domainPrefix", rc.DomainPrefix, "localhost"},
		{"time", rc.Time, "31/Dec/2025:23:00:00 +0000"},
		{"timeEpoch", rc.TimeEpoch, testNow.UnixMilli()},
		{"requestId", rc.RequestID, rec.Header().Get("Apigw-Requestid")},
		{"http.method", rc.HTTP.Method, "POST"},
		{"http.path", rc.HTTP.Path, "/v1/users/u%20one/enrollments"},
		{"http.protocol", rc.HTTP.Protocol, "HTTP/1.1"},
		{"http.sourceIp", rc.HTTP.SourceIP, "192.0.2.10"},
		{"http.userAgent", rc.HTTP.UserAgent, "test-agent/1.0"},
		{"claims.sub", rc.Authorizer.JWT.Claims["sub"], "u one"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for name := range ev.Headers {
		if name != strings.ToLower(name) {
			t.Errorf("header %q is not lower case", name)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header kept; API Gateway moves it to cookies")
	}
	if rc.RequestID == "" {
		t.Error("empty requestId")
	}
	lc, ok := lambdacontext.FromContext(s.funcs["Enrollment"].ctxs[0])
	if !ok || lc.AwsRequestID != rc.RequestID {
		t.Errorf("lambda context = %+v, want the request id %q", lc, rc.RequestID)
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]string:
		return maps.Equal(a, b.(map[string]string))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return a == b
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, target string
		wantFn         string // "" → 404
		wantParams     map[string]string
	}{
		{"GET", "/v1/users/u1/factors/f1", "Factor", map[string]string{"userId": "u1", "factorId": "f1"}},
		{"GET", "/v1/users/u1/factors/latest", "Latest", map[string]string{"userId": "u1"}},
		{"GET", "/v1/users/a%2Fb/factors/f%C3%A9", "Factor", map[string]string{"userId": "a/b", "factorId": "fé"}},
		{"GET", "/files/a/b%20c/d.txt", "Files", map[string]string{"path": "a/b c/d.txt"}},
		{"DELETE", "/files/x", "Files", map[string]string{"path": "x"}},
		{"GET", "/files/", "", nil},
		{"GET", "/files", "", nil},
		{"GET", "/v1/users//factors/f1", "", nil},
		{"GET", "/v1/users/u1/factors/f1/", "", nil},
		{"GET", "/v1/users/u1/factors", "", nil},
		{"POST", "/v1/users/u1/factors/f1", "", nil},
		{"GET", "/nowhere", "", nil},
		{"GET", "/local/other", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			rec := s.do(newRequest(tc.method, tc.target, nil, bearer(s.token(t, TokenRequest{Sub: "u1"}))...))
			if tc.wantFn == "" {
				if rec.Code != http.StatusNotFound || rec.Body.String() != `{"message":"Not Found"}` ||
					rec.Header().Get("Content-Type") != "application/json" {
					t.Fatalf("got %d %s (%s), want API Gateway's 404", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
				}
				for name, f := range s.funcs {
					if f.calls() != 0 {
						t.Errorf("%s called", name)
					}
				}
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
			}
			if got := s.funcs[tc.wantFn].only(t).PathParameters; !maps.Equal(got, tc.wantParams) {
				t.Errorf("pathParameters = %v, want %v", got, tc.wantParams)
			}
		})
	}
}

func TestBinaryBodyRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	payload := []byte{0x00, 0x01, 0xfe, 0xff, 'P', 'N', 'G', 0x0d, 0x0a}
	s.funcs["Files"].respond = func(ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      http.StatusCreated,
			Headers:         map[string]string{"Content-Type": "application/octet-stream"},
			Body:            ev.Body, // still base64: echo it back as binary
			IsBase64Encoded: true,
		}, nil
	}
	rec := s.do(newRequest(http.MethodPut, "/files/blob.bin", bytes.NewReader(payload), "Content-Type", "application/octet-stream"))

	ev := s.funcs["Files"].only(t)
	if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(payload) {
		t.Errorf("event body = %q (base64 %v), want base64 of the payload", ev.Body, ev.IsBase64Encoded)
	}
	if rec.Code != http.StatusCreated || !bytes.Equal(rec.Body.Bytes(), payload) {
		t.Errorf("response = %d %x, want 201 %x", rec.Code, rec.Body.Bytes(), payload)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("content-type = %q", ct)
	}
}

func TestBodyEncodingByContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		contentType string
		text        bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/problem+json", true},
		{"application/x-www-form-urlencoded", true},
		{"text/plain; charset=utf-8", true},
		{"TEXT/HTML", true},
		{"application/octet-stream", false},
		{"image/png", false},
		{"multipart/form-data; boundary=x", false},
		{"not a media type;;", false},
	}
	for _, tc := range tests {
		body, b64 := encodeBody(tc.contentType, []byte("héllo"))
		if b64 == tc.text {
			t.Errorf("%q: isBase64Encoded = %v, want %v", tc.contentType, b64, !tc.text)
		}
		if tc.text && body != "héllo" {
			t.Errorf("%q: body = %q, want it as is", tc.contentType, body)
		}
	}
	if body, b64 := encodeBody("image/png", nil); body != "" || b64 {
		t.Errorf("empty body = %q, %v; want empty text", body, b64)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"at the limit", maxRequestBody, false, http.StatusOK},
		{"over the limit", maxRequestBody + 1, false, http.StatusRequestEntityTooLarge},
		{"over the limit, no content-length", maxRequestBody + 1, true, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			req := newRequest(http.MethodPost, "/echo", bytes.NewReader(make([]byte, tc.size)), "Content-Type", "application/octet-stream")
			if tc.chunked {
				req.ContentLength = -1
			}
			rec := s.do(req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if tc.want == http.StatusOK {
				return
			}
			if rec.Body.String() != `{"message":"Request Entity Too Large"}` {
				t.Errorf("body = %s", rec.Body)
			}
			if s.funcs["Echo"].calls() != 0 {
				t.Error("handler called for an oversized body")
			}
		})
	}
}
