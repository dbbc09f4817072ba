package notify

import (
	"errors"
	"fmt"
	"html"
	"net/netip"
	"strings"
	"time"
	"unicode"
)

// Notice describes a change to a user's sign-in methods.
type Notice struct {
	Kind       string    // NoticeFactorAdded, NoticeFactorRemoved or NoticeFactorsReset
	FactorType string    // totp, webauthn, email, sms, backup_codes; unused for a reset
	Label      string    // the factor's label, if any (user-chosen text: shown quoted, escaped)
	At         time.Time // when it happened; zero means now
	IP         string    // the address the change came from, if known
}

// Kinds of Notice.
const (
	NoticeFactorAdded   = "factor_added"
	NoticeFactorRemoved = "factor_removed"
	NoticeFactorsReset  = "factors_reset"
)

// email is a rendered message.
type email struct{ subject, text, html string }

// codeEmailData fills codeHTML. Every value is HTML-escaped, so a product name or anything
// else interpolated cannot add markup.
type codeEmailData struct {
	Subject, Product, Code, Action, Expiry, IfNotYou string
}

// The HTML bodies are built with html.EscapeString rather than html/template: templates use
// reflection that keeps every exported method of every type in the binary (the SDK clients'
// included), which would put the sending functions over their 15 MB budget.

const htmlHead = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>`

const htmlBody = `</title></head>
<body style="font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1a1a1a;line-height:1.5">
`

func codeHTML(d codeEmailData) string {
	e := html.EscapeString
	return htmlHead + e(d.Subject) + htmlBody +
		"<p>Your " + e(d.Product) + " verification code is</p>\n" +
		`<p style="font-family:Menlo,Consolas,monospace;font-size:28px;font-weight:bold;letter-spacing:6px">` + e(d.Code) + "</p>\n" +
		"<p>" + e(d.Action) + "</p>\n" +
		"<p>It expires in " + e(d.Expiry) + ". " + e(d.IfNotYou) + "</p>\n</body></html>\n"
}

// codeEmail renders the email that carries a code. The subject is the same for every code,
// so mail previews and lock screens show no code.
func codeEmail(product, code, purpose string, ttl time.Duration) (email, error) {
	d := codeEmailData{
		Subject:  "Your " + product + " verification code",
		Product:  product,
		Code:     code,
		Expiry:   minutes(ttl, "minute", "minutes"),
		IfNotYou: "If you did not ask for it, ignore this email and consider changing your password.",
	}
	switch purpose {
	case PurposeEnrollment:
		d.Action = "Enter it to confirm this email address for sign-in codes."
		// Someone may have typed this address by mistake or on purpose; the reader's
		// password is not at stake.
		d.IfNotYou = "If you did not ask for it, ignore this email."
	case PurposeStepUp:
		d.Action = "Enter it to confirm that it is you."
	default:
		d.Action = "Enter it to finish signing in."
	}
	text := fmt.Sprintf("Your %s verification code is %s.\n\n%s\n\nIt expires in %s. %s\n",
		d.Product, d.Code, d.Action, d.Expiry, d.IfNotYou)
	return email{subject: d.Subject, text: text, html: codeHTML(d)}, nil
}

// smsText renders the SMS that carries a code: one GSM-7 segment of at most 160 characters.
func (n *Notifier) smsText(code string, ttl time.Duration) (string, error) {
	text := fmt.Sprintf("%s is your %s verification code. It expires in %s.", code, n.cfg.ProductName, minutes(ttl, "min", "min"))
	if n.cfg.WebOTPDomain != "" {
		// WebOTP (https://wicg.github.io/web-otp/): the last line binds the code to the site.
		text += "\n\n@" + n.cfg.WebOTPDomain + " #" + code
	}
	if size, ok := gsm7Len(text); !ok || size > 160 {
		return "", errors.New("notify: the SMS would not fit in one 160-character GSM-7 message; shorten PRODUCT_NAME or WEBOTP_DOMAIN, or use only GSM characters")
	}
	return text, nil
}

// noticeData fills noticeHTML.
type noticeData struct {
	Subject, Product, What, When, From, Advice string
}

func noticeHTML(d noticeData) string {
	e := html.EscapeString
	from := ""
	if d.From != "" {
		from = "<br>From: " + e(d.From)
	}
	return htmlHead + e(d.Subject) + htmlBody +
		"<p>" + e(d.What) + "</p>\n" +
		"<p>When: " + e(d.When) + from + "</p>\n" +
		"<p>" + e(d.Advice) + "</p>\n</body></html>\n"
}

// factorNames say what a factor type is, in words a user knows.
var factorNames = map[string]string{
	"totp":         "An authenticator app",
	"webauthn":     "A passkey",
	"email":        "An email address for sign-in codes",
	"sms":          "A phone number for text message codes",
	"backup_codes": "A set of backup codes",
}

// noticeEmail renders a security notice.
func noticeEmail(product string, nt Notice) (email, error) {
	name, ok := factorNames[nt.FactorType]
	if !ok {
		name = "A sign-in method"
	}
	if label := cleanLabel(nt.Label); label != "" {
		name += ` ("` + label + `")`
	}
	d := noticeData{
		Product: product,
		When:    nt.At.UTC().Format("2 January 2006, 15:04 UTC"),
		Advice:  "If this was you, there is nothing to do. If it was not, change your password and contact your administrator right away.",
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(nt.IP)); err == nil {
		d.From = "IP address " + ip.Unmap().String()
	}
	switch nt.Kind {
	case NoticeFactorAdded:
		d.Subject = "A sign-in method was added to your " + product + " account"
		d.What = name + " was added to your " + product + " account for two-step sign-in."
	case NoticeFactorRemoved:
		d.Subject = "A sign-in method was removed from your " + product + " account"
		d.What = name + " was removed from your " + product + " account."
	case NoticeFactorsReset:
		d.Subject = "Your " + product + " sign-in methods were reset"
		d.What = "All two-step sign-in methods of your " + product + " account were removed, with its backup codes and trusted devices. You will be asked to set up a new one."
	default:
		return email{}, fmt.Errorf("notify: unknown notice kind %q", nt.Kind)
	}
	text := d.What + "\n\nWhen: " + d.When + "\n"
	if d.From != "" {
		text += "From: " + d.From + "\n"
	}
	text += "\n" + d.Advice + "\n"
	return email{subject: d.Subject, text: text, html: noticeHTML(d)}, nil
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

// minutes renders ttl in whole minutes, rounded up: a code must not expire before the time
// the message promises.
func minutes(ttl time.Duration, one, many string) string {
	m := int((ttl + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", m, many)
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
