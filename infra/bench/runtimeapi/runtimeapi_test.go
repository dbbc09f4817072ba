package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// helperEnv makes the test binary act as a Lambda function (real aws-lambda-go runtime
// client) instead of running the tests, so the emulator is checked against the client the
// functions use.
const helperEnv = "RUNTIMEAPI_TEST_FUNCTION"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Fprintln(os.Stderr, "helper: failing at init")
		os.Exit(3)
	case "touch":
		// An init that touches touchedBytes of fresh memory, one byte a page.
		touched := make([]byte, touchedBytes)
		for i := 0; i < len(touched); i += os.Getpagesize() {
			touched[i] = 1
		}
		lambda.Start(func(context.Context, map[string]any) (int, error) { return len(touched), nil })
	default:
		lambda.Start(func(ctx context.Context, ev map[string]any) (map[string]any, error) {
			if ev["fail"] == true {
				return nil, errors.New("asked to fail")
			}
			lc, _ := lambdacontext.FromContext(ctx)
			dl, ok := ctx.Deadline()
			return map[string]any{
				"echo": ev["msg"], "requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
				"deadlineInFuture": ok && time.Until(dl) > 0 && time.Until(dl) <= 10*time.Second,
			}, nil
		})
	}
}

func TestProtocolByHand(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("listens on %s, want loopback", s.Addr())
	}
	base := "http://" + s.Addr() + "/2018-06-01/runtime/"
	if !s.FirstPoll().IsZero() {
		t.Fatal("first poll set before any poll")
	}

	res := s.Submit(Invocation{Event: []byte(`{"a":1}`), FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f", Timeout: 3 * time.Second})
	before := time.Now()
	resp, err := http.Get(base + "invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"a":1}` {
		t.Fatalf("next: %d %q", resp.StatusCode, body)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if len(id) != 36 {
		t.Fatalf("request id %q", id)
	}
	if got := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); got != "arn:aws:lambda:us-east-1:123456789012:function:f" {
		t.Fatalf("arn %q", got)
	}
	ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.UnixMilli(ms).Sub(before); d < 2*time.Second || d > 4*time.Second {
		t.Fatalf("deadline %v from now, want about 3 s", d)
	}
	if resp.Header.Get("Lambda-Runtime-Trace-Id") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", resp.Header)
	}
	if s.FirstPoll().IsZero() {
		t.Fatal("first poll not recorded")
	}

	// An unknown id is refused; the right one is accepted with 202.
	if code := post(t, base+"invocation/nope/response", "x"); code != http.StatusBadRequest {
		t.Fatalf("unknown id: %d", code)
	}
	if code := post(t, base+"invocation/"+id+"/response", `{"ok":true}`); code != http.StatusAccepted {
		t.Fatalf("response: %d", code)
	}
	r := <-res
	if r.RequestID != id || string(r.Payload) != `{"ok":true}` || r.Failed || r.DoneAt.Before(r.TakenAt) {
		t.Fatalf("result %+v", r)
	}
	// The id is used up.
	if code := post(t, base+"invocation/"+id+"/response", `{}`); code != http.StatusBadRequest {
		t.Fatalf("second answer: %d", code)
	}

	// An error answer.
	res = s.Submit(Invocation{Event: []byte(`{}`)})
	resp, err = http.Get(base + "invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id = resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	req, _ := http.NewRequest(http.MethodPost, base+"invocation/"+id+"/error", strings.NewReader(`{"errorMessage":"boom"}`))
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.Boom")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error: %d", resp.StatusCode)
	}
	if r := <-res; !r.Failed || r.ErrorType != "Runtime.Boom" || !strings.Contains(string(r.Payload), "boom") {
		t.Fatalf("error result %+v", r)
	}

	// An init error reaches an invocation nobody took.
	res = s.Submit(Invocation{Event: []byte(`{}`)})
	if code := post(t, base+"init/error", `{"errorMessage":"no config"}`); code != http.StatusAccepted {
		t.Fatalf("init error: %d", code)
	}
	if r := <-res; !r.InitError || !r.Failed {
		t.Fatalf("init error result %+v", r)
	}

	if code := post(t, "http://"+s.Addr()+"/2018-06-01/runtime/invocation/next", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST next: %d", code)
	}
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNextWaitsForAnEvent(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/2018-06-01/runtime/invocation/next")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	select {
	case g := <-got:
		t.Fatalf("next answered %q with nothing queued", g)
	case <-time.After(150 * time.Millisecond):
	}
	s.Submit(Invocation{Event: []byte(`"late"`)})
	select {
	case g := <-got:
		if g != `"late"` {
			t.Fatalf("next: %q", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("next never answered")
	}
}

func TestCloseReleasesWaiters(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	res := s.Submit(Invocation{Event: []byte(`{}`)})
	s.Close()
	if _, ok := <-res; ok {
		t.Fatal("a result from a closed server")
	}
	if _, err := s.Invoke(context.Background(), Invocation{Event: []byte(`{}`)}); err == nil {
		t.Fatal("Invoke on a closed server succeeded")
	}
}

func helper(mode string) Process {
	return Process{Path: os.Args[0], Env: append(os.Environ(), helperEnv+"="+mode)}
}

// TestRealRuntimeClient runs the aws-lambda-go runtime loop (in a child process: the test
// binary itself) against the emulator.
func TestRealRuntimeClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arn := "arn:aws:lambda:us-east-1:123456789012:function:helper"
	cs, err := RunColdStart(ctx, helper("function"), Invocation{Event: []byte(`{"msg":"hi"}`), FunctionARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(cs.Result.Payload, &out); err != nil {
		t.Fatalf("payload %q: %v", cs.Result.Payload, err)
	}
	if cs.Result.Failed || out["echo"] != "hi" || out["arn"] != arn || out["requestId"] != cs.Result.RequestID || out["deadlineInFuture"] != true {
		t.Fatalf("result %+v payload %v", cs.Result, out)
	}
	if cs.Init <= 0 || cs.Total < cs.Init {
		t.Fatalf("timings init %v total %v", cs.Init, cs.Total)
	}

	cs, err = RunColdStart(ctx, helper("function"), Invocation{Event: []byte(`{"fail":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !cs.Result.Failed || !strings.Contains(string(cs.Result.Payload), "asked to fail") {
		t.Fatalf("error result %+v %q", cs.Result, cs.Result.Payload)
	}
}

const touchedBytes = 8 << 20

// A cold start reports the process's page faults, and they grow with the fresh memory its init
// touches.
func TestColdStartCountsPageFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plain, err := RunColdStart(ctx, helper("function"), Invocation{Event: []byte(`{"msg":"hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	touching, err := RunColdStart(ctx, helper("touch"), Invocation{Event: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(touching.Result.Payload) != strconv.Itoa(touchedBytes) {
		t.Fatalf("touching helper answered %q", touching.Result.Payload)
	}
	pages := int64(touchedBytes / os.Getpagesize())
	if plain.PageFaults <= 0 || touching.PageFaults-plain.PageFaults < pages*8/10 {
		t.Fatalf("page faults: %d plain, %d after touching %d more pages", plain.PageFaults, touching.PageFaults, pages)
	}
}

func TestProcessExitingBeforeAnswering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := RunColdStart(ctx, helper("exit"), Invocation{Event: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "failing at init") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := RunColdStart(context.Background(), Process{Path: "/nonexistent/bootstrap"}, Invocation{Event: []byte(`{}`)})
	if err == nil {
		t.Fatal("no error for a missing binary")
	}
}
