package notify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/contact"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/notify/notifytest"
	"github.com/mfa-service/mfa/pkg/sesclient"
	"github.com/mfa-service/mfa/pkg/snsclient"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// recordingSES passes every call on to SES and keeps its input: moto records only the HTML
// body of an email that has both, and no SMS attributes, so those are checked here.
type recordingSES struct {
	notify.SESAPI
	mu     sync.Mutex
	inputs []sesclient.Email
}

func (r *recordingSES) SendEmail(ctx context.Context, m sesclient.Email) (string, error) {
	r.mu.Lock()
	r.inputs = append(r.inputs, m)
	r.mu.Unlock()
	return r.SESAPI.SendEmail(ctx, m)
}

func (r *recordingSES) only(t *testing.T) sesclient.Email {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inputs) != 1 {
		t.Fatalf("%d SendEmail calls, want 1", len(r.inputs))
	}
	return r.inputs[0]
}

type recordingSNS struct {
	notify.SNSAPI
	mu     sync.Mutex
	inputs []snsclient.SMS
}

func (r *recordingSNS) Publish(ctx context.Context, m snsclient.SMS) (string, error) {
	r.mu.Lock()
	r.inputs = append(r.inputs, m)
	r.mu.Unlock()
	return r.SNSAPI.Publish(ctx, m)
}

func (r *recordingSNS) only(t *testing.T) snsclient.SMS {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inputs) != 1 {
		t.Fatalf("%d Publish calls, want 1", len(r.inputs))
	}
	return r.inputs[0]
}

var seq atomic.Int64

// uniqueEmail gives each test its own mailbox in the shared moto.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d@example.com", prefix, seq.Add(1))
}

// uniquePhone gives each test its own number from Ofcom's range for drama (+44 20 7946 0xxx),
// spelled as a user would type it.
func uniquePhone() string {
	return fmt.Sprintf("+44207946%04d", seq.Add(1)%1000)
}

// motoNotifier builds a Notifier on the harness moto, with a freshly verified sender unless
// cfg names one (which then stays unverified).
func motoNotifier(t *testing.T, cfg notify.Config) (*notify.Notifier, *recordingSES, *recordingSNS) {
	t.Helper()
	awsCfg := awstest.Config(t)
	if cfg.Sender == "" {
		cfg.Sender = uniqueEmail("no-reply")
		// The service never creates identities (template.yaml does); the SDK's client does here.
		if _, err := sesv2.NewFromConfig(awsCfg).CreateEmailIdentity(t.Context(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(cfg.Sender)}); err != nil {
			t.Fatal(err)
		}
	}
	ses, err := sesclient.New(awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	sns, err := snsclient.New(awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	rs, rn := &recordingSES{SESAPI: ses}, &recordingSNS{SNSAPI: sns}
	n, err := notify.New(rs, rn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n, rs, rn
}

// sentTo returns the messages moto accepted for dest.
func sentTo(t *testing.T, dest string) []localaws.SentMessage {
	t.Helper()
	return notifytest.Messages(t, awstest.Endpoint(), dest)
}

var sixDigits = regexp.MustCompile(`[0-9]{6}`)

func TestSendEmailCode(t *testing.T) {
	t.Parallel()
	n, rs, _ := motoNotifier(t, notify.Config{ProductName: "Acme <b>"})
	to := uniqueEmail("ann")
	if err := n.SendEmailCode(t.Context(), to, "042917", notify.PurposeSignIn, "en", 10*time.Minute); err != nil {
		t.Fatal(err)
	}

	msgs := sentTo(t, to)
	if len(msgs) != 1 {
		t.Fatalf("%d messages to %s, want 1: %+v", len(msgs), to, msgs)
	}
	m := msgs[0]
	if m.Channel != localaws.ChannelEmail || m.Destination != to {
		t.Errorf("sent %s to %s, want email to %s", m.Channel, m.Destination, to)
	}
	if m.Subject != "Your Acme <b> verification code" {
		t.Errorf("subject = %q", m.Subject)
	}
	// The product name is escaped in the HTML, and is text again once rendered.
	if !strings.Contains(m.HTML, "Your Acme &lt;b&gt; verification code is") || strings.Contains(m.HTML, "Acme <b>") {
		t.Errorf("HTML does not escape the product name:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, ">042917</p>") {
		t.Errorf("HTML lacks the code:\n%s", m.HTML)
	}
	wantRendered := "Acme <b>\nYour Acme <b> verification code is:\n042917\nEnter it to finish signing in.\n" +
		"It expires in 10 minutes. If you did not ask for it, ignore this email and consider changing your password.\n" +
		"Never share this code. Acme <b> will never ask you for it."
	if m.Body != wantRendered {
		t.Errorf("HTML as text:\n%s\nwant\n%s", m.Body, wantRendered)
	}
	if got := notifytest.LastCode(t, awstest.Endpoint(), strings.ToUpper(to)); got != "042917" {
		t.Errorf("LastCode = %q", got)
	}

	// moto keeps only the HTML body, so the rest of the email is checked as sent (sesclient
	// sends its texts as UTF-8).
	in := rs.only(t)
	// The product name is the sender's name, unless EMAIL_SENDER_NAME says otherwise.
	if got := in.From; !strings.HasPrefix(got, `"Acme <b>" <no-reply-`) {
		t.Errorf("From = %q, want the configured sender with the product's name", got)
	}
	if len(in.To) != 1 || in.To[0] != to {
		t.Errorf("To = %q, want [%s]", in.To, to)
	}
	wantText := "Your Acme <b> verification code is:\n\n    042917\n\nEnter it to finish signing in.\n\n" +
		"It expires in 10 minutes. If you did not ask for it, ignore this email and consider changing your password.\n\n" +
		"Never share this code. Acme <b> will never ask you for it.\n"
	if got := in.Text; got != wantText {
		t.Errorf("text body:\n%s\nwant\n%s", got, wantText)
	}
	if strings.Contains(in.Subject, "042917") {
		t.Error("the subject holds the code")
	}
}

func TestSendEmailCodeWordingPerPurpose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		purpose      string
		ttl          time.Duration
		action, tail string
	}{
		{notify.PurposeEnrollment, 10 * time.Minute, "Enter it to confirm this email address for sign-in codes.", "It expires in 10 minutes. If you did not ask for it, ignore this email."},
		{notify.PurposeSignIn, 5 * time.Minute, "Enter it to finish signing in.", "It expires in 5 minutes. If you did not ask for it, ignore this email and consider changing your password."},
		{notify.PurposeStepUp, 30 * time.Second, "Enter it to confirm that it is you.", "It expires in 1 minute. If you did not ask for it, ignore this email and consider changing your password."},
		// Rounded up: the message never promises less time than the code has.
		{notify.PurposeSignIn, 9*time.Minute + time.Second, "Enter it to finish signing in.", "It expires in 10 minutes."},
	}
	for _, tt := range tests {
		t.Run(tt.purpose, func(t *testing.T) {
			n, rs, _ := motoNotifier(t, notify.Config{})
			to := uniqueEmail("purpose")
			if err := n.SendEmailCode(t.Context(), to, "100200", tt.purpose, "en", tt.ttl); err != nil {
				t.Fatal(err)
			}
			text := rs.only(t).Text
			if !strings.Contains(text, "\n\n"+tt.action+"\n\n") || !strings.Contains(text, tt.tail) {
				t.Errorf("text body:\n%s\nwant %q and %q", text, tt.action, tt.tail)
			}
			html := sentTo(t, to)[0].HTML
			if !strings.Contains(html, tt.action) {
				t.Errorf("HTML lacks %q:\n%s", tt.action, html)
			}
		})
	}
}

func TestSendEmailCodeToAnInternationalisedDomain(t *testing.T) {
	t.Parallel()
	n, rs, _ := motoNotifier(t, notify.Config{})
	local := strings.TrimSuffix(uniqueEmail("idn"), "@example.com")
	if err := n.SendEmailCode(t.Context(), local+"@Bücher.example", "314159", notify.PurposeEnrollment, "en", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	// SES takes no SMTPUTF8, so the domain goes out in Punycode.
	if got, want := rs.only(t).To, local+"@xn--bcher-kva.example"; len(got) != 1 || got[0] != want {
		t.Errorf("ToAddresses = %q, want [%s]", got, want)
	}
	if got := notifytest.LastCode(t, awstest.Endpoint(), local+"@bücher.example"); got != "314159" {
		t.Errorf("LastCode = %q", got)
	}
}

func TestSendSMSCode(t *testing.T) {
	t.Parallel()
	n, _, rn := motoNotifier(t, notify.Config{ProductName: "Acme", SMSSenderID: "Acme2FA"})
	to := uniquePhone()
	if err := n.SendSMSCode(t.Context(), to, "271828", notify.PurposeSignIn, "en", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	parsed, err := phone.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	msgs := sentTo(t, to)
	if len(msgs) != 1 {
		t.Fatalf("%d messages to %s, want 1: %+v", len(msgs), to, msgs)
	}
	want := localaws.SentMessage{ID: msgs[0].ID, Channel: localaws.ChannelSMS, Destination: parsed.E164,
		Body: "271828 is your Acme verification code. It expires in 10 min."}
	if msgs[0] != want {
		t.Errorf("sent %+v, want %+v", msgs[0], want)
	}
	if got := notifytest.LastCode(t, awstest.Endpoint(), parsed.E164); got != "271828" {
		t.Errorf("LastCode = %q", got)
	}

	// moto does not keep SMS attributes; check the request.
	wantSMS := snsclient.SMS{PhoneNumber: parsed.E164, Message: want.Body, SMSType: "Transactional", SenderID: "Acme2FA"}
	if in := rn.only(t); in != wantSMS {
		t.Errorf("published %+v, want %+v", in, wantSMS)
	}
}

func TestSendSMSCodeWithWebOTPLine(t *testing.T) {
	t.Parallel()
	n, _, rn := motoNotifier(t, notify.Config{WebOTPDomain: "login.example.com"})
	to := uniquePhone()
	if err := n.SendSMSCode(t.Context(), to, "007007", notify.PurposeEnrollment, "en", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	want := "007007 is your MFA Service verification code. It expires in 5 min.\n\n@login.example.com #007007"
	if msgs := sentTo(t, to); len(msgs) != 1 || msgs[0].Body != want {
		t.Errorf("sent %+v, want one SMS %q", msgs, want)
	}
	if in := rn.only(t); in.SenderID != "" || in.SMSType != "Transactional" {
		t.Errorf("published %+v, want a transactional SMS without a sender id", in)
	}
}

func TestSendSecurityNotice(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 16, 4, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		notice        notify.Notice
		subject, what string
	}{
		{
			notify.Notice{Kind: notify.NoticeFactorAdded, FactorType: "totp", Label: "Work phone", At: at, IP: "::ffff:192.0.2.10"},
			"A sign-in method was added to your Acme <b> account",
			`An authenticator app (“Work phone”) was added to your Acme <b> account for two-step sign-in.`,
		},
		{
			notify.Notice{Kind: notify.NoticeFactorRemoved, FactorType: "email", At: at, IP: "2001:db8::1"},
			"A sign-in method was removed from your Acme <b> account",
			"An email address for sign-in codes was removed from your Acme <b> account.",
		},
		{
			notify.Notice{Kind: notify.NoticeFactorsReset, At: at},
			"Your Acme <b> sign-in methods were reset",
			"All two-step sign-in methods of your Acme <b> account were removed, with its backup codes and trusted devices. You will be asked to set up a new one.",
		},
		{
			// A user-chosen label is one escaped line, however it was typed.
			notify.Notice{Kind: notify.NoticeFactorAdded, FactorType: "webauthn", Label: "<img src=x>\nclick\u202e here", At: at, IP: "not an ip"},
			"A sign-in method was added to your Acme <b> account",
			`A passkey (“<img src=x> click here”) was added to your Acme <b> account for two-step sign-in.`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.notice.Kind, func(t *testing.T) {
			n, rs, _ := motoNotifier(t, notify.Config{ProductName: "Acme <b>"})
			to := uniqueEmail("notice")
			if err := n.SendSecurityNotice(t.Context(), to, tt.notice); err != nil {
				t.Fatal(err)
			}
			msgs := sentTo(t, to)
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tt.subject)
			}
			from := ""
			if ip := tt.notice.IP; ip != "" && ip != "not an ip" {
				from = "\nFrom: IP address " + strings.TrimPrefix(ip, "::ffff:")
			}
			advice := "If this was you, there is nothing to do. If it was not, change your password and contact your administrator right away."
			if want := "Acme <b>\n" + tt.what + "\nWhen: 2 January 2026, 15:04 UTC" + from + "\n" + advice; m.Body != want {
				t.Errorf("HTML as text:\n%s\nwant\n%s", m.Body, want)
			}
			if strings.Contains(m.HTML, "<b>") || strings.Contains(m.HTML, "<img") {
				t.Errorf("HTML holds unescaped markup:\n%s", m.HTML)
			}
			text := rs.only(t).Text
			if want := tt.what + "\n\nWhen: 2 January 2026, 15:04 UTC" + from + "\n\n" + advice + "\n"; text != want {
				t.Errorf("text body:\n%s\nwant\n%s", text, want)
			}
			for _, part := range []string{m.Subject, m.Body, m.HTML, text} {
				if sixDigits.MatchString(part) {
					t.Errorf("a notice holds something like a code: %q", part)
				}
			}
		})
	}
}

// SES refuses an unverified sender (moto enforces that too); the error says why and names
// no code.
func TestRefusedEmailErrorHoldsNoCode(t *testing.T) {
	t.Parallel()
	n, _, _ := motoNotifier(t, notify.Config{Sender: uniqueEmail("unverified")})
	to := uniqueEmail("refused")
	err := n.SendEmailCode(t.Context(), to, "918273", notify.PurposeSignIn, "en", 10*time.Minute)
	if err == nil {
		t.Fatal("sent from an unverified sender")
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MessageRejected" {
		t.Errorf("error = %v, want SES's MessageRejected", err)
	}
	var sesErr *sesclient.APIError
	if !errors.As(err, &sesErr) || sesErr.StatusCode != 400 || sesErr.Operation != "SendEmail" {
		t.Errorf("error = %v, does not unwrap to sesclient's", err)
	}
	if strings.Contains(err.Error(), "918273") {
		t.Errorf("error holds the code: %v", err)
	}
	if msgs := sentTo(t, to); len(msgs) != 0 {
		t.Errorf("a refused email is in the outbox: %+v", msgs)
	}
}

// fakeSES and fakeSNS fail every call with an error that quotes the request, as no AWS
// service does today, to prove the code is scrubbed anyway.
type fakeSES struct{ calls atomic.Int64 }

func (f *fakeSES) SendEmail(_ context.Context, m sesclient.Email) (string, error) {
	f.calls.Add(1)
	return "", fmt.Errorf("InvalidParameterValue: cannot send %q", m.Text)
}

type fakeSNS struct{ calls atomic.Int64 }

var errEcho = errors.New("InvalidParameter")

func (f *fakeSNS) Publish(_ context.Context, m snsclient.SMS) (string, error) {
	f.calls.Add(1)
	return "", fmt.Errorf("%w: message %q too long", errEcho, m.Message)
}

func TestSendErrorsAreScrubbedOfTheCode(t *testing.T) {
	n, err := notify.New(&fakeSES{}, &fakeSNS{}, notify.Config{Sender: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for name, send := range map[string]func() error{
		"email": func() error {
			return n.SendEmailCode(t.Context(), "ann@example.com", "564738", notify.PurposeSignIn, "en", time.Minute)
		},
		"sms": func() error {
			return n.SendSMSCode(t.Context(), "+442079460958", "564738", notify.PurposeSignIn, "en", time.Minute)
		},
	} {
		err := send()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), "564738") || !strings.Contains(err.Error(), "[code]") {
			t.Errorf("%s: error = %v, want the code replaced by [code]", name, err)
		}
	}
	err = n.SendSMSCode(t.Context(), "+442079460958", "564738", notify.PurposeSignIn, "en", time.Minute)
	if !errors.Is(err, errEcho) {
		t.Errorf("error %v does not unwrap to the client's", err)
	}
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	fs, fn := &fakeSES{}, &fakeSNS{}
	n, err := notify.New(fs, fn, notify.Config{Sender: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tests := map[string]struct {
		send    func() error
		invalid bool // wraps contact.ErrInvalid
		secret  string
	}{
		"short code": {send: func() error {
			return n.SendEmailCode(ctx, "ann@example.com", "12345", notify.PurposeSignIn, "en", time.Minute)
		}},
		"long code": {send: func() error {
			return n.SendSMSCode(ctx, "+442079460958", "1234567", notify.PurposeSignIn, "en", time.Minute)
		}, secret: "1234567"},
		"secret, not a code": {send: func() error {
			return n.SendEmailCode(ctx, "ann@example.com", "JBSWY3DPEHPK3PXP", notify.PurposeSignIn, "en", time.Minute)
		}, secret: "JBSWY3DPEHPK3PXP"},
		"unicode digits": {send: func() error {
			return n.SendEmailCode(ctx, "ann@example.com", "١٢٣٤٥٦", notify.PurposeSignIn, "en", time.Minute)
		}},
		"unknown purpose": {send: func() error {
			return n.SendEmailCode(ctx, "ann@example.com", "123456", "password_reset", "en", time.Minute)
		}},
		"no lifetime": {send: func() error { return n.SendSMSCode(ctx, "+442079460958", "123456", notify.PurposeSignIn, "en", 0) }},
		"bad email": {send: func() error {
			return n.SendEmailCode(ctx, "ann@example.com, eve@example.com", "123456", notify.PurposeSignIn, "en", time.Minute)
		}, invalid: true},
		"display name": {send: func() error {
			return n.SendEmailCode(ctx, "Eve <eve@example.com>", "123456", notify.PurposeSignIn, "en", time.Minute)
		}, invalid: true},
		"national phone": {send: func() error {
			return n.SendSMSCode(ctx, "020 7946 0958", "123456", notify.PurposeSignIn, "en", time.Minute)
		}, invalid: true},
		"invalid phone": {send: func() error {
			return n.SendSMSCode(ctx, "+1 123 456 7890", "123456", notify.PurposeSignIn, "en", time.Minute)
		}, invalid: true},
		"notice to bad email": {send: func() error {
			return n.SendSecurityNotice(ctx, "not-an-address", notify.Notice{Kind: notify.NoticeFactorsReset})
		}, invalid: true},
		"unknown notice": {send: func() error {
			return n.SendSecurityNotice(ctx, "ann@example.com", notify.Notice{Kind: "password_changed"})
		}},
	}
	for name, tt := range tests {
		err := tt.send()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if got := errors.Is(err, contact.ErrInvalid); got != tt.invalid {
			t.Errorf("%s: errors.Is(%v, contact.ErrInvalid) = %v", name, err, got)
		}
		if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("%s: error repeats the input: %v", name, err)
		}
	}
	if c := fs.calls.Load() + fn.calls.Load(); c != 0 {
		t.Errorf("%d sends reached AWS", c)
	}
}

func TestNotifierWithoutAChannel(t *testing.T) {
	n, err := notify.New(nil, nil, notify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"email":  n.SendEmailCode(t.Context(), "ann@example.com", "123456", notify.PurposeSignIn, "en", time.Minute),
		"sms":    n.SendSMSCode(t.Context(), "+442079460958", "123456", notify.PurposeSignIn, "en", time.Minute),
		"notice": n.SendSecurityNotice(t.Context(), "ann@example.com", notify.Notice{Kind: notify.NoticeFactorsReset}),
	} {
		if !errors.Is(err, notify.ErrNotConfigured) {
			t.Errorf("%s: error = %v, want ErrNotConfigured", name, err)
		}
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	ses := &fakeSES{}
	good := notify.Config{Sender: "no-reply@example.com"}
	with := func(change func(*notify.Config)) notify.Config {
		c := good
		change(&c)
		return c
	}
	bad := map[string]notify.Config{
		"no sender":                {},
		"sender with a name":       with(func(c *notify.Config) { c.Sender = "Acme <no-reply@example.com>" }),
		"product name too long":    with(func(c *notify.Config) { c.ProductName = strings.Repeat("x", 41) }),
		"product name with a tab":  with(func(c *notify.Config) { c.ProductName = "Acme\tCorp" }),
		"product name not GSM":     with(func(c *notify.Config) { c.ProductName = "Acme™" }),
		"sender id too long":       with(func(c *notify.Config) { c.SMSSenderID = "AcmeCorporation" }),
		"sender id with a space":   with(func(c *notify.Config) { c.SMSSenderID = "Acme Co" }),
		"sender id all digits":     with(func(c *notify.Config) { c.SMSSenderID = "12345" }),
		"WebOTP domain with a URL": with(func(c *notify.Config) { c.WebOTPDomain = "https://example.com" }),
		"WebOTP domain upper case": with(func(c *notify.Config) { c.WebOTPDomain = "Example.com" }),
		"SMS over 160": with(func(c *notify.Config) {
			c.ProductName = strings.Repeat("p", 40)
			c.WebOTPDomain = strings.Repeat("d", 60) + ".example.com"
		}),
	}
	for name, cfg := range bad {
		if _, err := notify.New(ses, nil, cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	for name, cfg := range map[string]notify.Config{
		"minimal": good,
		"everything": with(func(c *notify.Config) {
			c.ProductName = "Acme Corp"
			c.SMSSenderID = "Acme"
			c.WebOTPDomain = "example.com"
		}),
		"GSM extension":    with(func(c *notify.Config) { c.ProductName = "Acme [EU] €" }),
		"localhost OTP":    with(func(c *notify.Config) { c.WebOTPDomain = "localhost" }),
		"SMS only, no SES": {SMSSenderID: "Acme"},
	} {
		s := notify.SESAPI(ses)
		if name == "SMS only, no SES" {
			s = nil
		}
		if _, err := notify.New(s, &fakeSNS{}, cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"EMAIL_SENDER": "a@example.com", "PRODUCT_NAME": "Acme", "SMS_SENDER_ID": "Acme", "WEBOTP_DOMAIN": "example.com"}
	got := notify.ConfigFromEnv(func(k string) string { return env[k] })
	want := notify.Config{Sender: "a@example.com", ProductName: "Acme", SMSSenderID: "Acme", WebOTPDomain: "example.com"}
	if got != want {
		t.Errorf("ConfigFromEnv = %+v, want %+v", got, want)
	}
}
