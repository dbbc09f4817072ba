package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mfa-service/mfa/pkg/browsertest"
)

// TestAdminConsole drives the admin console (/ui/admin) in headless Chromium against the
// local stack, as a support desk uses it: find a user by email, bind an email fallback, see it
// among their factors, reset them, unlock a locked user, and edit a policy with an invalid
// value. Only admin tokens get anything from it.
func TestAdminConsole(t *testing.T) {
	s := newStack(t)
	ctx := browsertest.Start(t)
	u := &uiSuite{s: s, ctx: ctx, traffic: &traffic{headers: map[string]network.Headers{}, urls: map[network.RequestID]string{}}, shots: t.TempDir()}
	u.traffic.listen(t, ctx)
	desk := s.client(t, "desk-agent", "mfa/admin")
	backend := s.client(t, "backend", "mfa/service")

	// Alice signs in with her work address; Bob has an authenticator app and is locked out.
	if status, out, _ := backend.call("POST", "/v1/users/desk-alice/enrollments", map[string]any{"type": "email", "email": "alice.work@example.com", "preVerified": true}); status != 201 {
		t.Fatalf("alice's email: %d %v", status, out)
	}
	bob := s.client(t, "desk-bob")
	bobSecret, _ := enrollTOTPByAPI(t, bob)
	// Nine wrong answers in a row: locked for 15 minutes, however slow the run.
	wrong := wrongCode(bobSecret)
	for i := 0; i < 9; i++ {
		status, ch, _ := backend.call("POST", "/v1/users/desk-bob/challenges", map[string]any{})
		if status != 201 {
			t.Fatalf("challenge: %d %v", status, ch)
		}
		if status, out, _ := backend.call("POST", "/v1/users/desk-bob/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "code": wrong}); status != 401 && status != 429 {
			t.Fatalf("wrong code: %d %v", status, out)
		}
	}

	console := s.URL + "/ui/admin"
	rowCount := `document.querySelectorAll("#user-rows tr").length`
	confirm := func(t *testing.T, mentions string) {
		t.Helper()
		waitFor(t, ctx, visible("confirm")+` && document.activeElement.id === "confirm-yes"`)
		if got := text(t, ctx, "confirm-text"); !strings.Contains(got, mentions) {
			t.Errorf("confirmation %q does not mention %q", got, mentions)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#confirm-yes")))
	}

	t.Run("find a user by email, bind an email fallback, reset", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "bind")
		do(t, ctx, chromedp.Navigate(console+fragment("token", desk.token)))
		waitFor(t, ctx, visible("directory")+` && document.activeElement.id === "q" && `+rowCount+` >= 2`)
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#q"), "Alice.Work@example.com"), chromedp.Click(chromedp.CSS("#search-btn")))
		waitFor(t, ctx, rowCount+` === 1 && document.querySelector("#user-rows tr").dataset.user === "desk-alice"`)
		if got := eval[string](t, ctx, `document.querySelector("#user-rows tr").textContent`); !strings.Contains(got, "Email") || !strings.Contains(got, "Yes") {
			t.Errorf("alice's row: %q", got)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`#user-rows button[data-open="desk-alice"]`)))
		waitFor(t, ctx, visible("user")+` && document.querySelectorAll("#factor-list li").length === 1`)
		if got := text(t, ctx, "user-title"); !strings.Contains(got, "desk-alice") {
			t.Errorf("title %q", got)
		}

		// Bind her personal address as the fallback; the confirmation says no code is sent.
		do(t, ctx, chromedp.SetValue(chromedp.CSS("#bind-type"), "email"),
			chromedp.SendKeys(chromedp.CSS("#bind-email"), "alice.home@example.net"),
			chromedp.SendKeys(chromedp.CSS("#bind-label"), "Home email"),
			chromedp.Click(chromedp.CSS("#bind-btn")))
		confirm(t, "alice.home@example.net")
		waitFor(t, ctx, `document.querySelectorAll("#factor-list li[data-type=email]").length === 2 && document.getElementById("status").textContent.includes("bound")`)
		home := eval[string](t, ctx, `Array.from(document.querySelectorAll("#factor-list li")).map(li => li.textContent).filter(s => s.includes("Home email"))[0] || ""`)
		if home == "" || !strings.Contains(home, "example.net") || strings.Contains(home, "alice.home@example.net") || !strings.Contains(home, "added") {
			t.Errorf("bound factor shown as %q (want the label, the masked address and when it was added)", home)
		}
		// The audit log names the admin who did it.
		waitFor(t, ctx, `Array.from(document.querySelectorAll("#event-rows tr")).some(tr => tr.textContent.includes("factor.activated") && tr.textContent.includes("admin:desk-agent"))`)

		// Keyboard: Escape cancels a confirmation and gives the focus back.
		do(t, ctx, chromedp.Focus(chromedp.CSS("#reset-btn")), chromedp.KeyEvent(kb.Enter))
		waitFor(t, ctx, visible("confirm")+` && document.activeElement.id === "confirm-yes"`)
		do(t, ctx, chromedp.KeyEvent(kb.Escape))
		waitFor(t, ctx, `document.getElementById("confirm").hidden && document.activeElement.id === "reset-btn"`)
		if n := eval[int](t, ctx, `document.querySelectorAll("#factor-list li").length`); n != 2 {
			t.Fatalf("a cancelled reset changed the factors: %d left", n)
		}

		// Reset: nothing left, and the user is no longer asked for MFA.
		do(t, ctx, chromedp.Click(chromedp.CSS("#reset-btn")))
		confirm(t, "desk-alice")
		waitFor(t, ctx, `document.getElementById("status").textContent.includes("MFA reset") && `+visible("factors-empty")+` && document.querySelectorAll("#factor-list li").length === 0`)
		status, out, _ := desk.call("GET", "/v1/admin/users/desk-alice", nil)
		if status != 200 || len(out["factors"].([]any)) != 0 {
			t.Fatalf("after reset: %d %v", status, out)
		}
	})

	t.Run("unlock a locked user", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "unlock")
		do(t, ctx, chromedp.Click(chromedp.CSS("#back-btn")))
		waitFor(t, ctx, visible("directory"))
		eval[bool](t, ctx, `(function(){document.getElementById("q").value = ""; return true})()`)
		do(t, ctx, chromedp.SetValue(chromedp.CSS("#filter-locked"), "true"), chromedp.Click(chromedp.CSS("#search-btn")))
		waitFor(t, ctx, rowCount+` === 1 && document.querySelector("#user-rows tr").dataset.user === "desk-bob"`)
		if got := eval[string](t, ctx, `document.querySelector("#user-rows tr").textContent`); !strings.Contains(got, "Locked until") {
			t.Errorf("bob's row: %q", got)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`#user-rows button[data-open="desk-bob"]`)))
		waitFor(t, ctx, visible("user")+` && document.getElementById("lock-state").textContent.includes("Locked") && `+visible("unlock-btn"))
		do(t, ctx, chromedp.Click(chromedp.CSS("#unlock-btn")))
		confirm(t, "desk-bob")
		waitFor(t, ctx, `document.getElementById("lock-state").textContent === "Not locked" && document.getElementById("status").textContent.includes("Unlocked")`)
		// Bob can verify again.
		status, ch, _ := backend.call("POST", "/v1/users/desk-bob/challenges", map[string]any{})
		if status != 201 {
			t.Fatalf("challenge: %d", status)
		}
		if status, out, _ := backend.call("POST", "/v1/users/desk-bob/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "code": code(bobSecret, time.Now(), 0)}); status != 200 {
			t.Fatalf("bob after unlock: %d %v", status, out)
		}
	})

	t.Run("edit a policy: an invalid value names its field", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "policy")
		do(t, ctx, chromedp.Click(chromedp.CSS("#nav-policies")))
		waitFor(t, ctx, visible("policies")+` && document.getElementById("policy-meta").textContent !== "" && `+visible("policy-effective-box"))
		doc := eval[map[string]any](t, ctx, `JSON.parse(document.getElementById("policy-json").value)`)
		doc["mode"] = "required"
		doc["gracePeriodDays"] = 99
		setPolicy := func(doc map[string]any) {
			t.Helper()
			eval[bool](t, ctx, fmt.Sprintf(`(function(){document.getElementById("policy-json").value = JSON.stringify(%s, null, 2); return true})()`, jsonOf(t, doc)))
			do(t, ctx, chromedp.Click(chromedp.CSS("#policy-save-btn")))
			confirm(t, "global policy")
		}
		setPolicy(doc)
		waitFor(t, ctx, `document.getElementById("policy-field-error").textContent.includes("gracePeriodDays") && document.getElementById("policy-json").getAttribute("aria-invalid") === "true"`)
		if status, out, _ := desk.call("GET", "/v1/admin/policy", nil); status != 200 || out["effective"].(map[string]any)["gracePeriodDays"] == float64(99) {
			t.Fatalf("the invalid policy was stored: %v", out)
		}
		doc["gracePeriodDays"] = 7
		setPolicy(doc)
		waitFor(t, ctx, `document.getElementById("status").textContent.includes("Policy saved") && document.getElementById("policy-field-error").textContent === "" && document.getElementById("policy-effective").textContent.includes('"gracePeriodDays": 7')`)
		if status, out, _ := desk.call("GET", "/v1/admin/policy", nil); status != 200 || out["effective"].(map[string]any)["gracePeriodDays"] != float64(7) || out["effective"].(map[string]any)["mode"] != "required" {
			t.Fatalf("saved policy: %d %v", status, out)
		}
		waitFor(t, ctx, `Array.from(document.querySelectorAll("#history-rows tr")).some(tr => tr.textContent.includes("admin:desk-agent") && tr.textContent.includes("global"))`)

		// An organization policy: created, then deleted.
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#policy-org"), "acme"), chromedp.Click(chromedp.CSS("#policy-open-btn")))
		waitFor(t, ctx, `document.getElementById("policy-meta").textContent.includes("no policy of its own")`)
		eval[bool](t, ctx, `(function(){document.getElementById("policy-json").value = '{"mode": "optional"}'; return true})()`)
		do(t, ctx, chromedp.Click(chromedp.CSS("#policy-save-btn")))
		confirm(t, "acme")
		waitFor(t, ctx, `document.getElementById("status").textContent.includes("Policy saved") && `+visible("policy-delete-btn"))
		do(t, ctx, chromedp.Click(chromedp.CSS("#policy-delete-btn")))
		confirm(t, "acme")
		waitFor(t, ctx, `document.getElementById("status").textContent.includes("deleted") && document.getElementById("policy-meta").textContent.includes("no policy of its own")`)
		if status, _, _ := desk.call("GET", "/v1/admin/organizations/acme/policy", nil); status != 404 {
			t.Fatalf("org policy after delete: %d", status)
		}
		u.traffic.check(t, s.URL)
	})

	t.Run("the URL make run prints opens the console", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "banner")
		links, err := pageLinks(s)
		if err != nil {
			t.Fatal(err)
		}
		banner := gettingStarted(s.URL, links)
		m := regexp.MustCompile(`(?m)^  (` + regexp.QuoteMeta(console) + `#token=\S+)$`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("the banner does not print the console URL on a line of its own:\n%s", banner)
		}
		do(t, ctx, chromedp.Navigate(m[1]))
		waitFor(t, ctx, visible("directory")+` && `+rowCount+` >= 2`)
	})

	t.Run("a user or service token gets only a refusal", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "refusal")
		for _, c := range []*client{s.client(t, "desk-alice"), backend} {
			do(t, ctx, chromedp.Navigate(console+fragment("token", c.token)))
			waitFor(t, ctx, `document.getElementById("error").textContent.includes("needs an admin token")`)
			if n := eval[int](t, ctx, rowCount); n != 0 || eval[bool](t, ctx, visible("directory")) || eval[bool](t, ctx, visible("console-nav")) {
				t.Errorf("a non-admin token sees the console: %d rows", n)
			}
			for _, path := range []string{"/v1/admin/users", "/v1/admin/users?q=alice.work%40example.com", "/v1/admin/users/desk-bob", "/v1/admin/policy"} {
				if status, out, _ := c.call("GET", path, nil); status != 403 || strings.Contains(fmt.Sprint(out), "desk-") {
					t.Errorf("GET %s: %d %v", path, status, out)
				}
			}
		}
		u.traffic.mu.Lock()
		csp, _ := u.traffic.headers[console]["Content-Security-Policy"].(string)
		u.traffic.mu.Unlock()
		if !strings.HasPrefix(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("console CSP %q", csp)
		}
		u.traffic.check(t, s.URL)
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
