// Package runtimeapi is a local implementation of the AWS Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), enough of it to run a
// function's real bootstrap binary as Lambda would: the function polls
// GET /2018-06-01/runtime/invocation/next for an event and posts the result to
// /2018-06-01/runtime/invocation/{id}/response (or /error). It exists to time cold starts
// (`make bench`), so every request is stamped with the time it arrived.
package runtimeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the Runtime API version in every path.
const Version = "2018-06-01"

// Header names the runtime client reads (aws-lambda-go's runtime_api_client.go).
const (
	HeaderRequestID   = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs  = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID     = "Lambda-Runtime-Trace-Id"
	HeaderErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// Invocation is one event for the function.
type Invocation struct {
	Event       []byte
	FunctionARN string        // Lambda-Runtime-Invoked-Function-Arn
	Timeout     time.Duration // the deadline is this far from when the function takes the event; default 10 s
}

// Result is what the function answered to one invocation.
type Result struct {
	RequestID string
	Payload   []byte // the response body, or the error document when Failed
	Failed    bool   // posted to /error (or an init error) rather than /response
	ErrorType string // Lambda-Runtime-Function-Error-Type of an error, if sent
	InitError bool   // the function reported an init error before taking any event
	TakenAt   time.Time
	// DoneAt is when the whole response body had arrived.
	DoneAt time.Time
}

// Server is a running Runtime API on a loopback port.
type Server struct {
	ln  net.Listener
	srv *http.Server

	queue  chan *pending
	closed chan struct{}
	once   sync.Once

	mu         sync.Mutex
	inflight   map[string]*pending
	firstPoll  time.Time
	initErr    Result        // valid once initFailed is closed
	initOnce   sync.Once     // guards initFailed
	initFailed chan struct{} // closed when the function reports an init error
}

type pending struct {
	inv    Invocation
	result chan Result
	taken  time.Time
	id     string
}

// Start serves the Runtime API on 127.0.0.1 at a free port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: listen: %w", err)
	}
	s := &Server{
		ln:         ln,
		queue:      make(chan *pending, 16),
		closed:     make(chan struct{}),
		inflight:   map[string]*pending{},
		initFailed: make(chan struct{}),
	}
	mux := http.NewServeMux()
	base := "/" + Version + "/runtime/"
	mux.HandleFunc("GET "+base+"invocation/next", s.next)
	mux.HandleFunc("POST "+base+"invocation/{id}/response", s.respond(false))
	mux.HandleFunc("POST "+base+"invocation/{id}/error", s.respond(true))
	mux.HandleFunc("POST "+base+"init/error", s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving; a function still polling gets its connection closed.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.srv.Close()
}

// FirstPoll is when the function first asked for an event: the end of its init phase.
// It is zero while the function has not polled.
func (s *Server) FirstPoll() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstPoll
}

// Submit queues an invocation; the returned channel receives its result once the function
// has answered it, or the init error the function reported instead. It is closed without a
// result if the server is closed first.
func (s *Server) Submit(inv Invocation) <-chan Result {
	if inv.Timeout <= 0 {
		inv.Timeout = 10 * time.Second
	}
	if inv.FunctionARN == "" {
		inv.FunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:local"
	}
	p := &pending{inv: inv, result: make(chan Result, 1)}
	out := make(chan Result, 1)
	select {
	case s.queue <- p:
	case <-s.closed:
		close(out)
		return out
	}
	go func() {
		select {
		case r := <-p.result:
			out <- r
		case <-s.initFailed:
			out <- s.initErr
		case <-s.closed:
			close(out)
		}
	}()
	return out
}

// Invoke submits one invocation and waits for its result.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	select {
	case r, ok := <-s.Submit(inv):
		if !ok {
			return Result{}, errors.New("runtimeapi: server closed before the function answered")
		}
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	if s.firstPoll.IsZero() {
		s.firstPoll = now
	}
	s.mu.Unlock()
	var p *pending
	select {
	case p = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closed:
		http.Error(w, "runtime API closed", http.StatusGone)
		return
	}
	p.id = newRequestID()
	p.taken = time.Now()
	s.mu.Lock()
	s.inflight[p.id] = p
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRequestID, p.id)
	h.Set(HeaderDeadlineMs, strconv.FormatInt(p.taken.Add(p.inv.Timeout).UnixMilli(), 10))
	h.Set(HeaderFunctionARN, p.inv.FunctionARN)
	hexID := strings.ReplaceAll(p.id, "-", "")
	h.Set(HeaderTraceID, "Root=1-"+strconv.FormatInt(p.taken.Unix(), 16)+"-"+hexID[:24]+";Parent="+hexID[16:]+";Sampled=0")
	w.WriteHeader(http.StatusOK)
	w.Write(p.inv.Event)
}

func (s *Server) respond(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
		done := time.Now()
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 6<<20 {
			// Lambda's synchronous payload limit.
			writeJSONStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
			return
		}
		id := r.PathValue("id")
		s.mu.Lock()
		p, ok := s.inflight[id]
		delete(s.inflight, id)
		s.mu.Unlock()
		if !ok {
			writeJSONStatus(w, http.StatusBadRequest, "InvalidRequestID")
			return
		}
		writeJSONStatus(w, http.StatusAccepted, "OK")
		p.result <- Result{
			RequestID: id, Payload: body, Failed: failed, ErrorType: r.Header.Get(HeaderErrorType),
			TakenAt: p.taken, DoneAt: done,
		}
	}
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSONStatus(w, http.StatusAccepted, "OK")
	res := Result{Payload: body, Failed: true, InitError: true, ErrorType: r.Header.Get(HeaderErrorType), DoneAt: time.Now()}
	s.initOnce.Do(func() {
		s.initErr = res
		close(s.initFailed)
	})
}

func writeJSONStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q}`, status)
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
