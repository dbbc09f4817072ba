package localapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// TestFunctionDeadlines: with FunctionDeadlines a handler's context ends at its function's
// Timeout, as Lambda's does; without, it has no deadline.
func TestFunctionDeadlines(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := newStack(t, func(o *Options) {
			o.FunctionDeadlines = on
			routes := append([]samtemplate.Route(nil), o.Routes...) // testRoutes stays as it is
			for i := range routes {
				routes[i].Timeout = 10 * time.Second
			}
			o.Routes = routes
		})
		start := time.Now()
		if rec := s.do(newRequest("POST", "/echo", nil)); rec.Code != http.StatusOK {
			t.Fatalf("echo: %d", rec.Code)
		}
		end := time.Now()
		f := s.funcs["Echo"]
		f.mu.Lock()
		deadline, has := f.ctxs[0].Deadline()
		f.mu.Unlock()
		switch {
		case on && (!has || deadline.Before(start.Add(10*time.Second)) || deadline.After(end.Add(10*time.Second))):
			t.Errorf("with function deadlines: deadline %v after the request's start (has %v), want 10s", deadline.Sub(start), has)
		case !on && has:
			t.Errorf("without function deadlines: a deadline %v", deadline)
		}
	}
}
