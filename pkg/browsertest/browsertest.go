// Package browsertest runs browser tests from Go: it starts Debian's headless Chromium for
// one test, drives it over the DevTools protocol (chromedp), gives it virtual WebAuthn
// authenticators, and evaluates page JavaScript with Go errors for JS exceptions.
//
// Chromium comes from the project's own `make tools` (Debian's chromium package); a test
// that cannot find it fails with that advice, it never skips.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// startTimeout bounds the launch of the browser; a healthy one answers in well under a second.
const startTimeout = 30 * time.Second

// closeTimeout bounds the graceful close in cleanup, after which chromedp kills the browser.
const closeTimeout = 10 * time.Second

// debianBinary is what Debian's /usr/bin/chromium launcher script execs, after it has added
// the flags of /etc/chromium.d (--enable-remote-extensions, --enable-gpu-rasterization,
// --load-extension=, ...) and exported Google API keys. Tests run the binary itself, so that
// the browser gets exactly the flags Start passes.
const debianBinary = "/usr/lib/chromium/chromium"

// flags are the command-line flags Start passes to Chromium. chromedp adds the
// --user-data-dir (a fresh temporary directory), --remote-debugging-pipe and about:blank.
var flags = []string{
	"headless",
	"no-sandbox", // tests run as root, where the sandbox refuses to start
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"no-first-run",
	"disable-quic",
}

// Start launches headless Chromium for the test and returns a chromedp context for its first
// tab. The browser has no deadline of its own; derive one per step with context.WithTimeout.
// t.Cleanup closes the browser, kills what is left of it and removes its temporary
// user data directory.
func Start(t testing.TB) context.Context {
	t.Helper()
	exe := Executable(t)

	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe)}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	out := new(lockedBuffer)
	opts = append(opts, chromedp.CombinedOutput(out))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, closeTimeout)
		defer cancel()
		// Cancel closes gracefully and reports a user data directory it could not remove.
		err := chromedp.Cancel(cctx)
		cancelCtx()
		cancelAlloc() // waits until the process is reaped and the directory removed
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("browsertest: closing Chromium: %v", err)
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("browsertest: Chromium output:\n%s", out.String())
		}
	})

	// The first run binds the browser's life to the context it is given, so it must be ctx
	// itself, not a context with a deadline; the timer below bounds a launch that hangs.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: starting %s: %v\n%s", exe, err, out.String())
		}
	case <-timer.C:
		cancelCtx()
		<-started
		t.Fatalf("browsertest: %s did not start within %v\n%s", exe, startTimeout, out.String())
	}
	return ctx
}

// Executable returns the Chromium binary to run: $CHROMIUM (a path or a name on PATH) as
// given, else /usr/bin/chromium, chromium or chromium-browser on PATH. Debian's launcher
// script is replaced by the binary it runs (see debianBinary). When none is found the test
// fails, telling to run `make tools`.
func Executable(t testing.TB) string {
	t.Helper()
	path, err := findExecutable()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return path
}

func findExecutable() (string, error) {
	if name := os.Getenv("CHROMIUM"); name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM=%q is not an executable (unset it to use Debian's chromium): %w", name, err)
		}
		return path, nil
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return unwrapLauncher(path), nil
		}
	}
	return "", errors.New("no Chromium found (looked at $CHROMIUM, /usr/bin/chromium, and chromium, chromium-browser on PATH); run `make tools`, which installs Debian's chromium package")
}

// unwrapLauncher returns debianBinary for a launcher script when that binary is installed,
// and path otherwise.
func unwrapLauncher(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return path
	}
	defer f.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "#!" {
		return path
	}
	if real, err := exec.LookPath(debianBinary); err == nil {
		return real
	}
	return path
}

// JSError is a JavaScript exception, or a rejected promise, met by Eval.
type JSError struct {
	// Message is the exception without its stack, e.g. "NotAllowedError: The operation
	// either timed out or was not allowed. ...".
	Message string
	Details *runtime.ExceptionDetails
}

func (e *JSError) Error() string { return "js: " + e.Message }

// Eval evaluates a JavaScript expression in the page, waits for it when it is a promise, and
// decodes its JSON value into out (nil ignores the value). A thrown exception or a rejected
// promise comes back as a *JSError.
func Eval(ctx context.Context, js string, out any) error {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if ee, ok := errors.AsType[*chromedp.ExceptionError](err); ok {
		return &JSError{Message: exceptionMessage(ee.ExceptionDetails), Details: ee.ExceptionDetails}
	}
	if err != nil {
		return fmt.Errorf("browsertest: evaluating script: %w", err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		return errors.New("browsertest: script returned undefined, want a JSON value")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("browsertest: decoding script result %.200s: %w", raw, err)
	}
	return nil
}

// exceptionMessage is the thrown value as a developer would read it in the console.
func exceptionMessage(d *runtime.ExceptionDetails) string {
	if ex := d.Exception; ex != nil {
		if ex.Description != "" {
			// An Error's description is "Name: message" followed by "    at ..." frames.
			msg, _, _ := strings.Cut(ex.Description, "\n    at ")
			return msg
		}
		if len(ex.Value) > 0 { // a thrown primitive, e.g. throw "no"
			var s string
			if json.Unmarshal(ex.Value, &s) == nil {
				return s
			}
			return string(ex.Value)
		}
	}
	return d.Text
}

// Screenshot writes a PNG of the tab's viewport to path.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// lockedBuffer collects the browser's output, which chromedp writes from its own goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
