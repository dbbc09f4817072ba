package notify

import (
	"embed"
	"fmt"
	"html"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/mfa-service/mfa/pkg/locale"
)

// Notice describes a change to a user's sign-in methods.
type Notice struct {
	Kind       string    // NoticeFactorAdded, NoticeFactorRemoved or NoticeFactorsReset
	FactorType string    // totp, webauthn, email, sms, backup_codes; unused for a reset
	Label      string    // the factor's label, if any (user-chosen text: shown quoted, escaped)
	At         time.Time // when it happened; zero means now
	IP         string    // the address the change came from, if known
	Locale     string    // the language to write in (a locale.Supported one); "" for the default
}

// Kinds of Notice.
const (
	NoticeFactorAdded   = "factor_added"
	NoticeFactorRemoved = "factor_removed"
	NoticeFactorsReset  = "factors_reset"
)

// The message catalogs, one JSON file per locale (see pkg/locale for the format).
//
//go:embed locales/*.json
var catalogFiles embed.FS

var catalogs = mustLoad()

func mustLoad() map[string]*locale.Catalog {
	c, err := locale.LoadCatalogs(catalogFiles, "locales")
	if err != nil {
		panic(err) // a build defect: TestCatalogs fails first
	}
	return c
}

// catalogSchema is every message key the code renders, with the placeholders it fills.
// TestCatalogs holds every locale to it.
var catalogSchema = map[string][]string{
	"code.subject":                  {"product"},
	"code.intro":                    {"product"},
	"code.action.enrollment":        nil,
	"code.action.sign_in":           nil,
	"code.action.step_up":           nil,
	"code.expires":                  nil, // plural, {n}
	"code.ignore":                   nil,
	"code.ignore.enrollment":        nil,
	"code.never_share":              {"product"},
	"notice.subject.factor_added":   {"product"},
	"notice.subject.factor_removed": {"product"},
	"notice.subject.factors_reset":  {"product"},
	"notice.body.factor_added":      {"method", "product"},
	"notice.body.factor_removed":    {"method", "product"},
	"notice.body.factors_reset":     {"product"},
	"notice.method.totp":            nil,
	"notice.method.webauthn":        nil,
	"notice.method.email":           nil,
	"notice.method.sms":             nil,
	"notice.method.backup_codes":    nil,
	"notice.method.other":           nil,
	"notice.method.labelled":        {"method", "label"},
	"notice.when":                   {"when"},
	"notice.from":                   {"ip"},
	"notice.advice":                 nil,
	"date":                          {"day", "month", "year", "time"},
	"months":                        nil,
	"support":                       {"url"},
	"sms":                           {"code", "product", "minutes"},
	"sms.short":                     {"code", "product"},
}

// catalog returns the catalog of l, or of the default locale.
func (n *Notifier) catalog(l string) *locale.Catalog {
	if c, ok := catalogs[l]; ok {
		return c
	}
	return catalogs[n.brand.DefaultLocale]
}

// email is a rendered message.
type email struct{ lang, subject, text, html string }

// paragraph is one block of an email: plain text, or the code shown large.
type paragraph struct {
	text string
	code bool
}

// The HTML bodies are built with html.EscapeString rather than html/template: templates use
// reflection that keeps every exported method of every type in the binary (the SDK clients'
// included), which would put the sending functions over their 15 MB budget. Every value is
// escaped, so a product name or a label cannot add markup. The layout is a table with
// inline styles, which is what mail clients render alike; it has no image at all (remote
// images are blocked by many clients and track their readers).
func (n *Notifier) render(c *locale.Catalog, subject string, paras []paragraph) email {
	e := html.EscapeString
	accent := n.brand.AccentColor
	if accent == "" {
		accent = "#2753c9"
	}
	var text, body strings.Builder
	for i, p := range paras {
		if i > 0 {
			text.WriteString("\n\n")
		}
		if p.code {
			text.WriteString("    " + p.text)
			body.WriteString(`<p style="margin:8px 0 16px;font-family:Menlo,Consolas,'Courier New',monospace;font-size:30px;font-weight:bold;letter-spacing:6px;color:#1a1a1a">` + e(p.text) + "</p>\n")
			continue
		}
		text.WriteString(p.text)
		lines := strings.Split(p.text, "\n")
		for i := range lines {
			lines[i] = e(lines[i])
		}
		body.WriteString(`<p style="margin:0 0 12px">` + strings.Join(lines, "<br>") + "</p>\n")
	}
	text.WriteString("\n")
	footer := ""
	if u := n.brand.SupportURL; u != "" {
		line := c.T("support", "url", u)
		text.WriteString("\n--\n" + line + "\n")
		before, _, _ := strings.Cut(c.T("support", "url", "\x00"), "\x00")
		footer = `<p style="margin:16px 0 0;font-size:13px;color:#57606a">` + e(strings.TrimSpace(before)) +
			` <a href="` + e(u) + `" style="color:` + accent + `">` + e(strings.TrimPrefix(u, "mailto:")) + "</a></p>\n"
	}
	doc := `<!DOCTYPE html>
<html lang="` + c.Locale + `"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>` + e(subject) + `</title></head>
<body style="margin:0;padding:0;background:#f6f8fa">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f6f8fa"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background:#ffffff;border-top:4px solid ` + accent + `;border-radius:6px">
<tr><td style="padding:24px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,'Hiragino Sans','Noto Sans CJK JP','Microsoft YaHei',sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a">
<p style="margin:0 0 16px;font-size:18px;font-weight:bold;color:` + accent + `">` + e(n.brand.ProductName) + "</p>\n" +
		body.String() + footer + "</td></tr></table>\n</td></tr></table>\n</body></html>\n"
	return email{lang: c.Locale, subject: subject, text: text.String(), html: doc}
}

// codeEmail renders the email that carries a code. The subject is the same for every code,
// so mail previews and lock screens show no code; the body has it exactly once.
func (n *Notifier) codeEmail(l, code, purpose string, ttl time.Duration) email {
	c := n.catalog(l)
	product := n.brand.ProductName
	ignore := c.T("code.ignore")
	if purpose == PurposeEnrollment {
		// Someone may have typed this address by mistake or on purpose; the reader's
		// password is not at stake.
		ignore = c.T("code.ignore.enrollment")
	}
	return n.render(c, c.T("code.subject", "product", product), []paragraph{
		{text: c.T("code.intro", "product", product)},
		{text: code, code: true},
		{text: c.T("code.action." + purpose)},
		{text: c.N("code.expires", minutes(ttl)) + " " + ignore},
		{text: c.T("code.never_share", "product", product)},
	})
}

// ucs2Locales are written in scripts GSM-7 cannot carry: their texts are UCS-2, 70
// characters (UTF-16 code units) a segment. Every other locale is written in GSM-7, 160
// septets a segment.
var ucs2Locales = map[string]bool{"ja": true, "zh-Hans": true}

// smsText renders the SMS that carries a code: the app's name, the code and its lifetime,
// in one segment, ending with the origin-bound line "@host #code" (WebOTP) so that the
// browser on that host offers to fill the code in. If the full text would need a second
// segment, the short one is sent.
func (n *Notifier) smsText(l, code string, ttl time.Duration) (string, error) {
	c := n.catalog(l)
	originLine := ""
	if n.cfg.WebOTPDomain != "" {
		originLine = "\n\n@" + n.cfg.WebOTPDomain + " #" + code
	}
	full := c.T("sms", "code", code, "product", n.brand.ProductName, "minutes", strconv.Itoa(minutes(ttl))) + originLine
	short := c.T("sms.short", "code", code, "product", n.brand.ProductName) + originLine
	for _, text := range []string{full, short} {
		if oneSegment(c.Locale, text) {
			return text, nil
		}
	}
	if ucs2Locales[c.Locale] {
		return "", fmt.Errorf("notify: the %s SMS would not fit in one 70-character message; shorten PRODUCT_NAME or WEBOTP_DOMAIN", c.Locale)
	}
	return "", fmt.Errorf("notify: the %s SMS would not fit in one 160-character GSM-7 message; shorten PRODUCT_NAME or WEBOTP_DOMAIN, or use only GSM characters", c.Locale)
}

// oneSegment reports whether text goes out as a single SMS in the encoding of its locale.
func oneSegment(l, text string) bool {
	if ucs2Locales[l] {
		return ucs2Len(text) <= 70
	}
	size, ok := gsm7Len(text)
	return ok && size <= 160
}

// ucs2Len counts UTF-16 code units, which is what a UCS-2 (really UTF-16) SMS spends.
func ucs2Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// noticeEmail renders a security notice.
func (n *Notifier) noticeEmail(nt Notice) (email, error) {
	c := n.catalog(nt.Locale)
	product := n.brand.ProductName
	method := c.T("notice.method.other")
	switch nt.FactorType {
	case "totp", "webauthn", "email", "sms", "backup_codes":
		method = c.T("notice.method." + nt.FactorType)
	}
	if label := cleanLabel(nt.Label); label != "" {
		method = c.T("notice.method.labelled", "method", method, "label", label)
	}
	var subject, what string
	switch nt.Kind {
	case NoticeFactorAdded, NoticeFactorRemoved:
		subject = c.T("notice.subject."+nt.Kind, "product", product)
		what = upperFirst(c.T("notice.body."+nt.Kind, "method", method, "product", product))
	case NoticeFactorsReset:
		subject = c.T("notice.subject."+nt.Kind, "product", product)
		what = c.T("notice.body."+nt.Kind, "product", product)
	default:
		return email{}, fmt.Errorf("notify: unknown notice kind %q", nt.Kind)
	}
	when := c.T("notice.when", "when", formatDate(c, nt.At.UTC()))
	if ip, err := netip.ParseAddr(strings.TrimSpace(nt.IP)); err == nil {
		when += "\n" + c.T("notice.from", "ip", ip.Unmap().String())
	}
	return n.render(c, subject, []paragraph{{text: what}, {text: when}, {text: c.T("notice.advice")}}), nil
}

// formatDate writes t in the catalog's date pattern.
func formatDate(c *locale.Catalog, t time.Time) string {
	months := strings.Split(c.T("months"), ",")
	month := strconv.Itoa(int(t.Month()))
	if len(months) == 12 {
		month = months[t.Month()-1]
	}
	return c.T("date", "day", strconv.Itoa(t.Day()), "month", month, "year", strconv.Itoa(t.Year()), "time", t.Format("15:04"))
}

// upperFirst capitalises a sentence that starts with an inserted phrase.
func upperFirst(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

const maxLabel = 64

// cleanLabel makes a user-chosen label safe to quote in a message: one line, no invisible
// characters, at most 64 characters.
func cleanLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxLabel {
		s = strings.TrimSpace(string(r[:maxLabel-1])) + "…"
	}
	return s
}

// minutes is ttl in whole minutes, rounded up: a code must not expire before the time the
// message promises.
func minutes(ttl time.Duration) int {
	return int((ttl + time.Minute - 1) / time.Minute)
}

// GSM 03.38: the basic alphabet costs one septet a character, the extension table two.
const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// gsm7Len returns how many GSM-7 septets s takes, and false if s has a character outside
// the GSM alphabet (which would make the whole SMS UCS-2, 70 characters a segment).
func gsm7Len(s string) (int, bool) {
	n := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			n++
		case strings.ContainsRune(gsmExtension, r):
			n += 2
		default:
			return 0, false
		}
	}
	return n, true
}
