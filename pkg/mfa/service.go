package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mfa-service/mfa/pkg/contact"
	"github.com/mfa-service/mfa/pkg/policy"
)

// PolicySource returns the policy in force for an organization ("" for none).
type PolicySource func(ctx context.Context, organizationID string) (policy.Policy, error)

// Core is the rules every use case shares: the clock, randomness and ids, keyed hashes, the
// policy in force, the regulation of attempts and sends, step-up and audit events. Each use-case
// service (services.go) holds the one Core of its process, so a change here (a test's clock)
// applies to all of them.
type Core struct {
	Hasher     Hasher
	Policy     PolicySource
	Regulation Regulation
	Limits     Limits
	TOTPIssuer string
	Metrics    Metrics // optional: nil counts nothing
	Now        func() time.Time
	Random     io.Reader
	Log        *slog.Logger

	EnrollmentTTL time.Duration
	ChallengeTTL  time.Duration
	StepUpMaxAge  time.Duration
}

// NewCore is the shared core with the default regulation and limits, the system clock and
// crypto/rand. Hasher and policy are required.
func NewCore(hasher Hasher, policy PolicySource, log *slog.Logger) *Core {
	return &Core{Hasher: hasher, Policy: policy, Regulation: DefaultRegulation, TOTPIssuer: "MFA Service", Now: time.Now, Random: rand.Reader, Log: log}
}

// Defaults used when a Core field is zero.
const (
	defaultEnrollmentTTL = 10 * time.Minute
	defaultChallengeTTL  = 10 * time.Minute
	defaultStepUpMaxAge  = 15 * time.Minute
	maxLabelRunes        = 64
)

// now is millisecond-precise, as stored, so what a response shows equals what a later read gives.
func (s *Core) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Core) enrollmentTTL() time.Duration {
	return orDefault(s.EnrollmentTTL, defaultEnrollmentTTL)
}
func (s *Core) challengeTTL() time.Duration { return orDefault(s.ChallengeTTL, defaultChallengeTTL) }
func (s *Core) stepUpMaxAge() time.Duration { return orDefault(s.StepUpMaxAge, defaultStepUpMaxAge) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns 128 random bits as 26 lower-case base32 characters.
func (s *Core) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.Random, b); err != nil {
		return "", err
	}
	return strings.ToLower(idEncoding.EncodeToString(b)), nil
}

// authorize applies DESIGN §3: a user token acts only on its own id; a service token on any.
func authorize(c Caller, userID string) error {
	if !ValidUserID(userID) {
		return Invalid(CodeInvalidRequest, "userId", "userId is not a valid user id")
	}
	switch c.Kind {
	case CallerService:
		return nil
	case CallerUser:
		if c.Subject != "" && c.Subject == userID {
			return nil
		}
	}
	return forbidden(CodeForbidden, "this token may not act on this user")
}

// hasFreshStepUp reports whether the caller presented an mfaToken for this user that is
// recent enough to change factors.
func (s *Core) hasFreshStepUp(c Caller, userID string) bool {
	if c.StepUp == nil || c.StepUp.Subject != userID || c.StepUp.TokenID == "" {
		return false
	}
	age := s.now().Sub(c.StepUp.AuthTime)
	return age >= -time.Minute && age <= s.stepUpMaxAge()
}

// needsStepUp is the step-up rule: only user tokens are asked; services and admins act on
// their own authority.
func (s *Core) needsStepUp(c Caller, userID string) bool {
	return c.Kind == CallerUser && !s.hasFreshStepUp(c, userID)
}

// stepUpUse is what a user's change authorized by its step-up consumes: the mfaToken's jti.
// Services and admins act on their own authority and consume nothing.
func (s *Core) stepUpUse(c Caller, userID string) *StepUpUse {
	if c.Kind != CallerUser || !s.hasFreshStepUp(c, userID) {
		return nil
	}
	return &StepUpUse{UserID: userID, TokenID: c.StepUp.TokenID, ExpiresAt: c.StepUp.ExpiresAt}
}

func stepUpUsed() *Error {
	return forbidden(CodeStepUpRequired, "this mfaToken already authorized a change; verify again for a new one")
}

func stepUpRequired() *Error {
	return forbidden(CodeStepUpRequired, "this change needs a recent second factor: send an mfaToken in X-MFA-Token")
}

func (s *Core) event(c Caller, userID, action, outcome string) AuditEvent {
	return AuditEvent{UserID: userID, Action: action, Actor: c.actor(), Outcome: outcome, IP: c.IP, UserAgent: c.UserAgent, At: s.now()}
}

// cleanLabel trims a label and rejects control characters and overlong text.
func cleanLabel(label, fallback string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return fallback, nil
	}
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > maxLabelRunes {
		return "", Invalid(CodeInvalidRequest, "label", fmt.Sprintf("label must be at most %d characters", maxLabelRunes))
	}
	for _, r := range label {
		// Format characters (bidi overrides, zero-width joiners) would let a label read one way
		// and be another, in the security notices it is quoted in.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", Invalid(CodeInvalidRequest, "label", "label must not contain control or invisible formatting characters")
		}
	}
	return label, nil
}

// defaultLabel is the label of a factor bound without one: the type's default, numbered when
// the user already has a factor of that type under it ("Email", "Email 2"), so that two
// factors of one type can be told apart in lists and challenges.
func defaultLabel(t FactorType, existing []Factor) string {
	base := defaultLabels[t]
	taken := map[string]bool{}
	for _, f := range existing {
		if f.Type == t {
			taken[f.Label] = true
		}
	}
	if !taken[base] {
		return base
	}
	for n := 2; ; n++ {
		if l := fmt.Sprintf("%s %d", base, n); !taken[l] {
			return l
		}
	}
}

// Limits holds the send limits and code lifetimes (DESIGN §6.2, §6.5).
type Limits struct {
	CodeTTL              time.Duration // email/SMS code validity (≤ 10 min)
	ResendCooldown       time.Duration // between two sends for one challenge
	MaxSendsPerChallenge int
	MaxSendsPerUser      int // per SendWindow
	MaxSendsPerDest      int // per SendWindow, across users
	SendWindow           time.Duration
	MaxEnrollmentTries   int // wrong codes one enrollment takes
}

// DefaultLimits are the limits used when Core.Limits is zero.
var DefaultLimits = Limits{
	CodeTTL:              10 * time.Minute,
	ResendCooldown:       30 * time.Second,
	MaxSendsPerChallenge: 5,
	MaxSendsPerUser:      10,
	MaxSendsPerDest:      10,
	SendWindow:           time.Hour,
	MaxEnrollmentTries:   5,
}

func (s *Core) limits() Limits {
	if s.Limits.CodeTTL == 0 {
		return DefaultLimits
	}
	return s.Limits
}

// policyFor returns the effective policy, failing closed when it cannot be read.
func (s *Core) policyFor(ctx context.Context, orgID string) (policy.Policy, error) {
	p, err := s.Policy(ctx, orgID)
	if err != nil {
		return policy.Policy{}, unavailable(err)
	}
	return p, nil
}

// newCode returns a uniformly random 6-digit code.
func (s *Core) newCode() (string, error) {
	n, err := rand.Int(s.Random, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash binds a code to its user and to what it was sent for, so a code is worth nothing
// anywhere else even before its single use.
func (s *Core) codeHash(userID, scope, code string) []byte {
	return s.Hasher.Hash("otp-code", []byte(userID+"\x00"+scope+"\x00"+code))
}

// destinationKey is the keyed hash that names a destination in send counters.
func (s *Core) destinationKey(dest string) string {
	return hex.EncodeToString(s.Hasher.Hash("destination", []byte(dest)))
}

func sendLimited(l *LimitError, now time.Time) *Error {
	e := &Error{Kind: KindTooManyAttempts, Code: CodeSendLimited, Message: "too many codes sent; try again later", SendLimit: l.Limit}
	if l.Limit == "cooldown" {
		e.Message = "a code was just sent; wait before asking for another"
	}
	e.RetryAfter = l.RetryAt.Sub(now).Round(time.Second)
	if e.RetryAfter < time.Second {
		e.RetryAfter = time.Second
	}
	return e
}

// notify sends a security notice to every address known for the user, best effort: a failed
// notice is logged, never a reason to undo the change it reports.
func (s *Factors) notify(ctx context.Context, c Caller, userID string, factors []Factor, n Notice) {
	// Each address in the language of the request, else the one stored with its factor,
	// else the hint the caller put in n.Locale (the user's newest choice).
	asked := requestLocale(c, "")
	seen := map[string]bool{}
	type recipient struct{ addr, lang string }
	var to []recipient
	for _, f := range factors {
		if f.Type == TypeEmail && !seen[f.Destination] {
			seen[f.Destination] = true
			to = append(to, recipient{f.Destination, firstLocale(asked, f.Locale, n.Locale)})
		}
	}
	if c.Kind == CallerUser && c.Subject == userID && c.EmailVerified && c.Email != "" {
		if e, err := contact.ParseEmail(c.Email); err == nil && !seen[e.Normalized] {
			to = append(to, recipient{e.Address, firstLocale(asked, n.Locale)})
		}
	}
	for _, r := range to {
		n.Locale = r.lang
		if err := s.Notifier.SendSecurityNotice(ctx, r.addr, n); err != nil && s.Log != nil {
			s.Log.Warn("security notice not sent", slog.String("userId", userID), slog.String("error", err.Error()))
		}
	}
}

// count emits a metric when metrics are wired.
func (s *Core) count(name string, dims map[string]string) {
	if s.Metrics != nil {
		s.Metrics.Count(name, dims)
	}
}
