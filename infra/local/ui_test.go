package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/mfa-service/mfa/pkg/browsertest"
)

// The browser tests of the reference pages (pkg/webui): headless Chromium against the local
// stack, one stack and one browser for the suite, one user per scenario.

// uiWait bounds each wait for the page; generous, because make test runs packages in parallel
// on two cores and Chromium, moto and the handlers share them.
const uiWait = 30 * time.Second

// traffic records what a tab asked for and what went wrong in it.
type traffic struct {
	mu       sync.Mutex
	requests []string // every URL requested
	urls     map[network.RequestID]string
	headers  map[string]network.Headers // response headers of /ui/ documents by URL
	problems []string                   // JS exceptions, console errors (CSP violations among them)
}

func (tr *traffic) listen(t *testing.T, ctx context.Context) {
	t.Helper()
	err := chromedp.Listen(ctx, func(ev any) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			tr.requests = append(tr.requests, e.Request.URL)
			tr.urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFailed:
			if e.BlockedReason != "" {
				tr.problems = append(tr.problems, "blocked ("+string(e.BlockedReason)+"): "+tr.urls[e.RequestID])
			}
		case *network.EventResponseReceived:
			if e.Type == network.ResourceTypeDocument && strings.Contains(e.Response.URL, "/ui/") {
				tr.headers[e.Response.URL] = e.Response.Headers
			}
		case *runtime.EventExceptionThrown:
			tr.problems = append(tr.problems, "exception: "+exceptionText(e.ExceptionDetails))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				tr.problems = append(tr.problems, "console.error: "+strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			// CSP violations and failed loads are reported here. A 4xx/5xx answer of the API
			// is logged as a network error, which the pages handle: only keep the rest.
			if e.Entry.Level == cdplog.EntryLevelError && e.Entry.Source != cdplog.EntrySourceNetwork {
				tr.problems = append(tr.problems, string(e.Entry.Source)+": "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// check fails the test for a request to another origin than the stack's, and for any script
// error or policy violation.
func (tr *traffic) check(t *testing.T, origin string) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.requests) == 0 {
		t.Error("no request was recorded: the network listener is broken")
	}
	for _, raw := range tr.requests {
		if got := originOf(raw); got != origin {
			t.Errorf("request to another origin (%s): %s", got, raw)
		}
	}
	for _, p := range tr.problems {
		t.Errorf("page problem: %s", p)
	}
}

// take removes and returns the recorded problems that mention s, and forgets the requests
// that do.
func (tr *traffic) take(s string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var taken, kept, reqs []string
	for _, p := range tr.problems {
		if strings.Contains(p, s) {
			taken = append(taken, p)
		} else {
			kept = append(kept, p)
		}
	}
	for _, r := range tr.requests {
		if !strings.Contains(r, s) {
			reqs = append(reqs, r)
		}
	}
	tr.problems, tr.requests = kept, reqs
	return taken
}

// originOf is the origin of a URL; a blob: URL has the origin of the page that made it.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable"
	}
	if u.Scheme == "blob" {
		return originOf(u.Opaque)
	}
	if u.Host == "" {
		return u.Scheme + ":" // data:, about: and the like: no origin
	}
	return u.Scheme + "://" + u.Host
}

type uiSuite struct {
	s       *stack
	ctx     context.Context
	traffic *traffic
	shots   string
}

// screenshotOnFailure saves a PNG of the tab when the test fails, under the test's
// temporary directory (or $UI_SCREENSHOT_DIR, which outlives the test).
func (u *uiSuite) screenshotOnFailure(t *testing.T, ctx context.Context, name string) {
	dir := u.shots
	if keep := os.Getenv("UI_SCREENSHOT_DIR"); keep != "" {
		dir = keep
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
		if err := browsertest.Screenshot(ctx, path); err != nil {
			t.Logf("screenshot: %v", err)
			return
		}
		var state string
		_ = browsertest.Eval(ctx, `location.href + " | error: " + ((document.getElementById("error")||{}).textContent||"") + " | visible: " + Array.from(document.querySelectorAll("main > section")).filter(s => !s.hidden).map(s => s.id).join(",")`, &state)
		t.Logf("screenshot of the failed page: %s (%s)", path, state)
	})
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, uiWait)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	var out T
	if err := browsertest.Eval(ctx, js, &out); err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return out
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(uiWait)
	for {
		var ok bool
		err := browsertest.Eval(ctx, "!!("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			_ = browsertest.Eval(ctx, `location.href + " | error: " + ((document.getElementById("error")||{}).textContent||"") + " | status: " + ((document.getElementById("status")||{}).textContent||"")`, &state)
			t.Fatalf("timed out waiting for %s (%v); page: %s", cond, err, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func visible(id string) string {
	return fmt.Sprintf(`(function(){var n=document.getElementById(%q); return n && !n.closest("[hidden]") && n.getClientRects().length > 0})()`, id)
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.getElementById(%q)||{}).textContent||""`, id))
}

func fragment(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "#" + v.Encode()
}

// returned waits until the page redirected to the app's return URL and gives its fragment.
func returned(t *testing.T, ctx context.Context, app string) url.Values {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf(`location.href.startsWith(%q)`, app+"#"))
	hash := eval[string](t, ctx, `location.hash.slice(1)`)
	v, err := url.ParseQuery(hash)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWebPages(t *testing.T) {
	s := newStack(t)
	ctx := browsertest.Start(t)
	u := &uiSuite{s: s, ctx: ctx, traffic: &traffic{headers: map[string]network.Headers{}, urls: map[network.RequestID]string{}}, shots: t.TempDir()}
	u.traffic.listen(t, ctx)
	app := s.URL + "/local/passkeys" // stands for the app that links to the pages
	admin := s.client(t, "ui-admin", "mfa/admin")
	// Trusted devices on, for the remember-this-device box.
	if status, out, _ := admin.call("PUT", "/v1/admin/policy", map[string]any{"rememberDeviceDays": 30}); status != 200 {
		t.Fatalf("policy: %d %v", status, out)
	}

	t.Run("TOTP enrollment and sign-in", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "totp")
		c := s.client(t, "ui-totp")
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/enroll"+fragment("token", c.token)))
		waitFor(t, ctx, visible("choose"))
		do(t, ctx, chromedp.Click(chromedp.CSS(`#type-list button[data-type="totp"]`)))
		waitFor(t, ctx, visible("totp")+` && document.getElementById("qr").naturalWidth > 0`)
		// The secret as the user reads it, in groups of four.
		shown := text(t, ctx, "totp-secret")
		if !regexp.MustCompile(`^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$`).MatchString(shown) {
			t.Fatalf("secret shown as %q", shown)
		}
		secret := decodeB32(t, strings.ReplaceAll(shown, " ", ""))
		if !strings.HasPrefix(eval[string](t, ctx, `document.getElementById("otpauth-link").href`), "otpauth://totp/") {
			t.Error("no otpauth link")
		}
		// The current step's code: typed and sent by a slow browser it stays inside the ±1
		// window, where the previous step's code could fall out of it at a step boundary.
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#totp-code"), code(secret, time.Now(), 0)),
			chromedp.Click(chromedp.CSS(`#totp-form button[type="submit"]`)))

		// The backup codes, and "I saved them" before going on.
		waitFor(t, ctx, visible("codes"))
		codes := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#code-list li")).map(li => li.textContent)`)
		if len(codes) != 10 {
			t.Fatalf("backup codes shown: %v", codes)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#codes-continue-btn")))
		waitFor(t, ctx, `document.getElementById("error").textContent.includes("I saved my backup codes") && document.activeElement.id === "saved"`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#saved")), chromedp.Click(chromedp.CSS("#codes-continue-btn")))
		waitFor(t, ctx, visible("done"))
		if got := text(t, ctx, "done-text"); !strings.Contains(got, "Authenticator app is turned on") {
			t.Errorf("done: %q", got)
		}

		// Sign in: the authenticator app is the default; a wrong code first.
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app, "state", "st-1")))
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		if got := text(t, ctx, "verify-title"); !strings.Contains(got, "authenticator app") {
			t.Errorf("title %q", got)
		}
		wrong := "000000"
		for _, step := range []int64{-1, 0, 1} {
			if code(secret, time.Now(), step) == wrong {
				wrong = "000001"
			}
		}
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), wrong), chromedp.Click(chromedp.CSS("#verify-btn")))
		waitFor(t, ctx, `document.getElementById("error").textContent.includes("You have 4 more tries")`)
		if eval[string](t, ctx, `document.getElementById("code").getAttribute("aria-invalid")`) != "true" {
			t.Error("the wrong code is not marked invalid")
		}
		// The next step's code: never the step the enrollment used, whenever this runs.
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), code(secret, time.Now(), 1)), chromedp.Click(chromedp.CSS("#verify-btn")))
		back := returned(t, ctx, app)
		if back.Get("status") != "verified" || back.Get("state") != "st-1" || back.Get("factorType") != "totp" {
			t.Fatalf("hand-back %v", back)
		}
		if claims := verifyWithJWKS(t, s, back.Get("mfaToken")); claims.Sub != "ui-totp" || !contains(claims.AMR, "otp") {
			t.Fatalf("mfaToken claims %+v", claims)
		}
	})

	t.Run("passkey enrollment and sign-in", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "passkey")
		if _, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.DefaultAuthenticatorOptions()); err != nil {
			t.Fatal(err)
		}
		c := s.client(t, "ui-passkey")
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/enroll"+fragment("token", c.token)))
		waitFor(t, ctx, visible("choose"))
		do(t, ctx, chromedp.Click(chromedp.CSS(`#type-list button[data-type="webauthn"]`)))
		waitFor(t, ctx, visible("passkey")+` && document.activeElement.id === "passkey-label"`)
		do(t, ctx, chromedp.Clear(chromedp.CSS("#passkey-label")), chromedp.SendKeys(chromedp.CSS("#passkey-label"), "Work laptop"),
			chromedp.Click(chromedp.CSS(`#passkey-form button[type="submit"]`)))
		waitFor(t, ctx, visible("codes"))
		do(t, ctx, chromedp.Click(chromedp.CSS("#saved")), chromedp.Click(chromedp.CSS("#codes-continue-btn")))
		waitFor(t, ctx, visible("done"))
		if got := text(t, ctx, "done-text"); !strings.Contains(got, "Passkey “Work laptop” is turned on") {
			t.Errorf("done: %q", got)
		}

		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app)))
		waitFor(t, ctx, visible("passkey-panel")+` && document.activeElement.id === "passkey-btn"`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#passkey-btn")))
		back := returned(t, ctx, app)
		claims := verifyWithJWKS(t, s, back.Get("mfaToken"))
		if back.Get("factorType") != "webauthn" || claims.Sub != "ui-passkey" || claims.ACR != "phishing_resistant" {
			t.Fatalf("hand-back %v, claims %+v", back, claims)
		}
	})

	t.Run("email code enrollment and sign-in", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "email")
		const addr = "ui-email@example.com"
		c := s.client(t, "ui-email")
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/enroll"+fragment("token", c.token)))
		waitFor(t, ctx, visible("choose"))
		do(t, ctx, chromedp.Click(chromedp.CSS(`#type-list button[data-type="email"]`)))
		waitFor(t, ctx, visible("contact")+` && document.activeElement.id === "contact-input"`)
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#contact-input"), addr), chromedp.Click(chromedp.CSS(`#contact-form button[type="submit"]`)))
		waitFor(t, ctx, visible("contact-code")+` && document.getElementById("contact-resend-btn").disabled`)
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#contact-code-input"), lastOutboxCode(t, s, addr)),
			chromedp.Click(chromedp.CSS(`#contact-code-form button[type="submit"]`)))
		waitFor(t, ctx, visible("codes"))
		do(t, ctx, chromedp.Click(chromedp.CSS("#saved")), chromedp.Click(chromedp.CSS("#codes-continue-btn")))
		waitFor(t, ctx, visible("done"))

		// Sign in: email is the default factor, so its code goes out with the challenge (one
		// request, no Send button); see the cool-down, answer with the code from the outbox.
		sentBefore := len(outboxTo(t, s, addr))
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app)))
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		waitFor(t, ctx, `document.getElementById("status").textContent.startsWith("We sent a code to")`)
		if got := text(t, ctx, "method-intro"); !strings.HasPrefix(got, "Enter the code we sent to ") || !strings.Contains(got, "@") {
			t.Errorf("intro without the masked address: %q", got)
		}
		if !eval[bool](t, ctx, `document.getElementById("send-panel").hidden`) {
			t.Error("the send panel shows beside a code already sent")
		}
		if n := len(outboxTo(t, s, addr)) - sentBefore; n != 1 {
			t.Errorf("%d emails for one sign-in, want 1", n)
		}
		cooldown := text(t, ctx, "resend-btn")
		if !regexp.MustCompile(`^Resend code \(\d+ sec\)$`).MatchString(cooldown) || !eval[bool](t, ctx, `document.getElementById("resend-btn").disabled`) {
			t.Errorf("resend during the cool-down: %q", cooldown)
		}
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), lastOutboxCode(t, s, addr)), chromedp.Click(chromedp.CSS("#verify-btn")))
		back := returned(t, ctx, app)
		if back.Get("factorType") != "email" || verifyWithJWKS(t, s, back.Get("mfaToken")).Sub != "ui-email" {
			t.Fatalf("hand-back %v", back)
		}
	})

	t.Run("email picked instead of the default factor", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "email-picked")
		const user, addr = "ui-picked", "ui-picked@example.com"
		c := s.client(t, user)
		secret, _ := enrollTOTPByAPI(t, c)
		if status, out, _ := admin.call("POST", "/v1/admin/users/"+user+"/factors", map[string]any{"type": "email", "email": addr}); status != 201 {
			t.Fatalf("bind email: %d %v", status, out)
		}
		// The authenticator app, used last, is the default factor.
		_, ch, _ := c.call("POST", "/v1/users/me/challenges", map[string]any{})
		if status, out, _ := c.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications",
			map[string]any{"type": "totp", "code": code(secret, time.Now(), 0)}); status != 200 {
			t.Fatalf("verify: %d %v", status, out)
		}

		// (Binding the address sent it a security notice.)
		sentBefore := len(outboxTo(t, s, addr))
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app)))
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		if got := text(t, ctx, "verify-title"); got != "Enter the code from your authenticator app" {
			t.Errorf("default factor's title %q", got)
		}
		if n := len(outboxTo(t, s, addr)) - sentBefore; n != 0 {
			t.Errorf("%d emails sent while the default factor is the authenticator app", n)
		}
		// Picked instead: the page offers to send, and sends when asked.
		do(t, ctx, chromedp.Click(chromedp.CSS("#other-btn")))
		waitFor(t, ctx, visible("methods"))
		do(t, ctx, chromedp.Click(chromedp.CSS(`#method-list button[data-type="email"]`)))
		waitFor(t, ctx, visible("send-panel")+` && document.activeElement.id === "send-btn"`)
		if got := text(t, ctx, "method-intro"); !strings.HasPrefix(got, "We’ll send a code to ") || !strings.Contains(got, "@") {
			t.Errorf("intro without the masked address: %q", got)
		}
		if got := text(t, ctx, "send-btn"); got != "Email me a code" {
			t.Errorf("send button %q", got)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#send-btn")))
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		waitFor(t, ctx, `document.getElementById("status").textContent.startsWith("We sent a code to")`)
		if n := len(outboxTo(t, s, addr)) - sentBefore; n != 1 {
			t.Errorf("%d emails sent, want 1", n)
		}
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), lastOutboxCode(t, s, addr)), chromedp.Click(chromedp.CSS("#verify-btn")))
		if back := returned(t, ctx, app); back.Get("factorType") != "email" {
			t.Fatalf("hand-back %v", back)
		}
	})

	t.Run("security page with step-up", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "security")
		const user = "ui-sec"
		c := s.client(t, user)
		secret, backup := enrollTOTPByAPI(t, c)
		if status, out, _ := admin.call("POST", "/v1/admin/users/"+user+"/factors", map[string]any{"type": "email", "email": "sec@example.com"}); status != 201 {
			t.Fatalf("bind email: %d %v", status, out)
		}
		// A trusted device, from a sign-in that asked to remember it.
		_, ch, _ := c.call("POST", "/v1/users/me/challenges", map[string]any{})
		if status, out, _ := c.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications",
			map[string]any{"type": "totp", "code": code(secret, time.Now(), 0), "rememberDevice": true}); status != 200 || out["deviceToken"] == nil {
			t.Fatalf("verify: %d %v", status, out)
		}

		do(t, ctx, chromedp.Navigate(s.URL+"/ui/security"+fragment("token", c.token, "return", app)))
		waitFor(t, ctx, visible("account")+` && document.querySelectorAll("#factor-list > li").length === 2 && document.querySelectorAll("#device-list > li").length === 1`)
		totpItem := eval[string](t, ctx, `document.querySelector('#factor-list li[data-type="totp"]').textContent`)
		if !strings.Contains(totpItem, "Last used") {
			t.Errorf("TOTP item: %q", totpItem)
		}
		if got := text(t, ctx, "backup-text"); !strings.Contains(got, "10 backup codes left") {
			t.Errorf("backup: %q", got)
		}

		// Rename needs no step-up.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#factor-list li[data-type="email"] .rename-btn`)))
		waitFor(t, ctx, `document.activeElement.name === "label"`)
		do(t, ctx, chromedp.KeyEvent("Work email\r"))
		waitFor(t, ctx, `document.querySelector('#factor-list li[data-type="email"] .name').textContent === "Work email"`)

		// Remove needs a step-up: the page explains and offers it.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#factor-list li[data-type="email"] .remove-btn`)))
		waitFor(t, ctx, `document.activeElement.classList.contains("verify-btn")`)
		if got := eval[string](t, ctx, `document.querySelector('#factor-list li[data-type="email"] .confirm').textContent`); !strings.Contains(got, "verify it’s you first") {
			t.Errorf("remove without step-up: %q", got)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`#factor-list li[data-type="email"] .verify-btn`)))
		// The challenge page, for a step-up; the authenticator app was used last.
		waitFor(t, ctx, `location.pathname === "/ui/challenge" && `+visible("code-form"))
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), code(secret, time.Now(), 1)), chromedp.Click(chromedp.CSS("#verify-btn")))
		// Back on the security page, with the mfaToken.
		waitFor(t, ctx, `location.pathname === "/ui/security" && `+visible("account")+` && document.getElementById("stepup-text").textContent.includes("verified it’s you recently")`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#factor-list li[data-type="email"] .remove-btn`)))
		waitFor(t, ctx, `document.activeElement.classList.contains("confirm-remove-btn")`)
		do(t, ctx, chromedp.KeyEvent("\r"))
		waitFor(t, ctx, `document.querySelectorAll("#factor-list > li").length === 1 && document.getElementById("status").textContent.startsWith("Removed Work email")`)

		// That step-up authorized the removal and is used up (one mfaToken, one change): new
		// backup codes need another. The authenticator's next codes are used, so a backup code.
		do(t, ctx, chromedp.Click(chromedp.CSS("#regen-btn")))
		waitFor(t, ctx, `document.activeElement.id === "stepup-btn"`)
		do(t, ctx, chromedp.KeyEvent("\r")) // the page put the focus on "Verify it's you"
		waitFor(t, ctx, `location.pathname === "/ui/challenge" && `+visible("code-form"))
		do(t, ctx, chromedp.Click(chromedp.CSS("#other-btn")))
		waitFor(t, ctx, visible("methods"))
		do(t, ctx, chromedp.Click(chromedp.CSS(`#method-list button[data-type="backup_codes"]`)))
		waitFor(t, ctx, `document.getElementById("code-label").textContent === "Backup code"`)
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), backup), chromedp.Click(chromedp.CSS("#verify-btn")))
		waitFor(t, ctx, `location.pathname === "/ui/security" && `+visible("account")+` && document.getElementById("stepup-text").textContent.includes("verified it’s you recently")`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#regen-btn")))
		waitFor(t, ctx, `document.activeElement.id === "regen-confirm-btn"`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#regen-confirm-btn")))
		waitFor(t, ctx, visible("new-codes")+` && document.querySelectorAll("#code-list li").length === 10`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#saved")), chromedp.Click(chromedp.CSS("#codes-done-btn")))
		// The list is read again: the button to make new codes is back.
		waitFor(t, ctx, `!`+visible("new-codes")+` && `+visible("regen-btn")+` && document.getElementById("backup-text").textContent.includes("10 backup codes left")`)

		// Revoke the trusted device.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#device-list .revoke-btn`)))
		waitFor(t, ctx, visible("devices-empty"))

		_, list, _ := c.call("GET", "/v1/users/me/factors", nil)
		if n := len(list["factors"].([]any)); n != 2 { // TOTP and the backup codes
			t.Errorf("factors after the page: %v", list)
		}
		_, devs, _ := c.call("GET", "/v1/users/me/devices", nil)
		if len(devs["devices"].([]any)) != 0 {
			t.Errorf("devices after the page: %v", devs)
		}
	})

	t.Run("challenge page by keyboard only", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "keyboard")
		c := s.client(t, "ui-keys")
		_, backup := enrollTOTPByAPI(t, c)
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app, "remember", "1")))
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		active := func() string {
			return eval[string](t, ctx, `(document.activeElement.id || "") + "|" + (document.activeElement.dataset.type || "")`)
		}
		tabTo := func(want string) {
			t.Helper()
			for range 12 {
				if strings.Contains(active(), want) {
					return
				}
				do(t, ctx, chromedp.KeyEvent("\t"))
			}
			t.Fatalf("Tab never reached %s (at %s)", want, active())
		}
		// Another method: the backup code.
		tabTo("other-btn")
		do(t, ctx, chromedp.KeyEvent("\r"))
		waitFor(t, ctx, visible("methods")+` && document.activeElement.closest("#method-list")`)
		tabTo("|backup_codes")
		do(t, ctx, chromedp.KeyEvent("\r"))
		waitFor(t, ctx, `document.activeElement.id === "code" && document.getElementById("code-label").textContent === "Backup code"`)
		do(t, ctx, chromedp.KeyEvent(strings.ToLower(backup)))
		tabTo("remember")
		do(t, ctx, chromedp.KeyEvent(" "))
		if !eval[bool](t, ctx, `document.getElementById("remember").checked`) {
			t.Fatal("space did not check the remember box")
		}
		tabTo("verify-btn")
		do(t, ctx, chromedp.KeyEvent("\r"))
		back := returned(t, ctx, app)
		if back.Get("factorType") != "backup_codes" || back.Get("backupCodesRemaining") != "9" || back.Get("deviceToken") == "" {
			t.Fatalf("hand-back %v", back)
		}
		verifyWithJWKS(t, s, back.Get("mfaToken"))
	})

	t.Run("wrong codes, lockout and messages", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "lockout")
		c := s.client(t, "ui-lock")
		secret, _ := enrollTOTPByAPI(t, c)
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app)))
		waitFor(t, ctx, visible("code-form"))
		good := map[string]bool{}
		for _, step := range []int64{-1, 0, 1, 2} {
			good[code(secret, time.Now(), step)] = true
		}
		wrong := 100000
		for i := range 5 {
			for good[fmt.Sprint(wrong)] {
				wrong++
			}
			do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), fmt.Sprint(wrong)), chromedp.Click(chromedp.CSS("#verify-btn")))
			wrong++
			if i < 4 {
				waitFor(t, ctx, fmt.Sprintf(`document.getElementById("error").textContent.includes("You have %d more tr")`, 4-i))
			}
		}
		// Five wrong answers close the challenge and lock the user.
		waitFor(t, ctx, visible("restart-btn")+` && document.activeElement.id === "restart-btn"`)
		do(t, ctx, chromedp.KeyEvent("\r")) // the focused "Start again" (a click can race the error's layout)
		waitFor(t, ctx, visible("code-form")+` && document.activeElement.id === "code"`)
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), code(secret, time.Now(), 0)), chromedp.Click(chromedp.CSS("#verify-btn")))
		waitFor(t, ctx, `document.getElementById("error").textContent.includes("Too many failed attempts. Try again in") && `+visible("lock-timer"))
		// The right code typed during the lock is refused unchecked and not counted: the lock
		// stays the 1 minute of 5 failures.
		if got := text(t, ctx, "lock-timer"); !regexp.MustCompile(`^Locked: you can try again in (\d+ seconds|1 min)`).MatchString(got) {
			t.Errorf("lock timer %q", got)
		}
		if !eval[bool](t, ctx, `document.getElementById("verify-btn").disabled`) {
			t.Error("verify is enabled during the lock")
		}
		// The other messages the page gives.
		for problem, want := range map[string]string{
			`{code: "code_expired"}`:                              "That code has expired. Send a new code",
			`{code: "too_many_attempts", lockedUntil: null}`:      "Contact support",
			`{code: "verification_failed", attemptsRemaining: 1}`: "You have 1 more try.",
			`{code: "send_limited", limit: "cooldown"}`:           "You can ask for another in",
			`{code: "challenge_expired"}`:                         "This verification expired",
		} {
			got := eval[string](t, ctx, `MFA.describe(new MFA.ApiError(400, `+problem+`, 20))`)
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", problem, got, want)
			}
		}
	})

	t.Run("return address not allowed", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "return")
		c := s.client(t, "ui-evil")
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", "https://evil.example/steal")))
		waitFor(t, ctx, `document.getElementById("error").textContent.includes("return address that is not allowed")`)
		if eval[bool](t, ctx, visible("verify")) {
			t.Error("the page went on with a return address outside the allow-list")
		}
	})

	t.Run("postMessage hand-off with a popup", func(t *testing.T) {
		c := s.client(t, "ui-popup")
		secret, _ := enrollTOTPByAPI(t, c)
		do(t, ctx, chromedp.Navigate(app))
		popup := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return strings.Contains(i.URL, "/ui/challenge") })
		open := `window.popupResult = null;
			window.addEventListener("message", function (e) {
				if (e.origin !== location.origin) return;
				if (e.data.type === "mfa-ui:ready") e.source.postMessage({type: "mfa-ui:init", token: ` + jsString(c.token) + `, state: "pm-1"}, e.origin);
				if (e.data.type === "mfa-ui:result") window.popupResult = e.data;
			});
			window.open("/ui/challenge", "mfa", "popup,width=480,height=640") !== null`
		opened, err := chromedp.Run(ctx, chromedp.Evaluate[bool](open, func(p *runtime.EvaluateParams) { p.UserGesture = ptr(true) }))
		if err != nil || !opened {
			t.Fatalf("window.open: %v %v", opened, err)
		}
		var id target.ID
		select {
		case id = <-popup:
		case <-time.After(uiWait):
			t.Fatal("the popup did not open")
		}
		pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		defer cancel()
		u.traffic.listen(t, pctx)
		u.screenshotOnFailure(t, pctx, "popup")
		waitFor(t, pctx, visible("code-form")+` && document.activeElement.id === "code"`)
		do(t, pctx, chromedp.SendKeys(chromedp.CSS("#code"), code(secret, time.Now(), 0)), chromedp.Click(chromedp.CSS("#verify-btn")))
		waitFor(t, ctx, `window.popupResult !== null`)
		var res struct {
			Status, MFAToken, State, Page string
		}
		raw := eval[json.RawMessage](t, ctx, `window.popupResult`)
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		if res.Status != "verified" || res.State != "pm-1" || res.Page != "challenge" || verifyWithJWKS(t, s, res.MFAToken).Sub != "ui-popup" {
			t.Fatalf("result %s", raw)
		}
		waitFor(t, pctx, `document.getElementById("done-text").textContent.includes("close this window")`)
	})

	// Every page, loaded with a token and rendered, asks nothing of another origin; the
	// recorder has also watched every scenario above.
	t.Run("no request leaves the origin", func(t *testing.T) {
		c := s.client(t, "ui-origin")
		for page, ready := range map[string]string{"challenge": "done", "enroll": "choose", "security": "account"} {
			do(t, ctx, chromedp.Navigate(s.URL+"/ui/"+page+fragment("token", c.token)))
			waitFor(t, ctx, visible(ready))
		}
		u.traffic.mu.Lock()
		for _, page := range []string{"challenge", "enroll", "security"} {
			h := u.traffic.headers[s.URL+"/ui/"+page]
			csp, _ := h["Content-Security-Policy"].(string)
			if !strings.HasPrefix(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s: CSP %q", page, csp)
			}
		}
		u.traffic.mu.Unlock()

		// The policy is enforced and the recorder sees a violation: a third-party image is
		// refused before any request leaves.
		eval[bool](t, ctx, `(function(){var i = document.createElement("img"); i.src = "https://third-party.example/pixel.png"; document.body.append(i); return true})()`)
		deadline := time.Now().Add(uiWait)
		var refused []string
		for !slices.ContainsFunc(refused, func(p string) bool { return strings.Contains(p, "blocked (csp)") }) {
			refused = append(refused, u.traffic.take("third-party.example")...)
			if time.Now().After(deadline) {
				t.Fatalf("a third-party image was not refused by the Content-Security-Policy: %q", refused)
			}
			time.Sleep(50 * time.Millisecond)
		}
		u.traffic.check(t, s.URL)
	})
}

// enrollTOTPByAPI gives the user an authenticator app (its code of the previous step used) and
// returns the secret and one backup code.
func enrollTOTPByAPI(t *testing.T, c *client) ([]byte, string) {
	t.Helper()
	status, enr, _ := c.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
	if status != 201 {
		t.Fatalf("enroll: %d %v", status, enr)
	}
	secret := decodeB32(t, enr["totp"].(map[string]any)["secret"].(string))
	status, out, _ := c.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, time.Now(), -1)})
	if status != 200 {
		t.Fatalf("complete: %d %v", status, out)
	}
	codes, _ := out["backupCodes"].([]any)
	if len(codes) == 0 {
		t.Fatalf("no backup codes: %v", out)
	}
	return secret, codes[0].(string)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func ptr[T any](v T) *T { return &v }
