package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mfa-service/mfa/pkg/browsertest"
)

// lastOutbox is the newest message the stack sent to dest.
func lastOutbox(t *testing.T, s *stack, dest string) map[string]any {
	t.Helper()
	sent := outboxTo(t, s, dest)
	if len(sent) == 0 {
		t.Fatalf("nothing sent to %s", dest)
	}
	return sent[len(sent)-1]
}

// outboxTo is every message the stack sent to dest, oldest first.
func outboxTo(t *testing.T, s *stack, dest string) []map[string]any {
	t.Helper()
	anon := &client{t: t, base: s.URL, hc: s.client(t, "x").hc}
	_, box, _ := anon.call("GET", "/local/outbox", nil)
	var sent []map[string]any
	for _, m := range box["messages"].([]any) {
		if msg := m.(map[string]any); strings.EqualFold(msg["destination"].(string), dest) {
			sent = append(sent, msg)
		}
	}
	return sent
}

// noOverflow fails the test when the page is wider than the 360 px viewport, or any visible
// element sticks out of it.
func noOverflow(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	out := eval[[]string](t, ctx, `(function(){
		var w = document.documentElement.clientWidth, bad = [];
		if (document.documentElement.scrollWidth > w) bad.push("page " + document.documentElement.scrollWidth + " px wide");
		document.querySelectorAll("main *, header *").forEach(function (n) {
			var r = n.getBoundingClientRect();
			if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) bad.push(n.tagName + "#" + n.id + "." + n.className + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]: " + (n.textContent || "").slice(0, 40));
		});
		return bad;
	})()`)
	if len(out) > 0 {
		t.Errorf("%s: overflows the 360 px viewport: %s", where, strings.Join(out, "; "))
	}
}

// The pages in German and Japanese, as a browser that prefers them gets them, on a 360 px
// phone screen: translated strings, the same layout (nothing wider than the screen), and
// codes sent in the page's language.
func TestWebPagesInOtherLanguages(t *testing.T) {
	s := newStack(t)
	ctx := browsertest.Start(t)
	u := &uiSuite{s: s, ctx: ctx, traffic: &traffic{headers: map[string]network.Headers{}, urls: map[network.RequestID]string{}}, shots: t.TempDir()}
	u.traffic.listen(t, ctx)
	app := s.URL + "/local/passkeys"
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 360, Height: 740, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
	})
	setLanguage := func(t *testing.T, accept string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": accept}}); err != nil {
			t.Fatal(err)
		}
	}

	type strings_ struct {
		setup, choose, emailTitle, sent, wrong, security, backupLeft, subject, resendPrefix string
	}
	for _, tt := range []struct {
		lang, accept string
		want         strings_
	}{
		{"de", "de-DE,de;q=0.9,en;q=0.5", strings_{
			setup: "Anmeldung in zwei Schritten einrichten", choose: "Wählen Sie, wie Sie bei der Anmeldung bestätigen, dass Sie es sind.",
			emailTitle: "Code per E-Mail erhalten", sent: "Wir haben einen Code an ",
			wrong: "Der Code ist falsch. Sie haben noch 4 Versuche.", security: "Anmeldesicherheit", backupLeft: "Noch 10 Backup-Codes übrig.",
			subject: "Ihr Bestätigungscode für MFA Service", resendPrefix: "Code erneut senden (",
		}},
		{"ja", "ja,en-US;q=0.7", strings_{
			setup: "2 段階認証を設定", choose: "サインイン時の本人確認の方法を選んでください。",
			emailTitle: "メールでコードを受け取る", sent: "にコードを送信しました。",
			wrong: "コードが正しくありません。残りの試行回数は 4 回です。", security: "サインインのセキュリティ", backupLeft: "バックアップコードの残りは 10 個です。",
			subject: "MFA Service の確認コード", resendPrefix: "コードを再送信（",
		}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			u.screenshotOnFailure(t, ctx, tt.lang)
			w := tt.want
			setLanguage(t, tt.accept)
			user := "ui-i18n-" + tt.lang
			addr := user + "@example.com"
			c := s.client(t, user)

			// Enrollment: translated, laid out within the screen.
			do(t, ctx, chromedp.Navigate(s.URL+"/ui/enroll"+fragment("token", c.token)))
			waitFor(t, ctx, visible("choose"))
			if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != tt.lang {
				t.Errorf("lang = %q", lang)
			}
			if got := text(t, ctx, "choose-title"); got != w.setup {
				t.Errorf("heading %q, want %q", got, w.setup)
			}
			if got := eval[string](t, ctx, `document.querySelector("#choose > p").textContent`); got != w.choose {
				t.Errorf("intro %q", got)
			}
			if title := eval[string](t, ctx, `document.title`); title != w.setup+" · MFA Service" {
				t.Errorf("title %q", title)
			}
			noOverflow(t, ctx, "enroll")
			do(t, ctx, chromedp.Click(chromedp.CSS(`#type-list button[data-type="email"]`)))
			waitFor(t, ctx, visible("contact")+` && document.activeElement.id === "contact-input"`)
			do(t, ctx, chromedp.SendKeys(chromedp.CSS("#contact-input"), addr), chromedp.Click(chromedp.CSS(`#contact-form button[type="submit"]`)))
			waitFor(t, ctx, visible("contact-code"))
			// The page asks for the code in its language: so does the email.
			if m := lastOutbox(t, s, addr); m["subject"] != w.subject {
				t.Errorf("enrollment email subject %q, want %q", m["subject"], w.subject)
			}
			noOverflow(t, ctx, "enroll code")
			do(t, ctx, chromedp.SendKeys(chromedp.CSS("#contact-code-input"), lastOutboxCode(t, s, addr)),
				chromedp.Click(chromedp.CSS(`#contact-code-form button[type="submit"]`)))
			waitFor(t, ctx, visible("codes"))
			noOverflow(t, ctx, "backup codes")
			do(t, ctx, chromedp.Click(chromedp.CSS("#saved")), chromedp.Click(chromedp.CSS("#codes-continue-btn")))
			waitFor(t, ctx, visible("done"))

			// Challenge: the code goes out with it (email is the default factor), in the page's
			// language; a wrong code (plural), then the right one.
			do(t, ctx, chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token, "return", app)))
			waitFor(t, ctx, visible("code-form")+fmt.Sprintf(` && document.getElementById("status").textContent.includes(%q)`, w.sent))
			if got := text(t, ctx, "verify-title"); got != w.emailTitle {
				t.Errorf("challenge title %q, want %q", got, w.emailTitle)
			}
			noOverflow(t, ctx, "challenge")
			if got := text(t, ctx, "resend-btn"); !strings.HasPrefix(got, w.resendPrefix) {
				t.Errorf("resend button %q", got)
			}
			if m := lastOutbox(t, s, addr); m["subject"] != w.subject {
				t.Errorf("sign-in email subject %q, want %q", m["subject"], w.subject)
			}
			do(t, ctx, chromedp.Click(chromedp.CSS(`#other-btn`)))
			waitFor(t, ctx, visible("methods"))
			noOverflow(t, ctx, "challenge methods")
			code := lastOutboxCode(t, s, addr)
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), wrong), chromedp.Click(chromedp.CSS("#verify-btn")))
			waitFor(t, ctx, fmt.Sprintf(`document.getElementById("error").textContent === %q`, w.wrong))
			noOverflow(t, ctx, "challenge error")
			do(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#verify-btn")))
			if back := returned(t, ctx, app); back.Get("status") != "verified" {
				t.Fatalf("hand-back %v", back)
			}

			// Security page: the densest one.
			do(t, ctx, chromedp.Navigate(s.URL+"/ui/security"+fragment("token", c.token, "return", app)))
			waitFor(t, ctx, visible("account")+` && document.querySelectorAll("#factor-list > li").length === 1`)
			if got := text(t, ctx, "account-title"); got != w.security {
				t.Errorf("security title %q", got)
			}
			if got := text(t, ctx, "backup-text"); got != w.backupLeft {
				t.Errorf("backup text %q, want %q", got, w.backupLeft)
			}
			noOverflow(t, ctx, "security")
			do(t, ctx, chromedp.Click(chromedp.CSS(`#factor-list li .remove-btn`)))
			waitFor(t, ctx, `document.activeElement.classList.contains("verify-btn")`)
			noOverflow(t, ctx, "security remove")
		})
	}

	// The admin console in German on a phone: the directory, one user and the policies.
	t.Run("admin console", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "admin-de")
		setLanguage(t, "de-DE,de;q=0.9,en;q=0.5")
		backend := s.client(t, "ui-i18n-admin-backend", "mfa/service")
		if status, out, _ := backend.call("POST", "/v1/users/ui-i18n-admin-user/enrollments", map[string]any{"type": "email", "email": "i18n.admin@example.com", "preVerified": true}); status != 201 {
			t.Fatalf("enrollment: %d %v", status, out)
		}
		desk := s.client(t, "ui-i18n-desk", "mfa/admin")
		do(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(s.URL+"/ui/admin"+fragment("token", desk.token)))
		waitFor(t, ctx, visible("directory")+` && document.querySelectorAll("#user-rows tr").length >= 1`)
		if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "de" {
			t.Errorf("lang = %q", lang)
		}
		if title := eval[string](t, ctx, `document.title`); title != "Admin-Konsole · MFA Service" {
			t.Errorf("title %q", title)
		}
		for id, want := range map[string]string{"directory-title": "Benutzer", "nav-policies": "Richtlinien", "search-btn": "Suchen"} {
			if got := text(t, ctx, id); got != want {
				t.Errorf("#%s %q, want %q", id, got, want)
			}
		}
		if got := text(t, ctx, "user-caption"); !strings.Contains(got, "Benutzer auf dieser Seite") {
			t.Errorf("caption %q", got)
		}
		noOverflow(t, ctx, "admin directory")

		do(t, ctx, chromedp.Click(chromedp.CSS(`#user-rows button[data-open="ui-i18n-admin-user"]`)))
		waitFor(t, ctx, visible("user")+` && document.querySelectorAll("#factor-list li").length === 1`)
		if got := text(t, ctx, "user-title"); got != "Benutzer ui-i18n-admin-user" {
			t.Errorf("user title %q", got)
		}
		if got := text(t, ctx, "reset-btn"); got != "MFA zurücksetzen" {
			t.Errorf("reset button %q", got)
		}
		if got := text(t, ctx, "lock-state"); got != "Nicht gesperrt" {
			t.Errorf("lock state %q", got)
		}
		noOverflow(t, ctx, "admin user")
		do(t, ctx, chromedp.Click(chromedp.CSS("#reset-btn")))
		waitFor(t, ctx, visible("confirm")+` && document.activeElement.id === "confirm-yes"`)
		if got := text(t, ctx, "confirm-text"); !strings.HasPrefix(got, "MFA für ui-i18n-admin-user zurücksetzen?") {
			t.Errorf("confirmation %q", got)
		}
		noOverflow(t, ctx, "admin confirmation")
		do(t, ctx, chromedp.Click(chromedp.CSS("#confirm-no")))

		do(t, ctx, chromedp.Click(chromedp.CSS("#nav-policies")))
		waitFor(t, ctx, visible("policies")+` && document.getElementById("policy-title").textContent === "Globale Richtlinie"`)
		if got := text(t, ctx, "policy-open-btn"); got != "Öffnen" {
			t.Errorf("open button %q", got)
		}
		noOverflow(t, ctx, "admin policies")
	})

	// Sentences are joined as the language joins them: a space in English (the page once
	// said "…is needed.You can close…"), nothing in Japanese.
	t.Run("sentences joined", func(t *testing.T) {
		for accept, want := range map[string]string{
			"en": "No extra verification is needed. You can close this page and go back to the app.",
			"ja": "追加の確認は必要ありません。このページを閉じてアプリに戻ってください。",
		} {
			setLanguage(t, accept)
			c := s.client(t, "ui-i18n-none-"+accept)
			do(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(s.URL+"/ui/challenge"+fragment("token", c.token)))
			waitFor(t, ctx, visible("done")+fmt.Sprintf(` && document.documentElement.lang === %q && document.getElementById("done-text").textContent !== ""`, accept))
			if got := text(t, ctx, "done-text"); got != want {
				t.Errorf("%s: %q, want %q", accept, got, want)
			}
		}
	})

	// The app's locale parameter, and the token's locale claim, beat the browser's language:
	// the page switches to it (once) and says so in its markup.
	t.Run("locale from the app and the token", func(t *testing.T) {
		u.screenshotOnFailure(t, ctx, "switch")
		setLanguage(t, "de")
		c := s.client(t, "ui-i18n-switch")
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/security"+fragment("token", c.token, "locale", "fr")))
		waitFor(t, ctx, visible("account")+` && document.documentElement.lang === "fr"`)
		if got := text(t, ctx, "account-title"); got != "Sécurité de la connexion" {
			t.Errorf("title %q", got)
		}
		if strings.Contains(eval[string](t, ctx, `location.href`), "token=") {
			t.Error("the token stayed in the address bar")
		}
		status, out, _ := c.call("POST", "/local/token", map[string]any{"sub": "ui-i18n-claim", "locale": "zh_CN"})
		if status != 200 {
			t.Fatalf("token: %d %v", status, out)
		}
		do(t, ctx, chromedp.Navigate(s.URL+"/ui/security"+fragment("token", out["access_token"].(string))))
		waitFor(t, ctx, visible("account")+` && document.documentElement.lang === "zh-Hans"`)
		if got := text(t, ctx, "account-title"); got != "登录安全" {
			t.Errorf("title %q", got)
		}
		noOverflow(t, ctx, "security zh-Hans")
	})
	u.traffic.check(t, s.URL)
}
