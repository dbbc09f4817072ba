package localapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	published := []Event{
		{ID: "1", DetailType: "Factor Bound", Source: "mfa-service", Time: "2026-12-06T20:00:00Z", Detail: json.RawMessage(`{"userId":"alice"}`)},
		{ID: "2", DetailType: "Policy Changed", Source: "mfa-service", Time: "2026-12-06T20:00:01Z", Detail: json.RawMessage(`{"policy":{"scope":"global"}}`)},
		{ID: "3", DetailType: "User Locked", Source: "mfa-service", Time: "2026-12-06T20:00:02Z", Detail: json.RawMessage(`{"userId":"bob"}`)},
	}
	tests := []struct {
		name   string
		events func(context.Context) ([]Event, error)
		query  string
		want   int
		body   string
	}{
		{"events off", nil, "", 200, `{"events":[]}`},
		{"all", func(context.Context) ([]Event, error) { return published, nil }, "", 200,
			`{"events":[{"id":"1","detail-type":"Factor Bound","source":"mfa-service","time":"2026-12-06T20:00:00Z","detail":{"userId":"alice"}},` +
				`{"id":"2","detail-type":"Policy Changed","source":"mfa-service","time":"2026-12-06T20:00:01Z","detail":{"policy":{"scope":"global"}}},` +
				`{"id":"3","detail-type":"User Locked","source":"mfa-service","time":"2026-12-06T20:00:02Z","detail":{"userId":"bob"}}]}`},
		{"one user", func(context.Context) ([]Event, error) { return published, nil }, "?userId=bob", 200,
			`{"events":[{"id":"3","detail-type":"User Locked","source":"mfa-service","time":"2026-12-06T20:00:02Z","detail":{"userId":"bob"}}]}`},
		{"failing", func(context.Context) ([]Event, error) { return nil, errBoom }, "", 500, `{"message":"Internal Server Error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, func(o *Options) { o.Events = tc.events })
			rec := s.do(newRequest(http.MethodGet, "/local/events"+tc.query, nil))
			if rec.Code != tc.want || rec.Body.String() != tc.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tc.want, tc.body)
			}
		})
	}
	s := newStack(t)
	if rec := s.do(newRequest(http.MethodPost, "/local/events", nil)); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /local/events: %d", rec.Code)
	}
}
