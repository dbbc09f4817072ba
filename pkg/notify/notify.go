// Package notify delivers one-time codes by email (SES v2, through pkg/sesclient) and SMS
// (SNS, through pkg/snsclient), and tells users by email when their sign-in methods change.
//
// A code appears only in the body of the message sent to its destination: never in a subject
// (which lock screens and mail lists show), a log line or an error. Errors from AWS are
// returned wrapped, with the code scrubbed from their text in case a service ever echoes
// the message back.
package notify

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/brand"
	"github.com/mfa-service/mfa/pkg/contact"
	"github.com/mfa-service/mfa/pkg/locale"
	"github.com/mfa-service/mfa/pkg/sesclient"
	"github.com/mfa-service/mfa/pkg/snsclient"
)

// SESAPI is the part of the SES v2 client (sesclient.Client) the Notifier uses: SendEmail
// sends one email and returns SES's message id.
type SESAPI interface {
	SendEmail(ctx context.Context, m sesclient.Email) (messageID string, err error)
}

// SNSAPI is the part of the SNS client (snsclient.Client) the Notifier uses: Publish sends
// one SMS and returns SNS's message id.
type SNSAPI interface {
	Publish(ctx context.Context, m snsclient.SMS) (messageID string, err error)
}

// Config says how messages look and who sends them.
type Config struct {
	// Sender is the From address, a verified SES identity (env EMAIL_SENDER). Required when
	// the Notifier sends email.
	Sender string
	// SenderName is the name shown with the From address (env EMAIL_SENDER_NAME, default the
	// product name).
	SenderName string
	// ProductName names the service in every message (env PRODUCT_NAME, default
	// DefaultProductName). In the Latin-script locales SMS are GSM-7, so it must be plain
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

// DefaultProductName is the ProductName when none is configured.
const DefaultProductName = brand.DefaultProductName

// ConfigFromEnv reads a Config from the environment variables named on its fields.
func ConfigFromEnv(getenv func(string) string) Config {
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

// Purposes of a code; they change the email's wording.
const (
	PurposeEnrollment = "enrollment" // confirming a new email address or phone number
	PurposeSignIn     = "sign_in"
	PurposeStepUp     = "step_up" // confirming a sensitive action in a signed-in session
)

// ErrNotConfigured is returned by a send on a channel the Notifier has no client for.
var ErrNotConfigured = errors.New("notify: channel not configured")

// Notifier sends codes and notices. It is safe for concurrent use.
type Notifier struct {
	ses   SESAPI
	sns   SNSAPI
	cfg   Config
	brand brand.Brand
	from  string // the sender's name and address, its domain in Punycode
	now   func() time.Time
}

var (
	e164Pattern     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	senderIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,11}$`)
)

// New returns a Notifier that sends email through ses and SMS through sns. Either client may
// be nil when the caller never sends on that channel; a send on it then fails with
// ErrNotConfigured. New checks cfg, so that a bad setting fails at cold start rather than
// at a user's first sign-in.
func New(ses SESAPI, sns SNSAPI, cfg Config) (*Notifier, error) {
	b, err := brand.Brand{ProductName: cfg.ProductName, SupportURL: cfg.SupportURL, AccentColor: cfg.AccentColor, DefaultLocale: cfg.DefaultLocale}.Normalize()
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	cfg.ProductName = b.ProductName
	n := &Notifier{ses: ses, sns: sns, cfg: cfg, brand: b, now: time.Now}

	if cfg.Sender != "" || ses != nil {
		sender, err := contact.ParseEmail(cfg.Sender)
		if err != nil {
			return nil, fmt.Errorf("notify: sender: %w", err)
		}
		name := strings.TrimSpace(cfg.SenderName)
		if name == "" {
			name = b.ProductName
		}
		if len([]rune(name)) > maxSenderName || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) {
			return nil, fmt.Errorf("notify: sender name must be at most %d characters of plain text", maxSenderName)
		}
		n.from = fromHeader(name, sender.ASCII)
	}
	if id := cfg.SMSSenderID; id != "" && (!senderIDPattern.MatchString(id) || !strings.ContainsFunc(id, unicode.IsLetter)) {
		return nil, errors.New("notify: SMS sender id must be 1 to 11 letters and digits, with at least one letter")
	}
	if d := cfg.WebOTPDomain; d != "" && (len(d) > 253 || !isHostname(d)) {
		return nil, errors.New("notify: WebOTP domain must be a lower-case host name, like example.com")
	}
	// The longest SMS this configuration produces for a 10-minute code must fit in one
	// segment in every locale; a longer one would be split, costing two or three.
	for _, l := range locale.Supported {
		if _, err := n.smsText(l, "000000", 10*time.Minute); err != nil {
			return nil, err
		}
	}
	return n, nil
}

const maxSenderName = 64

// fromHeader is the From address with its display name: quoted when it is printable ASCII,
// else an RFC 2047 encoded word (SES sends the header as given).
func fromHeader(name, addr string) string {
	ascii := true
	for _, r := range name {
		if r < 0x20 || r > 0x7e {
			ascii = false
		}
	}
	if ascii {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `" <` + addr + ">"
	}
	return mime.BEncoding.Encode("utf-8", name) + " <" + addr + ">"
}

// SendEmailCode emails code to the address to, in the language lang (one of
// locale.Supported; anything else means the default). purpose is one of the Purpose
// constants, ttl how long the code stays valid.
func (n *Notifier) SendEmailCode(ctx context.Context, to, code, purpose, lang string, ttl time.Duration) error {
	if n.ses == nil {
		return ErrNotConfigured
	}
	if err := checkCode(code, purpose, ttl); err != nil {
		return err
	}
	addr, err := contact.ParseEmail(to)
	if err != nil {
		return fmt.Errorf("notify: email code: %w", err)
	}
	msg := n.codeEmail(lang, code, purpose, ttl)
	return redact(n.sendEmail(ctx, addr.ASCII, msg), "send email code", code)
}

// SendSMSCode texts code to the E.164 number toE164, in the language lang.
func (n *Notifier) SendSMSCode(ctx context.Context, toE164, code, purpose, lang string, ttl time.Duration) error {
	if n.sns == nil {
		return ErrNotConfigured
	}
	if err := checkCode(code, purpose, ttl); err != nil {
		return err
	}
	// The number was parsed and validated when it was bound; here only its E.164 shape is
	// checked, so that this package does not link the (large) phone-number metadata.
	if !e164Pattern.MatchString(toE164) {
		return fmt.Errorf("notify: SMS code: %w", contact.ErrInvalid)
	}
	text, err := n.smsText(lang, code, ttl)
	if err != nil {
		return err
	}
	_, err = n.sns.Publish(ctx, snsclient.SMS{
		PhoneNumber: toE164,
		Message:     text,
		// Transactional: routed for reliability, not price, and sent outside quiet hours.
		SMSType:  "Transactional",
		SenderID: n.cfg.SMSSenderID, // none when empty
	})
	return redact(err, "send SMS code", code)
}

// SendSecurityNotice emails the user that their sign-in methods changed. It never contains a
// code or secret: Notice has no field for one.
func (n *Notifier) SendSecurityNotice(ctx context.Context, to string, notice Notice) error {
	if n.ses == nil {
		return ErrNotConfigured
	}
	addr, err := contact.ParseEmail(to)
	if err != nil {
		return fmt.Errorf("notify: security notice: %w", err)
	}
	if notice.At.IsZero() {
		notice.At = n.now()
	}
	msg, err := n.noticeEmail(notice)
	if err != nil {
		return err
	}
	return redact(n.sendEmail(ctx, addr.ASCII, msg), "send security notice", "")
}

func (n *Notifier) sendEmail(ctx context.Context, to string, m email) error {
	_, err := n.ses.SendEmail(ctx, sesclient.Email{From: n.from, To: []string{to}, Subject: m.subject, Text: m.text, HTML: m.html})
	return err
}

// checkCode refuses what is not a code this service makes, so that nothing else (a secret
// passed by mistake) is ever mailed, and says so without repeating it.
func checkCode(code, purpose string, ttl time.Duration) error {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return errors.New("notify: a code must be 6 digits")
	}
	switch purpose {
	case PurposeEnrollment, PurposeSignIn, PurposeStepUp:
	default:
		return fmt.Errorf("notify: unknown code purpose %q", purpose)
	}
	if ttl <= 0 {
		return errors.New("notify: a code's lifetime must be positive")
	}
	return nil
}

// sendError is a failed send. Its text has the code scrubbed out; Unwrap gives the client's
// error for errors.As (smithy.APIError; sesclient.APIError and snsclient.APIError).
type sendError struct {
	op   string
	err  error
	code string
}

func (e *sendError) Error() string {
	msg := "notify: " + e.op + ": " + e.err.Error()
	if e.code != "" {
		msg = strings.ReplaceAll(msg, e.code, "[code]")
	}
	return msg
}

func (e *sendError) Unwrap() error { return e.err }

func redact(err error, op, code string) error {
	if err == nil {
		return nil
	}
	return &sendError{op: op, err: err, code: code}
}

// FromAWS builds a Notifier on SES v2 (sesclient) and SNS (snsclient) clients made from one
// AWS config. Only the functions that send call it, so only their binaries link those clients.
func FromAWS(c aws.Config, cfg Config) (*Notifier, error) {
	ses, err := sesclient.New(c)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	sns, err := snsclient.New(c)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return New(ses, sns, cfg)
}
