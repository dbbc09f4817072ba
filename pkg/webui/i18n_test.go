package webui

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/locale"
)

// TestPageCatalogs: every locale has every key of the English catalog with exactly its
// placeholders and the plural forms its language needs; every key the pages and scripts
// name exists; every key is used.
func TestPageCatalogs(t *testing.T) {
	cats, err := Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	en := cats["en"]
	schema := map[string][]string{}
	for _, k := range en.Keys() {
		m, _ := en.Message(k)
		text := m.Text
		if m.Plural != nil {
			text = m.Plural["other"]
		}
		ph := locale.Placeholders(text)
		if m.Plural != nil {
			ph = slices.DeleteFunc(ph, func(s string) bool { return s == "n" })
		}
		schema[k] = ph
	}
	for _, err := range locale.CheckCatalogs(cats, schema) {
		t.Error(err)
	}

	// Keys named by the HTML ({{t:key}}) and the scripts (MFA.t("key") / MFA.n("key")), and
	// the families of keys the scripts build (a prefix and a factor type or problem code).
	used := map[string]bool{}
	files, _ := filepath.Glob("static/*.html")
	scripts, _ := filepath.Glob("static/assets/*.js")
	htmlKey := regexp.MustCompile(`\{\{t:([a-z0-9_.]+)\}\}`)
	jsKey := regexp.MustCompile(`"((?:layout|type|common|challenge|enroll|security|admin|err)\.[a-z0-9_.]+)"`)
	for _, f := range append(files, scripts...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		re := jsKey
		if strings.HasSuffix(f, ".html") {
			re = htmlKey
		}
		for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
			if strings.HasSuffix(m[1], ".") {
				continue // a prefix: checked below
			}
			used[m[1]] = true
			if _, ok := en.Message(m[1]); !ok {
				t.Errorf("%s names %q, which is not in the catalog", f, m[1])
			}
		}
	}
	families := map[string][]string{
		"type.":                      {"webauthn", "totp", "email", "sms", "backup_codes"},
		"challenge.title.":           {"webauthn", "totp", "email", "sms", "backup_codes"},
		"challenge.intro.will_send.": {"email", "sms"},
		"challenge.send.":            {"email", "sms"},
		// Every problem code the API answers with that a page can meet.
		"err.": {"network", "code_expired", "code_not_sent", "invalid_code", "challenge_expired", "challenge_closed",
			"challenge_not_found", "enrollment_expired", "step_up_required", "invalid_mfa_token", "unauthenticated",
			"forbidden", "factor_type_not_allowed", "unsupported_factor_type", "factor_exists", "country_not_allowed",
			"delivery_failed", "primary_factor_required", "prompt_not_skippable", "invalid_credential",
			"factor_not_found", "device_not_found", "conflict", "unavailable"},
	}
	for prefix, names := range families {
		for _, n := range names {
			if _, ok := en.Message(prefix + n); !ok {
				t.Errorf("no message %q", prefix+n)
			}
			used[prefix+n] = true
		}
	}
	for _, k := range en.Keys() {
		if !used[k] && k != "layout.support" && k != "layout.support_link" { // those two: webui.go
			t.Errorf("catalog key %q is used by no page or script", k)
		}
	}
}

// englishText are the English catalog's sentences of more than one word that a locale
// translates differently: if one shows in that locale's page, English leaked.
func englishText(t *testing.T, l string) []string {
	t.Helper()
	cats, err := Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range cats["en"].Keys() {
		en, mine := cats["en"].T(k), cats[l].T(k)
		if strings.Contains(strings.TrimSpace(en), " ") && en != mine && !strings.Contains(en, "{") {
			out = append(out, html.EscapeString(en))
		}
	}
	return out
}

func TestPagesInEveryLocale(t *testing.T) {
	u := newUI(t, Config{ReturnOrigins: []string{"https://app.example.com"}, ProductName: "Acme", SupportURL: "https://help.acme.example/"})
	cats, _ := Catalogs()
	for _, l := range locale.Supported {
		leaks := englishText(t, l)
		for _, page := range Pages {
			resp := get(t, u, RoutePage, "page", page, map[string]string{"locale": l}, nil)
			if resp.StatusCode != 200 || resp.Headers["Content-Language"] != l {
				t.Fatalf("%s %s: %d %v", l, page, resp.StatusCode, resp.Headers)
			}
			body := resp.Body
			if !strings.Contains(body, `<html lang="`+l+`">`) {
				t.Errorf("%s %s: no lang attribute", l, page)
			}
			title := cats[l].T(page + ".title")
			if page == "enroll" {
				title = cats[l].T("common.setup_title")
			}
			if !strings.Contains(body, "<title>"+html.EscapeString(title)+" · Acme</title>") {
				t.Errorf("%s %s: title is not %q", l, page, title)
			}
			if !strings.Contains(body, html.EscapeString(cats[l].T("layout.support_link"))) || !strings.Contains(body, `href="https://help.acme.example/"`) {
				t.Errorf("%s %s: no support link", l, page)
			}
			if strings.Contains(body, "{{") {
				t.Errorf("%s %s: an unfilled marker", l, page)
			}
			// The page's visible markup (the config, which carries the catalog, aside) holds
			// no English sentence.
			markup := regexp.MustCompile(`<meta name="mfa-ui-config"[^>]*>`).ReplaceAllString(body, "")
			for _, en := range leaks {
				if strings.Contains(markup, en) {
					t.Errorf("%s %s: English %q", l, page, en)
				}
			}
			conf := regexp.MustCompile(`<meta name="mfa-ui-config" content="([^"]*)">`).FindStringSubmatch(body)
			var c struct {
				Locale   string            `json:"locale"`
				Messages map[string]any    `json:"messages"`
				Other    map[string]string `json:"-"`
			}
			if len(conf) != 2 || json.Unmarshal([]byte(html.UnescapeString(conf[1])), &c) != nil || c.Locale != l || c.Messages["common.verify_its_you"] != cats[l].T("common.verify_its_you") {
				t.Errorf("%s %s: the config does not carry the locale's catalog", l, page)
			}
		}
	}
}

// Every page takes all its fixed text from the catalogs: its title line is a {{t:key}}, and
// no text between tags, nor a label-like attribute, is written out in the HTML.
func TestEveryPageIsTranslated(t *testing.T) {
	marker := regexp.MustCompile(`\{\{[a-z]+(:[a-z0-9_.]+)?\}\}`)
	textNode := regexp.MustCompile(`>([^<]*)<`)
	attr := regexp.MustCompile(`(?:aria-label|title|alt)="([^"]*)"`)
	letter := regexp.MustCompile(`\pL`)
	for _, p := range append([]string{"layout"}, Pages...) {
		raw, err := static.ReadFile("static/" + p + ".html")
		if err != nil {
			t.Fatal(err)
		}
		body := string(raw)
		if p != "layout" {
			title, _, _ := strings.Cut(body, "\n")
			if !regexp.MustCompile(`^\{\{t:[a-z0-9_.]+\}\}$`).MatchString(strings.TrimSpace(title)) {
				t.Errorf("%s: the title line %q is not a catalog key", p, title)
			}
		}
		for _, re := range []*regexp.Regexp{textNode, attr} {
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				if rest := marker.ReplaceAllString(m[1], ""); letter.MatchString(rest) {
					t.Errorf("%s: text outside the catalogs: %q", p, strings.TrimSpace(m[1]))
				}
			}
		}
	}
}

func TestPageLocaleChoice(t *testing.T) {
	u := newUI(t, Config{DefaultLocale: "fr"})
	tests := []struct {
		query, accept, want string
	}{
		{"", "", "fr"},                        // the deployment default
		{"", "de-CH,de;q=0.9,en;q=0.8", "de"}, // Accept-Language, RFC 4647
		{"", "ko,zh-CN;q=0.5", "zh-Hans"},
		{"", "zh-TW", "fr"}, // Traditional Chinese is not offered
		{"ja", "de", "ja"},  // ?locale= wins
		{"pt", "", "pt-BR"}, // matched too
		{"xx!", "es", "es"}, // a bad ?locale= gives way
		{"ko", "", "fr"},
	}
	for _, tt := range tests {
		resp := get(t, u, RoutePage, "page", "challenge", map[string]string{"locale": tt.query}, map[string]string{"Accept-Language": tt.accept})
		if got := resp.Headers["Content-Language"]; got != tt.want || !strings.Contains(resp.Body, `lang="`+tt.want+`"`) {
			t.Errorf("locale=%q Accept-Language=%q: %s, want %s", tt.query, tt.accept, got, tt.want)
		}
		if !strings.Contains(resp.Headers["Vary"], "Accept-Language") {
			t.Error("no Vary: Accept-Language")
		}
	}
}

func TestBranding(t *testing.T) {
	logo := "data:image/png;base64,iVBORw0KGgo="
	u := newUI(t, Config{ProductName: "Acme", LogoURL: logo, AccentColor: "#ffcc00"})
	resp := get(t, u, RoutePage, "page", "security", nil, nil)
	if !strings.Contains(resp.Body, `<img src="`+logo+`"`) {
		t.Error("the logo is not on the page")
	}
	if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "img-src 'self' blob: data:;") {
		t.Errorf("a data: logo needs data: in img-src: %s", csp)
	}
	css := get(t, u, RouteAsset, "file", "brand.css", nil, nil)
	if css.StatusCode != 200 || !strings.Contains(css.Body, "--accent: #ffcc00; --accent-fg: #000000;") {
		t.Errorf("brand.css: %d %q", css.StatusCode, css.Body)
	}
	if !strings.Contains(resp.Body, `href="assets/brand.css?v=`+u.Version()+`"`) {
		t.Error("the page does not load brand.css")
	}

	// A same-origin logo needs nothing more than 'self'; no accent, no colors.
	u = newUI(t, Config{LogoURL: "/brand/logo.svg"})
	resp = get(t, u, RoutePage, "page", "security", nil, nil)
	if !strings.Contains(resp.Body, `<img src="/brand/logo.svg"`) || strings.Contains(resp.Headers["Content-Security-Policy"], "data:") {
		t.Error("same-origin logo")
	}
	if css := get(t, u, RouteAsset, "file", "brand.css", nil, nil); strings.Contains(css.Body, "--accent") {
		t.Errorf("brand.css without an accent: %q", css.Body)
	}
	for _, bad := range []Config{{LogoURL: "https://cdn.example/logo.png"}, {AccentColor: "blue"}, {SupportURL: "javascript:x"}, {DefaultLocale: "ko"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("New accepted %+v", bad)
		}
	}
}
