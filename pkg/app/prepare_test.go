package app_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/app"
)

type handler func(context.Context, string) (string, error)

// On demand, the handler is built in the background: Prepare returns at once, an invocation
// waits for the build (and only for it), one whose context ends first returns its error, and
// the handler is built once.
func TestPrepareBuildsWhileTheFirstInvocationArrives(t *testing.T) {
	for _, initType := range []string{"on-demand", ""} {
		t.Setenv("AWS_LAMBDA_INITIALIZATION_TYPE", initType)
		release := make(chan struct{})
		var builds atomic.Int32
		h := app.Prepare(func() handler {
			builds.Add(1)
			<-release
			return func(_ context.Context, e string) (string, error) { return "handled " + e, nil }
		})

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if _, err := h(ctx, "early"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%q: an invocation whose context ended during the build: %v", initType, err)
		}
		cancel()

		got := make(chan string, 1)
		go func() {
			out, _ := h(context.Background(), "first")
			got <- out
		}()
		select {
		case out := <-got:
			t.Fatalf("%q: answered %q before the handler was built", initType, out)
		case <-time.After(20 * time.Millisecond):
		}
		close(release)
		if out := <-got; out != "handled first" {
			t.Errorf("%q: first invocation: %q", initType, out)
		}
		if out, err := h(context.Background(), "second"); out != "handled second" || err != nil {
			t.Errorf("%q: second invocation: %q %v", initType, out, err)
		}
		if n := builds.Load(); n != 1 {
			t.Errorf("%q: built %d times", initType, n)
		}
	}
}

// An environment initialised ahead of its invocations builds at init, before Prepare returns:
// nothing is left running when Lambda freezes it.
func TestPrepareBuildsAtInitWhenNothingWaits(t *testing.T) {
	for _, initType := range []string{"provisioned-concurrency", "snap-start", "lambda-managed-instances"} {
		t.Setenv("AWS_LAMBDA_INITIALIZATION_TYPE", initType)
		built := false
		h := app.Prepare(func() handler {
			built = true
			return func(context.Context, string) (string, error) { return "ok", nil }
		})
		if !built {
			t.Errorf("%s: Prepare returned before building", initType)
		}
		if out, err := h(context.Background(), "e"); out != "ok" || err != nil {
			t.Errorf("%s: %q %v", initType, out, err)
		}
	}
}
