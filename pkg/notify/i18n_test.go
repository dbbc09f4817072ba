package notify

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/locale"
)

// TestCatalogs: every key exists in every locale, every message uses exactly the
// placeholders the code fills, plural messages have the forms their language needs.
func TestCatalogs(t *testing.T) {
	for _, err := range locale.CheckCatalogs(catalogs, catalogSchema) {
		t.Error(err)
	}
	for _, l := range locale.Supported {
		if months := strings.Split(catalogs[l].T("months"), ","); len(months) != 12 {
			t.Errorf("%s: months has %d names, want 12", l, len(months))
		}
	}
}

// englishWords are words that show English text leaked into another language.
var englishWords = regexp.MustCompile(`(?i)\b(the|your|you|is|was|expires|if|verification|sign-in|account|never|added|removed|password|help|please)\b`)

func testNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	cfg.Sender = "no-reply@example.com"
	n, err := New(nil, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCodeEmailInEveryLocale(t *testing.T) {
	n := testNotifier(t, Config{ProductName: "Acme", SupportURL: "https://help.acme.example/mfa", AccentColor: "#0a7d4f"})
	const code = "583920"
	subjects := map[string]bool{}
	for _, l := range locale.Supported {
		for _, purpose := range []string{PurposeEnrollment, PurposeSignIn, PurposeStepUp} {
			m := n.codeEmail(l, code, purpose, 10*time.Minute)
			if m.lang != l {
				t.Errorf("%s: rendered in %s", l, m.lang)
			}
			if want := catalogs[l].T("code.subject", "product", "Acme"); m.subject != want || !strings.Contains(m.subject, "Acme") {
				t.Errorf("%s: subject %q, want %q", l, m.subject, want)
			}
			subjects[m.subject] = true
			if strings.Contains(m.subject, code) {
				t.Errorf("%s: the subject holds the code", l)
			}
			for part, body := range map[string]string{"text": m.text, "html": m.html} {
				if c := strings.Count(body, code); c != 1 {
					t.Errorf("%s %s %s: the code appears %d times, want once", l, purpose, part, c)
				}
				if !strings.Contains(body, catalogs[l].T("code.action."+purpose)) {
					t.Errorf("%s %s %s: lacks the purpose's wording", l, purpose, part)
				}
				if !strings.Contains(body, "https://help.acme.example/mfa") {
					t.Errorf("%s %s: no support link", l, part)
				}
			}
			if !strings.Contains(m.html, `<html lang="`+l+`">`) || !strings.Contains(m.html, "#0a7d4f") {
				t.Errorf("%s: the HTML lacks its language or the accent color", l)
			}
			// No image of any kind: nothing remote to load, nothing that tracks the reader.
			for _, banned := range []string{"<img", "url(", "<script", "<link", "background-image"} {
				if strings.Contains(m.html, banned) {
					t.Errorf("%s: the HTML holds %s", l, banned)
				}
			}
			if l != "en" {
				text := strings.NewReplacer("Acme", "", "https://help.acme.example/mfa", "").Replace(m.subject + "\n" + m.text)
				if w := englishWords.FindAllString(text, -1); len(w) > 0 {
					t.Errorf("%s %s: English words %q in\n%s", l, purpose, w, text)
				}
			}
		}
	}
	if len(subjects) != len(locale.Supported) {
		t.Errorf("%d different subjects for %d locales", len(subjects), len(locale.Supported))
	}
	// An unknown or empty locale is the default one.
	if m := n.codeEmail("xx", code, PurposeSignIn, time.Minute); m.lang != "en" {
		t.Errorf("unknown locale rendered in %s", m.lang)
	}
}

func TestCodeEmailPlurals(t *testing.T) {
	n := testNotifier(t, Config{})
	tests := []struct {
		l    string
		ttl  time.Duration
		want string
	}{
		{"en", time.Minute, "It expires in 1 minute."},
		{"en", 10 * time.Minute, "It expires in 10 minutes."},
		{"de", time.Minute, "Er ist 1 Minute lang gültig."},
		{"de", 5 * time.Minute, "Er ist 5 Minuten lang gültig."},
		{"fr", time.Minute, "Il expire dans 1 minute."},
		{"fr", 2 * time.Minute, "Il expire dans 2 minutes."},
		{"ja", time.Minute, "有効期限は 1 分です。"},
	}
	for _, tt := range tests {
		if m := n.codeEmail(tt.l, "123456", PurposeSignIn, tt.ttl); !strings.Contains(m.text, tt.want) {
			t.Errorf("%s %v: text lacks %q:\n%s", tt.l, tt.ttl, tt.want, m.text)
		}
	}
}

func TestDefaultLocale(t *testing.T) {
	n := testNotifier(t, Config{DefaultLocale: "pt-BR"})
	if m := n.codeEmail("", "123456", PurposeSignIn, time.Minute); m.lang != "pt-BR" {
		t.Errorf("no locale: rendered in %s, want the configured default pt-BR", m.lang)
	}
	if m := n.codeEmail("ja", "123456", PurposeSignIn, time.Minute); m.lang != "ja" {
		t.Errorf("ja: rendered in %s", m.lang)
	}
	if _, err := New(nil, nil, Config{DefaultLocale: "ko"}); err == nil {
		t.Error("an untranslated default locale was accepted")
	}
}

func TestSMSInEveryLocale(t *testing.T) {
	n := testNotifier(t, Config{ProductName: "Acme", WebOTPDomain: "login.acme.example"})
	const code = "090807"
	for _, l := range locale.Supported {
		text, err := n.smsText(l, code, 10*time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		lines := strings.Split(text, "\n")
		if last := lines[len(lines)-1]; last != "@login.acme.example #"+code {
			t.Errorf("%s: last line %q, want the origin-bound line", l, last)
		}
		if !strings.Contains(lines[0], code) || !strings.Contains(lines[0], "Acme") {
			t.Errorf("%s: first line %q lacks the code or the app's name", l, lines[0])
		}
		if ucs2Locales[l] {
			if n := ucs2Len(text); n > 70 {
				t.Errorf("%s: %d UCS-2 characters, more than one segment: %q", l, n, text)
			}
		} else if size, ok := gsm7Len(text); !ok || size > 160 {
			t.Errorf("%s: not one GSM-7 segment (%d, %v): %q", l, size, ok, text)
		}
		if l != "en" && englishWords.MatchString(strings.ReplaceAll(lines[0], "Acme", "")) {
			t.Errorf("%s: English in %q", l, lines[0])
		}
	}
}

// A long product name and host make the full text too long for one segment: the short one
// goes out instead, still with the origin-bound line.
func TestSMSFallsBackToTheShortText(t *testing.T) {
	n := testNotifier(t, Config{ProductName: "Acme Identity Portal", WebOTPDomain: "login.acme.example.jp"})
	for _, l := range []string{"ja", "zh-Hans"} {
		text, err := n.smsText(l, "123456", 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := catalogs[l].T("sms.short", "code", "123456", "product", "Acme Identity Portal"); text != want+"\n\n@login.acme.example.jp #123456" {
			t.Errorf("%s: %q, want the short text", l, text)
		}
	}
	if _, err := New(nil, nil, Config{ProductName: strings.Repeat("p", 40), WebOTPDomain: strings.Repeat("d", 30) + ".example.com"}); err == nil ||
		!strings.Contains(err.Error(), "70") {
		t.Errorf("an SMS that fits no segment in Japanese was accepted: %v", err)
	}
}

func TestNoticeInEveryLocale(t *testing.T) {
	n := testNotifier(t, Config{ProductName: "Acme"})
	at := time.Date(2026, 3, 9, 8, 5, 0, 0, time.UTC)
	for _, l := range locale.Supported {
		for _, nt := range []Notice{
			{Kind: NoticeFactorAdded, FactorType: "sms", Label: "Work", At: at, IP: "192.0.2.1", Locale: l},
			{Kind: NoticeFactorRemoved, FactorType: "webauthn", At: at, Locale: l},
			{Kind: NoticeFactorsReset, At: at, Locale: l},
		} {
			m, err := n.noticeEmail(nt)
			if err != nil {
				t.Fatal(err)
			}
			if m.lang != l || m.subject != catalogs[l].T("notice.subject."+nt.Kind, "product", "Acme") {
				t.Errorf("%s %s: subject %q in %s", l, nt.Kind, m.subject, m.lang)
			}
			if !strings.Contains(m.text, "2026") || !strings.Contains(m.text, "08:05") {
				t.Errorf("%s: no date in\n%s", l, m.text)
			}
			if nt.Label != "" && !strings.Contains(m.text, "Work") || nt.IP != "" && !strings.Contains(m.text, "192.0.2.1") {
				t.Errorf("%s: label or address missing in\n%s", l, m.text)
			}
			if l != "en" {
				text := strings.NewReplacer("Acme", "", "Work", "").Replace(m.subject + "\n" + m.text)
				if w := englishWords.FindAllString(text, -1); len(w) > 0 {
					t.Errorf("%s %s: English words %q in\n%s", l, nt.Kind, w, text)
				}
			}
		}
	}
}

func TestFromHeader(t *testing.T) {
	for name, want := range map[string]string{
		"Acme":         `"Acme" <a@example.com>`,
		`Acme "Q" \ A`: `"Acme \"Q\" \\ A" <a@example.com>`,
		"Ärzte Bank":   "=?utf-8?b?w4RyenRlIEJhbms=?= <a@example.com>",
	} {
		if got := fromHeader(name, "a@example.com"); got != want {
			t.Errorf("fromHeader(%q) = %s, want %s", name, got, want)
		}
	}
}
