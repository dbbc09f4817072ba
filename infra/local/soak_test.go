package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak is issue 9's bounded soak: many users at once walk full journeys through the
// local gateway (dev token, TOTP enrollment, sign-ins, wrong answers, a backup-code sign-in,
// an admin status read; a few also get an admin-bound email factor and sign in with the code
// from the outbox). It asserts no 5xx, exactly-once consumption of TOTP steps and backup and
// email codes, and per-user failure counters equal to the wrong answers each user made since
// their last success. It reports journeys per second and latency percentiles.
//
// Bounds: SOAK_DURATION (default 8s) of load, SOAK_USERS (default 16) concurrent users,
// SOAK_MAX_REQUESTS (default 20000) requests at most. Load goes to the loopback stack only
// and stops by itself; `make soak` runs the long version.
func TestSoak(t *testing.T) {
	cfg := soakConfigFromEnv(t)
	// Thousands of requests: the handlers log only warnings and errors (read at app.New).
	t.Setenv("LOG_LEVEL", "WARN")
	s := newStack(t)
	admin := s.client(t, "soak-admin", "mfa/admin")

	// Everything stops by itself: the load at cfg.duration, every request at hardStop.
	hardStop := cfg.duration + 60*time.Second
	ctx, cancel := context.WithTimeout(t.Context(), hardStop)
	defer cancel()
	l := &soakLoad{
		cfg:   cfg,
		base:  s.URL,
		admin: admin.token,
		ctx:   ctx,
		hc: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 2*cfg.users + 8, MaxIdleConnsPerHost: 2*cfg.users + 8, IdleConnTimeout: 30 * time.Second,
		}},
		run:     fmt.Sprintf("soak%d", time.Now().UnixNano()%1_000_000),
		latency: map[string][]time.Duration{},
		users:   map[string]soakExpect{},
	}
	defer l.hc.CloseIdleConnections()

	start := time.Now()
	deadline := start.Add(cfg.duration)
	var wg sync.WaitGroup
	for w := range cfg.users {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			for j := 0; l.mayStart(deadline) && ctx.Err() == nil && l.errors.Load() < 20; j++ {
				if !l.reserve() {
					return
				}
				sub := fmt.Sprintf("%s-w%d-j%d", l.run, w, j)
				// A few journeys, spread over the run, go by email.
				email := (w+j)%8 == 3 && l.emailStarted.Add(1) <= cfg.maxEmail
				t0 := time.Now()
				if err := l.journey(sub, email, rng); err != nil {
					l.fail(fmt.Errorf("%s: %w", sub, err))
					continue
				}
				l.finished(t0, email)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	// With the load stopped, every user's status is read once more: nothing may have moved
	// since the user's own journey checked it.
	l.sweep()

	l.report(t, start, elapsed)
	if n := l.fiveXX.Load(); n != 0 {
		t.Errorf("%d responses were 5xx", n)
	}
	for _, e := range l.errs {
		t.Error(e)
	}
	if more := l.errors.Load() - int64(len(l.errs)); more > 0 {
		t.Errorf("… and %d more errors", more)
	}
	if l.journeys.Load() == 0 {
		t.Fatal("no journey completed")
	}
	if cfg.users > 3 && !l.capped.Load() && l.emailJourneys.Load() == 0 { // worker 3's first journey goes by email
		t.Error("no email journey completed")
	}
}

type soakConfig struct {
	duration    time.Duration
	users       int
	maxRequests int64
	maxEmail    int64 // email journeys at most: each reads the outbox, moto's slow data.json
}

func soakConfigFromEnv(t *testing.T) soakConfig {
	t.Helper()
	c := soakConfig{duration: 8 * time.Second, users: 16, maxRequests: 20000}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			t.Fatalf("SOAK_DURATION=%q: want a duration up to 1h, like 60s", v)
		}
		c.duration = d
	}
	if v := os.Getenv("SOAK_MAX_REQUESTS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < soakJourneyRequests || n > 1_000_000 {
			t.Fatalf("SOAK_MAX_REQUESTS=%q: want %d to 1000000", v, soakJourneyRequests)
		}
		c.maxRequests = n
	}
	if v := os.Getenv("SOAK_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			t.Fatalf("SOAK_USERS=%q: want 1 to 500", v)
		}
		c.users = n
	}
	c.maxEmail = 2 + int64(c.duration/(10*time.Second))
	return c
}

// soakExpect is what a user's admin status must say once the user's journey is over.
type soakExpect struct {
	failed     int // wrong answers since the last success
	backupLeft int
	factors    int
}

type soakLoad struct {
	cfg   soakConfig
	base  string
	admin string
	ctx   context.Context
	hc    *http.Client
	run   string

	reserved, requests, fiveXX, errors    atomic.Int64
	journeys, emailJourneys, emailStarted atomic.Int64
	capped                                atomic.Bool // a journey was not started for the request cap
	outbox                                sync.Mutex  // one outbox read at a time

	mu      sync.Mutex
	latency map[string][]time.Duration // per request, by operation; "journey" is a whole journey
	ends    []time.Time                // when each journey finished
	errs    []string
	users   map[string]soakExpect
}

// mayStart says whether a journey started now is likely to end by the deadline: the load,
// tail included, stays within SOAK_DURATION unless journeys slow down on the way.
func (l *soakLoad) mayStart(deadline time.Time) bool {
	l.mu.Lock()
	typical := time.Duration(0)
	if ds := l.latency["journey"]; len(ds) > 0 {
		sorted := slices.Clone(ds)
		slices.Sort(sorted)
		typical = sorted[len(sorted)/2]
	}
	l.mu.Unlock()
	return time.Now().Add(typical).Before(deadline)
}

func (l *soakLoad) finished(start time.Time, email bool) {
	l.journeys.Add(1)
	if email {
		l.emailJourneys.Add(1)
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latency["journey"] = append(l.latency["journey"], now.Sub(start))
	l.ends = append(l.ends, now)
}

// soakJourneyRequests bounds the requests of one journey (24 at most with email and the most
// wrong answers) plus its status read after the load; a journey starts only when that many
// are left under the cap, so the cap is never passed.
const soakJourneyRequests = 32

func (l *soakLoad) reserve() bool {
	if l.reserved.Add(soakJourneyRequests) > l.cfg.maxRequests {
		l.reserved.Add(-soakJourneyRequests)
		l.capped.Store(true)
		return false
	}
	return true
}

func (l *soakLoad) fail(err error) {
	l.errors.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, err.Error())
	}
}

type soakResp struct {
	status int
	body   map[string]any
}

func (r soakResp) str(k string) string { s, _ := r.body[k].(string); return s }

// do sends one request and records its latency under op. A transport error or a body that is
// not JSON is an error; a 5xx is counted and is an error too.
func (l *soakLoad) do(op, method, path, token string, body any) (soakResp, error) {
	if l.requests.Add(1) > l.cfg.maxRequests {
		return soakResp{}, fmt.Errorf("%s %s: over the cap of %d requests", method, path, l.cfg.maxRequests)
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return soakResp{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(l.ctx, method, l.base+path, rd)
	if err != nil {
		return soakResp{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	t0 := time.Now()
	resp, err := l.hc.Do(req)
	if err != nil {
		return soakResp{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return soakResp{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	l.mu.Lock()
	l.latency[op] = append(l.latency[op], d)
	l.mu.Unlock()
	out := soakResp{status: resp.StatusCode}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			return out, fmt.Errorf("%s %s: %d, not JSON: %.200q", method, path, resp.StatusCode, raw)
		}
	}
	if resp.StatusCode >= 500 {
		l.fiveXX.Add(1)
		return out, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out.body)
	}
	return out, nil
}

// expect is do that also wants a given status (and, for problems, a given code).
func (l *soakLoad) expect(want int, wantCode, op, method, path, token string, body any) (soakResp, error) {
	r, err := l.do(op, method, path, token, body)
	if err != nil {
		return r, err
	}
	if r.status != want || (wantCode != "" && r.str("code") != wantCode) {
		return r, fmt.Errorf("%s %s: %d %v, want %d %s", method, path, r.status, r.body, want, wantCode)
	}
	return r, nil
}

// journey is one user's life: enroll TOTP, sign in with it (the same code sent twice at once
// is accepted once), answer wrongly, perhaps sign in by email, sign in with a backup code
// (a second use is refused), answer wrongly again, and an admin reads the status.
func (l *soakLoad) journey(sub string, email bool, rng *rand.Rand) error {
	tok, err := l.expect(200, "", "token", "POST", "/local/token", "", map[string]any{"sub": sub})
	if err != nil {
		return err
	}
	token := tok.str("access_token")
	failed := 0 // this user's wrong answers since the last success, as the server must count them
	newChallenge := func() (soakResp, error) {
		ch, err := l.expect(201, "", "challenge", "POST", "/v1/users/me/challenges", token, map[string]any{"purpose": "sign_in"})
		if err == nil && ch.body["mfaRequired"] != true {
			err = fmt.Errorf("challenge of an enrolled user: %v", ch.body)
		}
		return ch, err
	}
	verify := func(chID string, body map[string]any) (soakResp, error) {
		return l.do("verify", "POST", "/v1/users/me/challenges/"+chID+"/verifications", token, body)
	}
	wrong := func(chID string, body map[string]any) error {
		r, err := verify(chID, body)
		if err != nil {
			return err
		}
		if r.status != 401 || r.str("code") != "verification_failed" {
			return fmt.Errorf("wrong answer %v: %d %v, want 401 verification_failed", body, r.status, r.body)
		}
		failed++
		return nil
	}

	// Enroll with the current step's code.
	enr, err := l.expect(201, "", "enroll", "POST", "/v1/users/me/enrollments", token, map[string]any{"type": "totp", "label": "Phone"})
	if err != nil {
		return err
	}
	totp, _ := enr.body["totp"].(map[string]any)
	b32, _ := totp["secret"].(string)
	secret, err := soakB32(b32)
	if err != nil {
		return fmt.Errorf("enrollment secret %q: %w", b32, err)
	}
	enrolledStep := time.Now().Unix() / 30
	done, err := l.expect(200, "", "complete", "POST", "/v1/users/me/enrollments/"+enr.str("enrollmentId")+"/complete", token,
		map[string]any{"code": soakCodeAt(secret, enrolledStep)})
	if err != nil {
		return err
	}
	fac, _ := done.body["factor"].(map[string]any)
	totpID, _ := fac["id"].(string)
	var backup []string
	for _, c := range asSlice(done.body["backupCodes"]) {
		s, _ := c.(string)
		backup = append(backup, s)
	}
	if totpID == "" || len(backup) != 10 {
		return fmt.Errorf("complete: want a factor and 10 backup codes: %v", done.body)
	}
	factors := 2 // totp and the backup set

	// Sign in: the same code on two fresh challenges at once. A step is accepted once per
	// factor, so exactly one succeeds; the other is a replay, a wrong answer counted after
	// that success. The step is a later one than the enrollment's (the window is ±1).
	step := max(enrolledStep+1, time.Now().Unix()/30)
	signIn := map[string]any{"type": "totp", "factorId": totpID, "code": soakCodeAt(secret, step)}
	ch1, err := newChallenge()
	if err != nil {
		return err
	}
	if ch1.str("defaultFactorId") != totpID {
		return fmt.Errorf("default factor %q, want the TOTP %s: %v", ch1.str("defaultFactorId"), totpID, ch1.body)
	}
	ch2, err := newChallenge()
	if err != nil {
		return err
	}
	var pair [2]soakResp
	var pairErr [2]error
	var pwg sync.WaitGroup
	ids := [2]string{ch1.str("challengeId"), ch2.str("challengeId")}
	for i, id := range ids {
		pwg.Go(func() { pair[i], pairErr[i] = verify(id, signIn) })
	}
	pwg.Wait()
	if err := errors.Join(pairErr[:]...); err != nil {
		return err
	}
	ok, refused, chID := 0, 0, ""
	for i, r := range pair {
		switch {
		case r.status == 200 && r.str("mfaToken") != "":
			ok++
		case r.status == 401 && r.str("code") == "verification_failed":
			refused++
			chID = ids[i] // still open, with one wrong answer
		}
	}
	if ok != 1 || refused != 1 {
		return fmt.Errorf("one TOTP code sent twice at once: %d accepted, %d refused (%d %v / %d %v), want exactly one each",
			ok, refused, pair[0].status, pair[0].body, pair[1].status, pair[1].body)
	}
	failed = 1
	// And the step stays used: the same code again, after the success, is refused too.
	if err := wrong(chID, signIn); err != nil {
		return fmt.Errorf("replayed TOTP step: %w", err)
	}
	// A few plain wrong codes on that challenge (at most 4 wrong in a row: 5 would lock).
	for range rng.IntN(3) {
		if err := wrong(chID, map[string]any{"type": "totp", "factorId": totpID, "code": soakWrongCode(secret, rng)}); err != nil {
			return err
		}
	}

	// A few users lost their phone: an admin binds their email and they sign in with the
	// code from the outbox; the code is used once.
	if email {
		if err := l.emailSignIn(sub, token, newChallenge, verify); err != nil {
			return err
		}
		failed = 0
		factors++
	}

	// A backup-code sign-in, typed in upper case without dashes half of the time.
	ch, err := newChallenge()
	if err != nil {
		return err
	}
	used := backup[rng.IntN(len(backup))]
	typed := used
	if rng.IntN(2) == 0 {
		typed = strings.ToUpper(strings.ReplaceAll(used, "-", ""))
	}
	r, err := verify(ch.str("challengeId"), map[string]any{"type": "backup_codes", "code": typed})
	if err != nil {
		return err
	}
	if r.status != 200 || r.str("mfaToken") == "" || r.body["backupCodesRemaining"] != float64(9) {
		return fmt.Errorf("backup-code sign-in: %d %v, want 200 with 9 codes left", r.status, r.body)
	}
	failed = 0
	// The code is spent: a second use is refused (and counts as a wrong answer).
	ch, err = newChallenge()
	if err != nil {
		return err
	}
	chID = ch.str("challengeId")
	if err := wrong(chID, map[string]any{"type": "backup_codes", "code": used}); err != nil {
		return fmt.Errorf("backup code used twice: %w", err)
	}
	for range rng.IntN(4) {
		body := map[string]any{"type": "totp", "factorId": totpID, "code": soakWrongCode(secret, rng)}
		if rng.IntN(2) == 0 {
			body = map[string]any{"type": "backup_codes", "code": soakWrongBackup(rng)}
		}
		if err := wrong(chID, body); err != nil {
			return err
		}
	}

	want := soakExpect{failed: failed, backupLeft: 9, factors: factors}
	l.mu.Lock()
	l.users[sub] = want
	l.mu.Unlock()
	return l.checkStatus(sub, want)
}

// emailSignIn: an admin binds an email factor for the user, the user asks for a code on a
// fresh challenge, reads it from the outbox and signs in; the same code again is refused.
func (l *soakLoad) emailSignIn(sub, token string, newChallenge func() (soakResp, error), verify func(string, map[string]any) (soakResp, error)) error {
	addr := strings.ToLower(sub) + "@example.com"
	bound, err := l.expect(201, "", "bind", "POST", "/v1/admin/users/"+sub+"/factors", l.admin, map[string]any{"type": "EmailVerificationCode", "email": addr})
	if err != nil {
		return err
	}
	f, _ := bound.body["factor"].(map[string]any)
	emailID, _ := f["id"].(string)
	ch, err := newChallenge()
	if err != nil {
		return err
	}
	offered := false
	for _, o := range asSlice(ch.body["factors"]) {
		if m, _ := o.(map[string]any); m["id"] == emailID && m["type"] == "email" {
			offered = true
		}
	}
	if !offered {
		return fmt.Errorf("admin-bound email %s not offered: %v", emailID, ch.body)
	}
	chID := ch.str("challengeId")
	if _, err := l.expect(202, "", "delivery", "POST", "/v1/users/me/challenges/"+chID+"/deliveries", token, map[string]any{"factorId": emailID}); err != nil {
		return err
	}
	code, err := l.outboxCode(addr)
	if err != nil {
		return err
	}
	answer := map[string]any{"type": "email", "factorId": emailID, "code": code}
	r, err := verify(chID, answer)
	if err != nil {
		return err
	}
	if r.status != 200 || r.str("mfaToken") == "" {
		return fmt.Errorf("email sign-in: %d %v", r.status, r.body)
	}
	// The challenge is answered and the code consumed: the same code again is refused
	// without counting (nothing is compared on a closed challenge).
	r, err = verify(chID, answer)
	if err != nil {
		return err
	}
	if r.status != 410 || r.str("code") != "challenge_closed" {
		return fmt.Errorf("email code used twice: %d %v, want 410 challenge_closed", r.status, r.body)
	}
	return nil
}

// outboxCode reads the newest code sent to addr from GET /local/outbox. One read at a time:
// each makes moto dump everything it holds.
func (l *soakLoad) outboxCode(addr string) (string, error) {
	l.outbox.Lock()
	defer l.outbox.Unlock()
	box, err := l.expect(200, "", "outbox", "GET", "/local/outbox", "", nil)
	if err != nil {
		return "", err
	}
	found := ""
	for _, m := range asSlice(box.body["messages"]) {
		msg, _ := m.(map[string]any)
		if dest, _ := msg["destination"].(string); strings.EqualFold(dest, addr) {
			body, _ := msg["body"].(string)
			if c := sixDigitCode.FindString(body); c != "" {
				found = c
			}
		}
	}
	if found == "" {
		return "", fmt.Errorf("no code sent to %s in the outbox", addr)
	}
	return found, nil
}

// checkStatus reads the user's admin status and compares it with what the journey expects.
func (l *soakLoad) checkStatus(sub string, want soakExpect) error {
	st, err := l.expect(200, "", "status", "GET", "/v1/admin/users/"+sub, l.admin, nil)
	if err != nil {
		return err
	}
	got := soakExpect{backupLeft: -1}
	if n, ok := st.body["failedAttempts"].(float64); ok {
		got.failed = int(n)
	}
	if n, ok := st.body["backupCodesRemaining"].(float64); ok {
		got.backupLeft = int(n)
	}
	got.factors = len(asSlice(st.body["factors"]))
	if got != want || st.body["lockedUntil"] != nil || st.body["lastVerifiedAt"] == nil {
		return fmt.Errorf("admin status: failedAttempts %d, backupCodesRemaining %d, %d factors, lockedUntil %v; want %d, %d, %d, not locked: %v",
			got.failed, got.backupLeft, got.factors, st.body["lockedUntil"], want.failed, want.backupLeft, want.factors, st.body)
	}
	return nil
}

// sweep checks every finished user's status again, a few at a time.
func (l *soakLoad) sweep() {
	l.mu.Lock()
	subs := make([]string, 0, len(l.users))
	for sub := range l.users {
		subs = append(subs, sub)
	}
	l.mu.Unlock()
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(8, l.cfg.users) {
		wg.Go(func() {
			for sub := range work {
				l.mu.Lock()
				want := l.users[sub]
				l.mu.Unlock()
				if err := l.checkStatus(sub, want); err != nil {
					l.fail(fmt.Errorf("%s after the load: %w", sub, err))
				}
			}
		})
	}
	for _, sub := range subs {
		if l.ctx.Err() != nil {
			break
		}
		work <- sub
	}
	close(work)
	wg.Wait()
}

func (l *soakLoad) report(t *testing.T, start time.Time, elapsed time.Duration) {
	t.Helper()
	j := l.journeys.Load()
	capped := ""
	if l.capped.Load() {
		capped = ", reached"
	}
	t.Logf("soak: %d users for %s (cap %d requests%s): %d journeys (%d with email), %d requests, %d errors, %d 5xx",
		l.cfg.users, elapsed.Round(time.Millisecond), l.cfg.maxRequests, capped, j, l.emailJourneys.Load(), l.requests.Load(), l.errors.Load(), l.fiveXX.Load())
	t.Logf("soak: %.2f journeys/s, %.1f requests/s", float64(j)/elapsed.Seconds(), float64(l.requests.Load())/elapsed.Seconds())
	l.mu.Lock()
	defer l.mu.Unlock()
	// Journeys finished in each quarter of the run: a steady soak keeps its pace.
	var quarters [4]int
	for _, end := range l.ends {
		quarters[min(3, int(4*end.Sub(start)/elapsed))]++
	}
	t.Logf("soak: journeys finished per quarter of the run: %v", quarters)
	var all []time.Duration
	ops := make([]string, 0, len(l.latency))
	for op, ds := range l.latency {
		if op == "journey" {
			continue
		}
		ops = append(ops, op)
		all = append(all, ds...)
	}
	slices.Sort(ops)
	line := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		pct := func(p float64) time.Duration {
			if len(ds) == 0 {
				return 0
			}
			return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(100 * time.Microsecond)
		}
		t.Logf("soak: %-9s n=%-6d p50=%-8s p90=%-8s p99=%-8s max=%s", name, len(ds), pct(0.50), pct(0.90), pct(0.99), pct(1))
	}
	line("journey", l.latency["journey"])
	line("request", all)
	for _, op := range ops {
		line(op, l.latency[op])
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func soakB32(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// soakCodeAt is the TOTP code of a time step.
func soakCodeAt(secret []byte, step int64) string {
	return code(secret, time.Unix(step*30, 0), 0)
}

// soakWrongCode is a 6-digit code that no step near now accepts.
func soakWrongCode(secret []byte, rng *rand.Rand) string {
	now := time.Now().Unix() / 30
	for {
		c := fmt.Sprintf("%06d", rng.IntN(1_000_000))
		clash := false
		for d := int64(-3); d <= 3; d++ {
			clash = clash || c == soakCodeAt(secret, now+d)
		}
		if !clash {
			return c
		}
	}
}

// soakWrongBackup is a well-formed backup code that is not one of the user's.
func soakWrongBackup(rng *rand.Rand) string {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	var b strings.Builder
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[rng.IntN(len(crockford))])
	}
	return b.String()
}
