package localapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestResponseMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		resp        events.APIGatewayV2HTTPResponse
		wantStatus  int
		wantType    string
		wantBody    string
		wantCookies []string
		wantMulti   []string
	}{
		{
			name:       "defaults: 200 and application/json",
			resp:       events.APIGatewayV2HTTPResponse{Body: `{"a":1}`},
			wantStatus: http.StatusOK, wantType: "application/json", wantBody: `{"a":1}`,
		},
		{
			name: "headers, multi-value headers and cookies",
			resp: events.APIGatewayV2HTTPResponse{
				StatusCode:        http.StatusCreated,
				Headers:           map[string]string{"content-type": "application/problem+json", "Content-Length": "999"},
				MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
				Cookies:           []string{"s=1; HttpOnly; Secure", "t=2"},
				Body:              `{"b":2}`,
			},
			wantStatus: http.StatusCreated, wantType: "application/problem+json", wantBody: `{"b":2}`,
			wantCookies: []string{"s=1; HttpOnly; Secure", "t=2"}, wantMulti: []string{"a", "b"},
		},
		{
			name:       "base64 text body is decoded",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 204, IsBase64Encoded: true, Body: ""},
			wantStatus: http.StatusNoContent, wantType: "application/json", wantBody: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			s.funcs["Echo"].respond = func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return tc.resp, nil
			}
			rec := s.do(newRequest(http.MethodPost, "/echo", nil))
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.wantType {
				t.Errorf("content-type = %q, want %q", ct, tc.wantType)
			}
			if got := rec.Header().Values("Set-Cookie"); !slices.Equal(got, tc.wantCookies) {
				t.Errorf("set-cookie = %q, want %q", got, tc.wantCookies)
			}
			if got := rec.Header().Values("X-Multi"); !slices.Equal(got, tc.wantMulti) {
				t.Errorf("x-multi = %q, want %q", got, tc.wantMulti)
			}
			if cl := rec.Header().Get("Content-Length"); cl == "999" {
				t.Error("handler's content-length passed through")
			}
		})
	}
}

func TestHandlerFailuresBecome500(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		respond func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	}{
		{"error", func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "partial"}, errBoom
		}},
		{"panic", func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			panic("kaboom")
		}},
		{"body not base64", func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{IsBase64Encoded: true, Body: "%%%"}, nil
		}},
		{"invalid status", func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 42}, nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			s.funcs["Echo"].respond = tc.respond
			rec := s.do(newRequest(http.MethodPost, "/echo", nil))
			if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"message":"Internal Server Error"}` {
				t.Errorf("got %d %s, want API Gateway's 500", rec.Code, rec.Body)
			}
			if !strings.Contains(s.logs.String(), `"msg":"handler failed"`) {
				t.Errorf("failure not logged: %s", s.logs)
			}
		})
	}
}
