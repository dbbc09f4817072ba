// Package webui serves the reference web pages of the service: the sign-in challenge
// (/ui/challenge), enrollment (/ui/enroll), account security (/ui/security) and the admin
// console (/ui/admin, which calls only the admin routes with an admin token). They are
// static files embedded in the binary (HTML, CSS and JavaScript; no CDN, fonts or scripts
// from anywhere else) that call the public API on the same origin with the user's own token,
// which the app hands to them in the URL fragment or by postMessage (see the README).
//
// Every string a page shows comes from the catalog of its locale, locales/<locale>.json: the
// HTML names them as {{t:key}}, filled in when the pages are rendered (once per locale, at
// cold start), and the scripts call MFA.t(key, args) / MFA.n(key, count, args) on the same
// catalog, which the page carries in its config. The locale is the request's ?locale=, else
// Accept-Language, else the DefaultLocale; the page itself switches to the locale its app
// passed or its token claims (common.js).
//
// The handler answers API Gateway HTTP API (payload 2.0) events, like the other functions,
// and sets a strict Content-Security-Policy: scripts, styles and connections only from the
// page's own origin, no inline script, and frame-ancestors from configuration.
package webui

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/brand"
	"github.com/mfa-service/mfa/pkg/locale"
	"github.com/mfa-service/mfa/pkg/webauthnjs"
)

//go:embed static
var static embed.FS

// The page catalogs, one JSON file per locale (format: pkg/locale).
//
//go:embed locales/*.json
var catalogFiles embed.FS

// Catalogs returns the page catalogs by locale.
func Catalogs() (map[string]*locale.Catalog, error) {
	return locale.LoadCatalogs(catalogFiles, "locales")
}

// Handler is a Lambda handler for HTTP API events.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// The routes of the UI function, as template.yaml declares them.
const (
	RoutePage  = "GET /ui/{page}"
	RouteAsset = "GET /ui/assets/{file}"
)

// RouteKeys are the route keys the handler serves.
func RouteKeys() []string { return []string{RoutePage, RouteAsset} }

// Pages are the pages served under /ui/{page}.
var Pages = []string{"challenge", "enroll", "security", "admin"}

// Config is the UI function's configuration.
type Config struct {
	// ReturnOrigins are the exact origins (scheme://host[:port]) the pages may hand an
	// mfaToken back to, by redirect (the return parameter) or by postMessage
	// (env UI_RETURN_ORIGINS, comma-separated; default WEBAUTHN_ORIGINS).
	ReturnOrigins []string
	// FrameAncestors are the CSP frame-ancestors sources that may embed the pages in a frame
	// (env UI_FRAME_ANCESTORS, space- or comma-separated; default 'none').
	FrameAncestors []string
	// ProductName is shown in page titles and headings (env PRODUCT_NAME).
	ProductName string
	// SupportURL, LogoURL, AccentColor and DefaultLocale brand the pages (env SUPPORT_URL,
	// LOGO_URL, ACCENT_COLOR, DEFAULT_LOCALE; see pkg/brand for what each accepts).
	SupportURL, LogoURL, AccentColor, DefaultLocale string
	// Log receives one line per request; nil logs nothing.
	Log *slog.Logger
}

// DefaultProductName is the ProductName when none is configured.
const DefaultProductName = brand.DefaultProductName

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	b, err := brand.FromEnv(getenv)
	if err != nil {
		return Config{}, fmt.Errorf("webui: %w", err)
	}
	c := Config{ProductName: b.ProductName, SupportURL: b.SupportURL, LogoURL: b.LogoURL, AccentColor: b.AccentColor, DefaultLocale: b.DefaultLocale}
	origins := getenv("UI_RETURN_ORIGINS")
	if strings.TrimSpace(origins) == "" {
		origins = getenv("WEBAUTHN_ORIGINS")
	}
	for _, o := range splitList(origins, ",") {
		norm, err := ParseOrigin(o)
		if err != nil {
			return Config{}, fmt.Errorf("webui: UI_RETURN_ORIGINS: %w", err)
		}
		c.ReturnOrigins = append(c.ReturnOrigins, norm)
	}
	for _, src := range splitList(strings.ReplaceAll(getenv("UI_FRAME_ANCESTORS"), ",", " "), " ") {
		if !validFrameSource(src) {
			return Config{}, fmt.Errorf("webui: UI_FRAME_ANCESTORS: %q is not 'none', 'self' or an origin such as https://app.example.com", src)
		}
		c.FrameAncestors = append(c.FrameAncestors, src)
	}
	if len(c.FrameAncestors) > 1 && slices.Contains(c.FrameAncestors, "'none'") {
		return Config{}, fmt.Errorf("webui: UI_FRAME_ANCESTORS: 'none' cannot be combined with other sources")
	}
	return c, nil
}

// validFrameSource accepts a CSP source without a path: 'none', 'self', or an origin such as
// https://app.example.com, https://*.example.com or http://localhost:3000.
func validFrameSource(src string) bool {
	if src == "'none'" || src == "'self'" {
		return true
	}
	rest, ok := strings.CutPrefix(src, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(src, "http://"); !ok {
			return false
		}
	}
	rest = strings.TrimPrefix(rest, "*.")
	host, port, hasPort := strings.Cut(rest, ":")
	if host == "" || (hasPort && (port == "" || len(port) > 5)) {
		return false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseOrigin checks an exact origin and returns it normalized (lower case, no trailing
// slash): https with any host, or http only for localhost and loopback addresses.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin such as https://app.example.com", s)
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	switch {
	case scheme == "https":
	case scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1"):
	default:
		return "", fmt.Errorf("%q: an origin must be https (http only for localhost)", s)
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// asset is one file served under /ui/assets/.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// UI serves the pages and their assets. Everything is rendered once, in New.
type UI struct {
	pages   map[string]map[string][]byte // locale → page → HTML
	deflt   string                       // the locale when the request names none the UI has
	assets  map[string]asset
	version string
	headers map[string]string // security headers of every response
	log     *slog.Logger
}

// New renders the pages for cfg, in every locale.
func New(cfg Config) (*UI, error) {
	b, err := brand.Brand{ProductName: cfg.ProductName, SupportURL: cfg.SupportURL, LogoURL: cfg.LogoURL,
		AccentColor: cfg.AccentColor, DefaultLocale: cfg.DefaultLocale}.Normalize()
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	u := &UI{pages: map[string]map[string][]byte{}, assets: map[string]asset{}, log: cfg.Log, deflt: b.DefaultLocale}

	// The assets: the embedded files, plus the shared WebAuthn bridge and the brand's colors.
	files, err := fs.Sub(static, "static/assets")
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		u.addAsset(p, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	u.addAsset("webauthn.js", []byte(webauthnjs.Source))
	u.addAsset("brand.css", []byte(brandCSS(b.AccentColor)))
	for _, name := range slices.Sorted(maps.Keys(u.assets)) {
		sum.Write([]byte(name + u.assets[name].etag))
	}
	u.version = hex.EncodeToString(sum.Sum(nil))[:12]

	catalogs, err := Catalogs()
	if err != nil {
		return nil, err
	}
	layout, err := static.ReadFile("static/layout.html")
	if err != nil {
		return nil, err
	}
	logo := "assets/icon.svg?v=" + u.version
	if b.LogoURL != "" {
		logo = b.LogoURL
	}
	for _, l := range locale.Supported {
		cat := catalogs[l]
		conf, err := json.Marshal(struct {
			ReturnOrigins []string        `json:"returnOrigins"`
			ProductName   string          `json:"productName"`
			Locale        string          `json:"locale"`
			Messages      *locale.Catalog `json:"messages"`
		}{append([]string{}, cfg.ReturnOrigins...), b.ProductName, l, cat})
		if err != nil {
			return nil, err
		}
		support := ""
		if b.SupportURL != "" {
			support = `<p class="support">` + html.EscapeString(cat.T("layout.support")) + ` <a href="` + html.EscapeString(b.SupportURL) +
				`" rel="noopener noreferrer" target="_blank">` + html.EscapeString(cat.T("layout.support_link")) + "</a></p>"
		}
		// {{t:key}} may appear in the layout and in the page; they are filled before the
		// config (which holds the catalog) goes in.
		frame, err := translate(string(layout), cat)
		if err != nil {
			return nil, fmt.Errorf("webui: layout.html in %s: %w", l, err)
		}
		u.pages[l] = map[string][]byte{}
		for _, name := range Pages {
			body, err := static.ReadFile("static/" + name + ".html")
			if err != nil {
				return nil, err
			}
			translated, err := translate(string(body), cat)
			if err != nil {
				return nil, fmt.Errorf("webui: %s.html in %s: %w", name, l, err)
			}
			title, main, ok := strings.Cut(translated, "\n")
			if !ok {
				return nil, fmt.Errorf("webui: %s.html: the first line is the title", name)
			}
			page := strings.NewReplacer(
				"{{title}}", strings.TrimSpace(title)+" · "+html.EscapeString(b.ProductName),
				// {{v}} may appear in the layout and in the page body.
				"{{v}}", u.version,
				"{{product}}", html.EscapeString(b.ProductName),
				"{{config}}", html.EscapeString(string(conf)),
				"{{page}}", name,
				"{{lang}}", l,
				"{{logo}}", html.EscapeString(logo),
				"{{support}}", support,
				"{{main}}", strings.ReplaceAll(main, "{{v}}", u.version),
			).Replace(frame)
			u.pages[l][name] = []byte(page)
		}
	}

	imgSrc := "'self' blob:"
	if strings.HasPrefix(b.LogoURL, "data:") {
		imgSrc += " data:"
	}
	ancestors := "'none'"
	if len(cfg.FrameAncestors) > 0 {
		ancestors = strings.Join(cfg.FrameAncestors, " ")
	}
	u.headers = map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + imgSrc + "; " +
			"connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
			"frame-src 'none'; worker-src 'none'; manifest-src 'none'; require-trusted-types-for 'script'; " +
			"frame-ancestors " + ancestors,
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=(), payment=()",
	}
	if ancestors == "'none'" {
		u.headers["X-Frame-Options"] = "DENY" // for browsers without frame-ancestors
	}
	return u, nil
}

// translate fills every {{t:key}} of page with the catalog's text, HTML-escaped.
func translate(page string, cat *locale.Catalog) (string, error) {
	var out strings.Builder
	for {
		i := strings.Index(page, "{{t:")
		if i < 0 {
			break
		}
		j := strings.Index(page[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("an unclosed {{t:")
		}
		key := page[i+4 : i+j]
		if _, ok := cat.Message(key); !ok {
			return "", fmt.Errorf("no message %q", key)
		}
		out.WriteString(page[:i])
		out.WriteString(html.EscapeString(cat.T(key)))
		page = page[i+j+2:]
	}
	out.WriteString(page)
	return out.String(), nil
}

// brandCSS sets the accent color of buttons and links, with the text color that reads on it.
// In dark mode the brand's color is kept only where it stands out from the dark card
// (WCAG AA, 4.5:1); otherwise the pages' own dark accent stays.
func brandCSS(accent string) string {
	if accent == "" {
		return "/* no brand accent configured */\n"
	}
	css := ":root { --accent: " + accent + "; --accent-fg: " + brand.OnAccent(accent) + "; }\n"
	if brand.Contrast(accent, "#161b22") >= 4.5 {
		css += "@media (prefers-color-scheme: dark) { :root { --accent: " + accent + "; --accent-fg: " + brand.OnAccent(accent) + "; } }\n"
	}
	return css
}

func (u *UI) addAsset(name string, b []byte) {
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	h := sha256.Sum256(b)
	u.assets[name] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(h[:8]) + `"`}
}

// Version is the assets' content hash, which the pages put in their asset URLs.
func (u *UI) Version() string { return u.version }

// Handler is the Lambda handler.
func (u *UI) Handler() Handler { return u.Handle }

// Handle answers one API Gateway event.
func (u *UI) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	resp := u.serve(req)
	if u.log != nil {
		u.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("route", req.RouteKey), slog.Int("status", resp.StatusCode),
			slog.String("requestId", req.RequestContext.RequestID),
			slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000))
	}
	return resp, nil
}

func (u *UI) serve(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	switch req.RouteKey {
	case RoutePage:
		page := req.PathParameters["page"]
		l := u.locale(req)
		if body, ok := u.pages[l][page]; ok {
			h := u.with(map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
				"Content-Language": l, "Vary": "Accept-Language"})
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h, Body: string(body)}
		}
		return u.notFound(req, "page_not_found", "no such page; the pages are /ui/challenge, /ui/enroll, /ui/security and /ui/admin")
	case RouteAsset:
		a, ok := u.assets[req.PathParameters["file"]]
		if !ok {
			return u.notFound(req, "asset_not_found", "no such asset")
		}
		h := u.with(map[string]string{"Content-Type": a.contentType, "ETag": a.etag})
		// Pages name assets with ?v=<content hash>: such a URL never changes content.
		if req.QueryStringParameters["v"] == u.version {
			h["Cache-Control"] = "public, max-age=31536000, immutable"
		} else {
			h["Cache-Control"] = "no-cache"
		}
		if match := header(req, "if-none-match"); match != "" && match == a.etag {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: h}
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h, Body: string(a.body)}
	}
	return u.notFound(req, "route_not_found", "no such route")
}

// locale is the page's language: ?locale= (an app's explicit choice, or the page's own switch
// to its token's locale claim), else Accept-Language, else the default.
func (u *UI) locale(req events.APIGatewayV2HTTPRequest) string {
	for _, candidate := range []string{req.QueryStringParameters["locale"], header(req, "accept-language")} {
		if l, ok := locale.Match(candidate); ok {
			return l
		}
	}
	return u.deflt
}

func (u *UI) with(extra map[string]string) map[string]string {
	h := make(map[string]string, len(u.headers)+len(extra))
	for k, v := range u.headers {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// notFound is an RFC 9457 problem, like every other error of the service.
func (u *UI) notFound(req events.APIGatewayV2HTTPRequest, code, detail string) events.APIGatewayV2HTTPResponse {
	body := api.Problem{Type: api.ProblemType(code), Title: http.StatusText(http.StatusNotFound), Status: http.StatusNotFound, Code: code, Detail: detail}
	if id := req.RequestContext.RequestID; id != "" {
		body.Instance = api.ProblemInstance(id)
	}
	raw, _ := json.Marshal(body)
	h := u.with(map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"})
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound, Headers: h, Body: string(raw)}
}

func header(req events.APIGatewayV2HTTPRequest, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
