// Package notifyconfig is the configuration of package notify: how messages look and who
// sends them. It is a package of its own, linking no AWS client, so that the composition root
// can read it in every function while only the functions that send link SES and SNS.
package notifyconfig

import (
	"net/url"
	"strings"
)

// Config says how messages look and who sends them.
type Config struct {
	// Sender is the From address, a verified SES identity (env EMAIL_SENDER). Required when
	// the Notifier sends email.
	Sender string
	// SenderName is the name shown with the From address (env EMAIL_SENDER_NAME, default the
	// product name).
	SenderName string
	// ProductName names the service in every message (env PRODUCT_NAME, default
	// notify.DefaultProductName). In the Latin-script locales SMS are GSM-7, so it must be plain
	// text in the GSM 03.38 alphabet.
	ProductName string
	// SupportURL, when set, ends every email with where to get help (env SUPPORT_URL).
	SupportURL string
	// AccentColor colors the emails' product name and top rule (env ACCENT_COLOR).
	AccentColor string
	// DefaultLocale is the language of a message when nothing says which (env
	// DEFAULT_LOCALE, default en).
	DefaultLocale string
	// SMSSenderID is the optional alphanumeric sender id that SMS show as their sender where
	// the country allows it (env SMS_SENDER_ID): 1 to 11 letters and digits, at least one
	// letter.
	SMSSenderID string
	// WebOTPDomain is the host of the origin-bound last line "@host #code" of every SMS, so
	// that a browser on this host can offer to fill the code in (env WEBOTP_DOMAIN; default
	// the host of the first WEBAUTHN_ORIGINS origin, where the pages run). Empty: no line.
	WebOTPDomain string
}

// FromEnv reads a Config from the environment variables named on its fields.
func FromEnv(getenv func(string) string) Config {
	c := Config{
		Sender:        getenv("EMAIL_SENDER"),
		SenderName:    getenv("EMAIL_SENDER_NAME"),
		ProductName:   getenv("PRODUCT_NAME"),
		SupportURL:    getenv("SUPPORT_URL"),
		AccentColor:   getenv("ACCENT_COLOR"),
		DefaultLocale: getenv("DEFAULT_LOCALE"),
		SMSSenderID:   getenv("SMS_SENDER_ID"),
		WebOTPDomain:  getenv("WEBOTP_DOMAIN"),
	}
	if c.WebOTPDomain == "" {
		first, _, _ := strings.Cut(getenv("WEBAUTHN_ORIGINS"), ",")
		if u, err := url.Parse(strings.TrimSpace(first)); err == nil {
			c.WebOTPDomain = strings.ToLower(u.Hostname())
		}
	}
	return c
}
