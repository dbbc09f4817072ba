package webui

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func newUI(t *testing.T, cfg Config) *UI {
	t.Helper()
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func get(t *testing.T, u *UI, route, param, value string, query map[string]string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := u.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
		RouteKey: route, PathParameters: map[string]string{param: value},
		QueryStringParameters: query, Headers: headers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(env(map[string]string{
		"UI_RETURN_ORIGINS":  "https://App.Example.com, http://localhost:3000/",
		"UI_FRAME_ANCESTORS": "https://app.example.com 'self',https://*.example.org",
		"PRODUCT_NAME":       "Acme",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.ReturnOrigins, " ") != "https://app.example.com http://localhost:3000" {
		t.Errorf("return origins %v", c.ReturnOrigins)
	}
	if strings.Join(c.FrameAncestors, " ") != "https://app.example.com 'self' https://*.example.org" {
		t.Errorf("frame ancestors %v", c.FrameAncestors)
	}
	if c.ProductName != "Acme" {
		t.Errorf("product %q", c.ProductName)
	}

	// Without UI_RETURN_ORIGINS, the passkey origins are the allow-list.
	c, err = ConfigFromEnv(env(map[string]string{"WEBAUTHN_ORIGINS": "https://a.example"}))
	if err != nil || len(c.ReturnOrigins) != 1 || c.ReturnOrigins[0] != "https://a.example" {
		t.Errorf("fallback: %v %v", c.ReturnOrigins, err)
	}

	for _, bad := range []map[string]string{
		{"UI_RETURN_ORIGINS": "http://app.example.com"},           // http only for localhost
		{"UI_RETURN_ORIGINS": "https://app.example.com/path"},     // an origin has no path
		{"UI_RETURN_ORIGINS": "https://user@app.example.com"},     // nor credentials
		{"UI_RETURN_ORIGINS": "app.example.com"},                  // nor is it a host alone
		{"UI_FRAME_ANCESTORS": "https://a.example; script-src *"}, // no injection into the CSP
		{"UI_FRAME_ANCESTORS": "'none' https://a.example"},
		{"UI_FRAME_ANCESTORS": "'unsafe-inline'"},
		{"UI_FRAME_ANCESTORS": "https://a.example/path"},
		{"UI_FRAME_ANCESTORS": "https://a.example:x"},
		{"UI_FRAME_ANCESTORS": "javascript:alert(1)"},
	} {
		if _, err := ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

var (
	scriptTag   = regexp.MustCompile(`<script[^>]*>`)
	assetRef    = regexp.MustCompile(`(?:src|href)="assets/([^"?]+)\?v=([0-9a-f]+)"`)
	inlineEvent = regexp.MustCompile(`\son[a-z]+=`)
)

func TestPages(t *testing.T) {
	u := newUI(t, Config{ReturnOrigins: []string{"https://app.example.com"}, ProductName: `Acme "<b>"`})
	for _, page := range Pages {
		resp := get(t, u, RoutePage, "page", page, nil, nil)
		if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %v", page, resp.StatusCode, resp.Headers)
		}
		csp := resp.Headers["Content-Security-Policy"]
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", page, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %q", page, csp)
		}
		if resp.Headers["X-Frame-Options"] != "DENY" || resp.Headers["Referrer-Policy"] != "no-referrer" || resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("%s: headers %v", page, resp.Headers)
		}
		body := resp.Body
		// No inline script or style: every script has a src, no event attributes, no style attributes.
		for _, tag := range scriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="assets/`) {
				t.Errorf("%s: inline or foreign script %s", page, tag)
			}
		}
		if inlineEvent.MatchString(body) || strings.Contains(body, "style=") || strings.Contains(body, "<style") {
			t.Errorf("%s: inline handler or style", page)
		}
		// Nothing but the configuration names an origin (the apps' origins, as data).
		markup := regexp.MustCompile(`<meta name="mfa-ui-config"[^>]*>`).ReplaceAllString(body, "")
		if strings.Contains(markup, "http://") || strings.Contains(markup, "https://") || strings.Contains(markup, "//cdn") {
			t.Errorf("%s: references another origin", page)
		}
		if strings.Contains(body, "{{") {
			t.Errorf("%s: unrendered placeholder", page)
		}
		// Every asset it names is served, cacheable under that version.
		refs := assetRef.FindAllStringSubmatch(body, -1)
		if len(refs) < 4 {
			t.Errorf("%s: %d asset references", page, len(refs))
		}
		for _, m := range refs {
			if m[2] != u.Version() {
				t.Errorf("%s: %s has version %s, want %s", page, m[1], m[2], u.Version())
			}
			a := get(t, u, RouteAsset, "file", m[1], map[string]string{"v": m[2]}, nil)
			if a.StatusCode != 200 || !strings.Contains(a.Headers["Cache-Control"], "immutable") || a.Headers["X-Content-Type-Options"] != "nosniff" {
				t.Errorf("%s: asset %s: %d %v", page, m[1], a.StatusCode, a.Headers)
			}
		}
		// The configuration is escaped into the meta tag and reads back as JSON.
		m := regexp.MustCompile(`<meta name="mfa-ui-config" content="([^"]*)">`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no config", page)
		}
		var conf struct {
			ReturnOrigins []string `json:"returnOrigins"`
			ProductName   string   `json:"productName"`
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &conf); err != nil || conf.ProductName != `Acme "<b>"` || conf.ReturnOrigins[0] != "https://app.example.com" {
			t.Errorf("%s: config %q → %+v %v", page, m[1], conf, err)
		}
		if strings.Contains(body, "<b>") {
			t.Errorf("%s: product name not escaped", page)
		}
	}
}

func TestAssetsAndErrors(t *testing.T) {
	u := newUI(t, Config{FrameAncestors: []string{"https://app.example.com"}})
	resp := get(t, u, RoutePage, "page", "challenge", nil, nil)
	if !strings.HasSuffix(resp.Headers["Content-Security-Policy"], "frame-ancestors https://app.example.com") || resp.Headers["X-Frame-Options"] != "" {
		t.Errorf("frame ancestors: %v", resp.Headers)
	}

	js := get(t, u, RouteAsset, "file", "webauthn.js", nil, nil)
	if js.StatusCode != 200 || !strings.HasPrefix(js.Headers["Content-Type"], "text/javascript") || js.Headers["Cache-Control"] != "no-cache" || !strings.Contains(js.Body, "getAssertion") {
		t.Errorf("webauthn.js without version: %d %v", js.StatusCode, js.Headers)
	}
	if nm := get(t, u, RouteAsset, "file", "webauthn.js", nil, map[string]string{"If-None-Match": js.Headers["ETag"]}); nm.StatusCode != 304 || nm.Body != "" {
		t.Errorf("If-None-Match: %d", nm.StatusCode)
	}
	css := get(t, u, RouteAsset, "file", "ui.css", nil, nil)
	if !strings.HasPrefix(css.Headers["Content-Type"], "text/css") || strings.Contains(css.Body, "url(") || strings.Contains(css.Body, "@import") {
		t.Errorf("ui.css: %v", css.Headers)
	}

	for _, tc := range []struct{ route, param, value, code string }{
		{RoutePage, "page", "console", "page_not_found"},
		{RoutePage, "page", "{page}", "page_not_found"},
		{RouteAsset, "file", "../webui.go", "asset_not_found"},
		{RouteAsset, "file", "nope.js", "asset_not_found"},
		{"GET /elsewhere", "x", "y", "route_not_found"},
	} {
		resp := get(t, u, tc.route, tc.param, tc.value, nil, nil)
		var p map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &p)
		if resp.StatusCode != 404 || resp.Headers["Content-Type"] != "application/problem+json" || p["code"] != tc.code {
			t.Errorf("%s %s: %d %v %v", tc.route, tc.value, resp.StatusCode, resp.Headers, p)
		}
	}
}

// The scripts use no sink that a Trusted Types policy would refuse, and build no markup from
// strings: the CSP requires trusted types for scripts.
func TestScriptsAvoidStringSinks(t *testing.T) {
	u := newUI(t, Config{})
	for name, a := range u.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout(\""} {
			if strings.Contains(string(a.body), sink) {
				t.Errorf("%s uses %s", name, sink)
			}
		}
	}
}

// TestSampleEventReplay replays events/ui-*.json (what `sam local invoke -e` uses) against
// the ui function's handler.
func TestSampleEventReplay(t *testing.T) {
	ui, err := New(Config{ReturnOrigins: []string{"http://localhost:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../events/ui-*.json")
	if len(files) == 0 {
		t.Fatal("no ui sample events")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		resp, err := ui.Handle(context.Background(), ev)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Headers["Content-Type"], "text/html") {
			t.Fatalf("%s: %d %v %v", f, resp.StatusCode, resp.Headers, err)
		}
	}
}
