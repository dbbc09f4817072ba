package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/infra/bench/runtimeapi"
	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// coldStartEvents names the sample event (under events/) each function gets as its first
// invocation. A function not listed gets the first events/<dir>-*.json.
var coldStartEvents = map[string]string{
	"enrollment":     "enrollment-list-factors.json",
	"challenge":      "challenge-create.json",
	"verify":         "verify-totp.json",
	"admin":          "admin-status.json",
	"jwks":           "jwks-get.json",
	"cognito-define": "cognito-define.json",
	"cognito-create": "cognito-create.json",
	"cognito-verify": "cognito-verify.json",
}

// errNoEvent: a function with neither a sample event nor a GET route to make one up for.
var errNoEvent = errors.New("no sample event")

// firstEvent returns the name and body of the event fn gets first: its sample event from
// events/, or else an API Gateway v2 request for its first GET route in the template (path
// parameters "bench", a user token where the route needs one).
func firstEvent(root string, fn function, routes []samtemplate.Route) (string, []byte, error) {
	name, ok := coldStartEvents[fn.Dir]
	if !ok {
		matches, _ := filepath.Glob(filepath.Join(root, "events", fn.Dir+"-*.json"))
		if exact := filepath.Join(root, "events", fn.Dir+".json"); fileExists(exact) {
			matches = append([]string{exact}, matches...)
		}
		if len(matches) > 0 {
			name = filepath.Base(matches[0])
		}
	}
	if name != "" {
		b, err := os.ReadFile(filepath.Join(root, "events", name))
		return name, b, err
	}
	for _, r := range routes {
		if r.FunctionID != fn.LogicalID || r.Method != "GET" {
			continue
		}
		params := map[string]string{}
		for _, seg := range strings.Split(r.Path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params[strings.Trim(seg, "{}+")] = "bench"
			}
		}
		as := who{}
		if !r.NoAuth {
			as = userToken("bench-user")
		}
		ev := apiEvent(as, r.RouteKey(), params, nil)
		b, err := json.Marshal(ev)
		return "made up: " + r.RouteKey(), b, err
	}
	return "", nil, fmt.Errorf("%w for %s: add events/%s-….json (or an entry to coldStartEvents)", errNoEvent, fn.Dir, fn.Dir)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// ColdStartResult is the cold start of one function.
type ColdStartResult struct {
	Function     string    `json:"function"`
	Event        string    `json:"event"`
	RunsMs       []float64 `json:"runsMs"` // process start → first response received
	MedianMs     float64   `json:"medianMs"`
	MinMs        float64   `json:"minMs"`
	MaxMs        float64   `json:"maxMs"`
	InitMedianMs float64   `json:"initMedianMs"` // process start → first poll for an event
	// PageFaults is the median of the runs' minor page faults (runtimeapi.ColdStart): the
	// pages a cold start touched, which unlike its times do not vary with the machine's load.
	PageFaults int64 `json:"pageFaults"`
	// FreshPageMicros is what a fresh page cost on this machine just before the runs
	// (freshPageMicros): it varies with the host's load, and times with it.
	FreshPageMicros float64 `json:"freshPageMicros"`
	// AWS calls of one cold start through the timing proxy in front of moto (the runs made
	// beside the measured ones, see coldStart): their median total, the median of the time
	// spent in the calls, and the median of each run's total minus that time.
	ProxiedMedianMs float64 `json:"proxiedMedianMs"`
	AWSCalls        int     `json:"awsCalls"`
	// InitWork is the AWS calls made before the function first polled for an event (its init:
	// what it builds once per container), RequestWork those of the first request, e.g.
	// "KMS.Decrypt"; from the last measured run.
	InitWork        []string `json:"initWork"`
	RequestWork     []string `json:"requestWork"`
	AWSMedianMs     float64  `json:"awsMedianMs"`
	ExclAWSMedianMs float64  `json:"exclAwsMedianMs"`
	Outcome         string   `json:"outcome"` // what the function answered, e.g. "HTTP 200"
	Error           string   `json:"error,omitempty"`
	NotMeasured     bool     `json:"notMeasured,omitempty"` // no event to send it

	// Compared is another build of the function measured alternately (-coldstart-compare).
	Compared *ComparedStart `json:"compared,omitempty"`

	// PackageInit is the binary's package initialisers (before main), from one more,
	// untimed start with GODEBUG=inittrace=1 (initwork.go).
	PackageInit      *PackageInit `json:"packageInit,omitempty"`
	PackageInitError string       `json:"packageInitError,omitempty"`
}

// functionEnv is the environment Lambda would give the function (template.yaml's
// variables), pointed at moto. HOME is an empty directory so that no developer AWS config
// is read; the real Lambda environment has none either.
func functionEnv(fn function, endpoint string, res localaws.Resources, home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TZ=:UTC",
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + localaws.Region,
		"AWS_DEFAULT_REGION=" + localaws.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand", // a cold start with its invocation waiting
		"TABLE_NAME=" + res.TableName,
		"KMS_KEY_ID=" + res.KeyArn,
		"EMAIL_SENDER=" + res.SenderEmail,
		"WEBAUTHN_RP_ID=" + rpID,
		"WEBAUTHN_ORIGINS=" + rpOrigin,
		"LOG_LEVEL=INFO",
	}
}

// coldStart runs fn's host binary `runs` times (after one unmeasured run that warms the
// page cache) and keeps the median.
//
// Each measured run is two cold starts, in turn (which goes first alternates): one with the
// function talking to moto directly (env), whose times and page faults are the figures the
// budget is held to, and one through the timing proxy (proxiedEnv), which splits its time
// into the AWS calls and the function's own. The proxy is a loopback hop and a new connection
// to moto per call: it adds a few milliseconds to a cold start, which the budget must not
// pay.
//
// prepare, when set, makes each run's event (untimed) in place of the sample event: for a
// function whose sample cannot be answered for real (see verifyColdStartEvent).
//
// compare, when set, is another build of the function (e.g. with other dependency versions):
// it is cold-started as often, alternating with bin run by run (and which goes first), so
// that both see the same host; its figures go to Compared.
func coldStart(ctx context.Context, root string, fn function, routes []samtemplate.Route, bin string, env, proxiedEnv []string, proxy *awsProxy, runs int, prepare *eventMaker, compare string) ColdStartResult {
	r := ColdStartResult{Function: fn.Dir}
	name, event, err := firstEvent(root, fn, routes)
	if prepare != nil {
		name, err = prepare.name, nil
	}
	if err != nil {
		r.Error, r.NotMeasured = err.Error(), errors.Is(err, errNoEvent)
		return r
	}
	r.Event = name
	r.FreshPageMicros = freshPageMicros()
	inv := runtimeapi.Invocation{
		Event:       event,
		FunctionARN: "arn:aws:lambda:" + localaws.Region + ":123456789012:function:" + fn.LogicalID,
		Timeout:     10 * time.Second, // template.yaml Globals.Function.Timeout
	}
	type start struct {
		path    string
		proxied bool
	}
	var own, other coldSamples
	var otherOutcome string
	for i := 0; i <= runs; i++ {
		order := []start{{bin, false}, {bin, true}}
		if compare != "" {
			order = append(order, start{compare, false}, start{compare, true})
		}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, st := range order {
			if prepare != nil {
				if inv.Event, err = prepare.make(); err != nil {
					r.Error = "preparing the event: " + err.Error()
					return r
				}
			}
			runEnv := env
			if st.proxied {
				runEnv = proxiedEnv
			}
			runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			proxy.reset()
			started := time.Now()
			cs, err := runtimeapi.RunColdStart(runCtx, runtimeapi.Process{Path: st.path, Env: runEnv}, inv)
			cancel()
			inAWS, calls := proxy.take()
			initWork, requestWork := proxy.split(started.Add(cs.Init))
			if err == nil && cs.Result.InitError {
				err = errors.New("init error: " + string(cs.Result.Payload))
			}
			if err != nil {
				if st.path != bin {
					err = fmt.Errorf("compared build %s: %w", st.path, err)
				}
				r.Error = err.Error()
				return r
			}
			samples := &own
			if st.path != bin {
				samples, otherOutcome = &other, outcome(cs.Result)
			} else {
				r.Outcome = outcome(cs.Result)
			}
			if i == 0 {
				continue
			}
			if !st.proxied {
				samples.add(cs)
				continue
			}
			samples.addProxied(cs, inAWS)
			if st.path == bin {
				r.AWSCalls = calls
				r.InitWork, r.RequestWork = initWork, requestWork
			}
		}
	}
	if pi, err := tracePackageInit(ctx, runtimeapi.Process{Path: bin, Env: env}, inv); err != nil {
		r.PackageInitError = err.Error()
	} else {
		r.PackageInit = &pi
	}
	r.RunsMs = own.totals
	r.MedianMs, r.MinMs, r.MaxMs = median(own.totals), minOf(own.totals), maxOf(own.totals)
	r.InitMedianMs = median(own.inits)
	r.PageFaults = int64(median(own.faults))
	r.ProxiedMedianMs = median(own.proxiedTotals)
	r.AWSMedianMs, r.ExclAWSMedianMs = median(own.aws), median(own.exclAWS)
	if compare != "" {
		r.Compared = &ComparedStart{
			Binary: compare, MedianMs: median(other.totals), MinMs: minOf(other.totals),
			AWSMedianMs: median(other.aws), ExclAWSMedianMs: median(other.exclAWS),
			PageFaults: int64(median(other.faults)), Outcome: otherOutcome,
		}
	}
	return r
}

// ComparedStart is the cold start of another build of a function, measured alternately with
// the tree's (make bench's -coldstart-compare).
type ComparedStart struct {
	Binary          string  `json:"binary"`
	MedianMs        float64 `json:"medianMs"`
	MinMs           float64 `json:"minMs"`
	AWSMedianMs     float64 `json:"awsMedianMs"`
	ExclAWSMedianMs float64 `json:"exclAwsMedianMs"`
	PageFaults      int64   `json:"pageFaults"`
	Outcome         string  `json:"outcome"`
}

// coldSamples are the measured runs of one binary: the direct ones' times and page faults,
// and the proxied ones' totals split into AWS calls and the rest.
type coldSamples struct {
	totals, inits, faults       []float64
	proxiedTotals, aws, exclAWS []float64
}

func (s *coldSamples) add(cs runtimeapi.ColdStart) {
	s.totals = append(s.totals, ms(cs.Total))
	s.inits = append(s.inits, ms(cs.Init))
	s.faults = append(s.faults, float64(cs.PageFaults))
}

func (s *coldSamples) addProxied(cs runtimeapi.ColdStart, inAWS time.Duration) {
	s.proxiedTotals = append(s.proxiedTotals, ms(cs.Total))
	s.aws = append(s.aws, ms(inAWS))
	s.exclAWS = append(s.exclAWS, ms(cs.Total-inAWS))
}

// renderComparison prints each function's cold start next to that of its compared build.
func renderComparison(w io.Writer, cs []ColdStartResult) {
	tw := table(w)
	header := false
	for _, c := range cs {
		o := c.Compared
		if c.Error != "" || o == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nCompared builds (-coldstart-compare), cold-started alternately with the tree's, run by run: tree → compared.")
			fmt.Fprintln(tw, "function\tmedian\texcl AWS\tpage faults\tcompared answer\tcompared build")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%.1f → %.1f ms\t%.1f → %.1f ms\t%d → %d\t%s\t%s\n", c.Function, c.MedianMs, o.MedianMs, c.ExclAWSMedianMs, o.ExclAWSMedianMs, c.PageFaults, o.PageFaults, trimOutcome(o.Outcome), o.Binary)
	}
	tw.Flush()
}

// awsProxy sits between the cold-started functions and moto and times every AWS call, so a
// cold start can be split into the function's own time and the time it waited on (local)
// AWS. It adds a loopback hop and a connection to moto per call: a few milliseconds a cold
// start, so the budgeted runs go to moto directly (coldStart).
type awsProxy struct {
	ln    net.Listener
	srv   *http.Server
	mu    sync.Mutex
	busy  unionTimer
	calls int
	log   []awsCall
}

type awsCall struct {
	name string
	at   time.Time
}

func startAWSProxy(target string) (*awsProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &awsProxy{ln: ln}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.busy.start(time.Now())
		p.calls++
		p.log = append(p.log, awsCall{operationName(r), time.Now()})
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.busy.stop(time.Now())
			p.mu.Unlock()
		}()
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *awsProxy) URL() string { return "http://" + p.ln.Addr().String() }
func (p *awsProxy) Close()      { p.srv.Close() }

func (p *awsProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy.total, p.calls, p.log = 0, 0, nil
}

// split names the calls since reset made before and after t.
func (p *awsProxy) split(t time.Time) (before, after []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before, after = []string{}, []string{}
	for _, c := range p.log {
		if c.at.Before(t) {
			before = append(before, c.name)
		} else {
			after = append(after, c.name)
		}
	}
	return before, after
}

// operationName names an AWS call as "Service.Operation": from X-Amz-Target for the JSON
// protocols (DynamoDB, KMS), else from the signing scope's service and the request path.
func operationName(r *http.Request) string {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		service, op, _ := strings.Cut(target, ".")
		switch {
		case strings.HasPrefix(service, "DynamoDB"):
			service = "DynamoDB"
		case service == "TrentService":
			service = "KMS"
		}
		return service + "." + op
	}
	service := "AWS"
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(scope, "/"); len(parts) >= 4 {
			service = parts[3]
		}
	}
	return service + " " + r.Method + " " + r.URL.Path
}

// take returns the time spent in AWS calls since reset, and their number.
func (p *awsProxy) take() (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy.total, p.calls
}

// outcome summarises a function's answer: the HTTP status of an API Gateway response, the
// error of a failed invocation, or "ok".
func outcome(r runtimeapi.Result) string {
	if r.Failed {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(r.Payload, &e)
		return "error: " + e.ErrorMessage
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(r.Payload, &resp) == nil && resp.StatusCode != 0 {
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal([]byte(resp.Body), &p) == nil && p.Code != "" {
			return fmt.Sprintf("HTTP %d %s", resp.StatusCode, p.Code)
		}
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return "ok"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v[1:] {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}

func trimOutcome(s string) string {
	if len(s) > 48 {
		return s[:47] + "…"
	}
	return strings.TrimSpace(s)
}

// eventMaker makes a fresh first event for every cold start of a function.
type eventMaker struct {
	name string
	make func() ([]byte, error)
}

// freshTOTPSignIn is a sign-in waiting for its answer: through the in-process app, a new user
// (so the time step answered is unused) binds an authenticator and a sign-in challenge is
// opened; code is the answer for the next time step (the enrollment used this one).
func freshTOTPSignIn(a *app.App, n int) (uid, challengeID, factorID, code string, err error) {
	uid = fmt.Sprintf("cold-verify-%d-%d", time.Now().UnixNano(), n)
	out, err := call(a.API.Enrollment(), apiEvent(userToken(uid), "POST /v1/users/{userId}/enrollments", map[string]string{"userId": uid}, map[string]any{"type": "totp", "label": "Phone"}), 201)
	if err != nil {
		return "", "", "", "", err
	}
	secret, err := decodeSecret(str(out, "totp", "secret"))
	if err != nil {
		return "", "", "", "", err
	}
	out, err = call(a.API.Enrollment(), completeEvent(uid, str(out, "enrollmentId"), map[string]any{"code": totpCode(secret, time.Now())}), 200)
	if err != nil {
		return "", "", "", "", err
	}
	// A returning user, as nearly every sign-in is: one earlier sign-in from the same device and
	// address (with a backup code, so the TOTP steps stay free), which the service remembers for
	// adaptive MFA. A first sign-in from a new device or address also writes that memory: a
	// transaction of three items instead of one write.
	var backupID string
	first, err := call(a.API.Challenge(), apiEvent(userToken(uid), "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{"purpose": "sign_in"}), 201)
	if err != nil {
		return "", "", "", "", err
	}
	for _, f := range first["factors"].([]any) {
		if m := f.(map[string]any); m["type"] == "backup_codes" {
			backupID, _ = m["id"].(string)
		}
	}
	codes, _ := out["backupCodes"].([]any)
	if backupID == "" || len(codes) == 0 {
		return "", "", "", "", fmt.Errorf("the cold-start user has no backup codes to sign in with: %v", first)
	}
	if _, err := call(a.API.Verify(), verifyEvent(uid, str(first, "challengeId"), map[string]any{"type": "backup_codes", "factorId": backupID, "code": codes[0]}), 200); err != nil {
		return "", "", "", "", err
	}
	ch, err := call(a.API.Challenge(), apiEvent(userToken(uid), "POST /v1/users/{userId}/challenges", map[string]string{"userId": uid}, map[string]any{"purpose": "sign_in"}), 201)
	if err != nil {
		return "", "", "", "", err
	}
	// ±1 step is accepted, and the next one is unused.
	return uid, str(ch, "challengeId"), str(out, "factor", "id"), totpCode(secret, time.Now().Add(30*time.Second)), nil
}

// verifyColdStartEvent makes the verify function's first event a real TOTP answer. Its sample
// event (events/verify-totp.json) cannot carry a challenge id this deployment's key signed,
// so answering it measures a 404 with no request-time AWS call; each run answers a fresh
// sign-in instead (a returning user's, see freshTOTPSignIn), so the function's first request
// does what a sign-in's verify does.
func verifyColdStartEvent(a *app.App) *eventMaker {
	n := 0
	return &eventMaker{name: "a returning user's TOTP sign-in answer (made for each run)", make: func() ([]byte, error) {
		n++
		uid, cid, fid, code, err := freshTOTPSignIn(a, n)
		if err != nil {
			return nil, err
		}
		return json.Marshal(verifyEvent(uid, cid, map[string]any{"type": "totp", "factorId": fid, "code": code}))
	}}
}

// cognitoVerifyColdStartEvent is verifyColdStartEvent for the Cognito verify trigger: its
// sample event (events/cognito-verify.json) with a fresh sign-in's challenge and answer.
func cognitoVerifyColdStartEvent(a *app.App, sample []byte) *eventMaker {
	n := 0
	return &eventMaker{name: "cognito-verify.json answering a returning user's TOTP sign-in (made for each run)", make: func() ([]byte, error) {
		n++
		uid, cid, fid, code, err := freshTOTPSignIn(a, n)
		if err != nil {
			return nil, err
		}
		var ev events.CognitoEventUserPoolsVerifyAuthChallenge
		if err := json.Unmarshal(sample, &ev); err != nil {
			return nil, err
		}
		ev.Request.UserAttributes = map[string]string{"sub": uid, "cognito:user_status": "CONFIRMED"}
		ev.Request.PrivateChallengeParameters = map[string]string{"challengeId": cid, "factorId": fid, "factorType": "totp"}
		ev.Request.ChallengeAnswer = code
		return json.Marshal(ev)
	}}
}
