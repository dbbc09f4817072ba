package runtimeapi

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Process is a function binary to run as Lambda would run a bootstrap.
type Process struct {
	Path string
	Args []string
	// Env is the function's whole environment; AWS_LAMBDA_RUNTIME_API is added to it.
	Env []string
}

// ColdStart is one timed start of a function process.
type ColdStart struct {
	Result Result
	// Init is from just before the process was started to its first poll for an event:
	// runtime start-up plus the function's init code (config, clients, keys).
	Init time.Duration
	// Total is from just before the process was started to the moment the whole response
	// to the first event had arrived.
	Total time.Duration
	// Output is what the process wrote to stdout and stderr (its logs).
	Output string
	// PageFaults is the process's minor page faults, start to kill (0 where the platform
	// does not count them): every page it touched for the first time, its heap above all.
	// On a VM where a fresh page costs microseconds, this is what an init pays for, and
	// unlike the times it does not vary with the machine's load.
	PageFaults int64
}

// RunColdStart starts p against a fresh Runtime API, hands it inv as its first event, and
// returns once the function has answered it (or reported an init error). The process is then
// killed: the measurement is of one cold start. ctx bounds the whole run.
func RunColdStart(ctx context.Context, p Process, inv Invocation) (ColdStart, error) {
	srv, err := Start()
	if err != nil {
		return ColdStart{}, err
	}
	defer srv.Close()
	results := srv.Submit(inv)

	var out lockedBuffer
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(append([]string{}, p.Env...), "AWS_LAMBDA_RUNTIME_API="+srv.Addr())
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ColdStart{}, fmt.Errorf("runtimeapi: start %s: %w", p.Path, err)
	}
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// Only the process started here, by its own handle; it is reaped by the goroutine.
		_ = cmd.Process.Kill()
		<-exited
	}

	select {
	case r, ok := <-results:
		stop()
		if !ok {
			return ColdStart{}, fmt.Errorf("runtimeapi: %s: runtime API closed before an answer", p.Path)
		}
		cs := ColdStart{Result: r, Total: r.DoneAt.Sub(start), Output: out.String(), PageFaults: minorFaults(cmd.ProcessState)}
		if fp := srv.FirstPoll(); !fp.IsZero() {
			cs.Init = fp.Sub(start)
		}
		return cs, nil
	case err := <-exited:
		return ColdStart{}, fmt.Errorf("runtimeapi: %s exited before answering its first event (%v); output:\n%s", p.Path, err, tail(out.String(), 4000))
	case <-ctx.Done():
		stop()
		return ColdStart{}, fmt.Errorf("runtimeapi: %s did not answer its first event: %w; output:\n%s", p.Path, ctx.Err(), tail(out.String(), 4000))
	}
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// lockedBuffer collects a child's stdout and stderr, which exec copies from two goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
