package mfa

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mfa-service/mfa/pkg/policy"
)

// PolicySource returns the policy in force for an organization ("" for none).
type PolicySource func(ctx context.Context, organizationID string) (policy.Policy, error)

// Service is the MFA domain: enrollment, challenges and verification, with the rules of
// DESIGN §3, §5 and §6 applied here rather than in any transport.
type Service struct {
	Store      Store
	Sealer     Sealer
	Tokens     TokenIssuer
	Policy     PolicySource
	Regulation Regulation
	TOTPIssuer string
	Now        func() time.Time
	Random     io.Reader

	EnrollmentTTL time.Duration
	ChallengeTTL  time.Duration
	StepUpMaxAge  time.Duration
}

// Defaults used when a Service field is zero.
const (
	defaultEnrollmentTTL = 10 * time.Minute
	defaultChallengeTTL  = 10 * time.Minute
	defaultStepUpMaxAge  = 15 * time.Minute
	maxLabelRunes        = 64
)

// now is millisecond-precise, as stored, so what a response shows equals what a later read gives.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Service) enrollmentTTL() time.Duration {
	return orDefault(s.EnrollmentTTL, defaultEnrollmentTTL)
}
func (s *Service) challengeTTL() time.Duration { return orDefault(s.ChallengeTTL, defaultChallengeTTL) }
func (s *Service) stepUpMaxAge() time.Duration { return orDefault(s.StepUpMaxAge, defaultStepUpMaxAge) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns 128 random bits as 26 lower-case base32 characters.
func (s *Service) newID() (string, error) {
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
func (s *Service) hasFreshStepUp(c Caller, userID string) bool {
	if c.StepUp == nil || c.StepUp.Subject != userID {
		return false
	}
	age := s.now().Sub(c.StepUp.AuthTime)
	return age >= -time.Minute && age <= s.stepUpMaxAge()
}

// needsStepUp is the step-up rule: only user tokens are asked; services and admins act on
// their own authority.
func (s *Service) needsStepUp(c Caller, userID string) bool {
	return c.Kind == CallerUser && !s.hasFreshStepUp(c, userID)
}

func stepUpRequired() *Error {
	return forbidden(CodeStepUpRequired, "this change needs a recent second factor: send an mfaToken in X-MFA-Token")
}

func (s *Service) event(c Caller, userID, action, outcome string) AuditEvent {
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
		if unicode.IsControl(r) {
			return "", Invalid(CodeInvalidRequest, "label", "label must not contain control characters")
		}
	}
	return label, nil
}

// ---- enrollment ----

// StartEnrollmentRequest is the body of POST …/enrollments.
type StartEnrollmentRequest struct {
	Type  FactorType
	Label string
}

// EnrollmentStarted is the answer: the provisioning data is shown this once.
type EnrollmentStarted struct {
	EnrollmentID string
	Type         FactorType
	ExpiresAt    time.Time
	TOTP         *TOTPProvisioning
}

// StartEnrollment begins binding a new factor.
func (s *Service) StartEnrollment(ctx context.Context, c Caller, userID string, req StartEnrollmentRequest) (EnrollmentStarted, error) {
	if err := authorize(c, userID); err != nil {
		return EnrollmentStarted{}, err
	}
	if req.Type != TypeTOTP {
		return EnrollmentStarted{}, Invalid(CodeUnsupportedType, "type", "supported factor types: totp")
	}
	label, err := cleanLabel(req.Label, "Authenticator app")
	if err != nil {
		return EnrollmentStarted{}, err
	}
	profile, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return EnrollmentStarted{}, unavailable(err)
	}
	if len(profile.Factors) > 0 && s.needsStepUp(c, userID) {
		return EnrollmentStarted{}, stepUpRequired()
	}
	id, err := s.newID()
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	prov, err := newTOTPSecret(s.Random, s.TOTPIssuer, label)
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	sealed, err := s.Sealer.Seal(prov.raw, userID, id)
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	now := s.now()
	e := Enrollment{ID: id, UserID: userID, Type: TypeTOTP, Label: label, SealedSecret: sealed, CreatedAt: now, ExpiresAt: now.Add(s.enrollmentTTL())}
	ev := s.event(c, userID, ActionEnrollmentStarted, "ok")
	ev.FactorID, ev.FactorType = id, TypeTOTP
	if err := s.Store.CreateEnrollment(ctx, e, ev); err != nil {
		return EnrollmentStarted{}, unavailable(err)
	}
	return EnrollmentStarted{EnrollmentID: id, Type: TypeTOTP, ExpiresAt: e.ExpiresAt, TOTP: &prov}, nil
}

// CompleteEnrollmentRequest is the body of POST …/enrollments/{id}/complete.
type CompleteEnrollmentRequest struct {
	Code string
}

// CompleteEnrollment checks the first code from the new authenticator and activates the
// factor. The step of that code counts as used, so it cannot sign in afterwards.
func (s *Service) CompleteEnrollment(ctx context.Context, c Caller, userID, enrollmentID string, req CompleteEnrollmentRequest) (Factor, error) {
	if err := authorize(c, userID); err != nil {
		return Factor{}, err
	}
	if !ValidID(enrollmentID) {
		return Factor{}, Invalid(CodeInvalidRequest, "enrollmentId", "enrollmentId is malformed")
	}
	code, ok := normalizeOTP(req.Code, int(totpDigits))
	if !ok {
		return Factor{}, Invalid(CodeInvalidCode, "code", "code must be 6 digits")
	}
	e, err := s.Store.GetEnrollment(ctx, userID, enrollmentID)
	if errors.Is(err, ErrNotFound) {
		return Factor{}, notFound(CodeEnrollmentNotFound, "no such enrollment")
	}
	if err != nil {
		return Factor{}, unavailable(err)
	}
	now := s.now()
	if !now.Before(e.ExpiresAt) {
		return Factor{}, newError(KindGone, CodeEnrollmentExpired, "the enrollment expired; start again")
	}
	secret, err := s.Sealer.Open(e.SealedSecret, userID, e.ID)
	if err != nil {
		return Factor{}, internal(err)
	}
	step, ok, err := matchTOTP(secret, code, now, 0)
	if err != nil {
		return Factor{}, internal(err)
	}
	if !ok {
		return Factor{}, Invalid(CodeVerificationFailed, "code", "the code does not match; check the authenticator's clock and try the next code")
	}
	f := Factor{ID: e.ID, UserID: userID, Type: e.Type, Label: e.Label, CreatedAt: now, SealedSecret: e.SealedSecret, LastStep: step}
	ev := s.event(c, userID, ActionFactorActivated, "ok")
	ev.FactorID, ev.FactorType = f.ID, f.Type
	switch err := s.Store.ActivateFactor(ctx, f, s.needsStepUp(c, userID), ev); {
	case errors.Is(err, ErrNotFound):
		return Factor{}, notFound(CodeEnrollmentNotFound, "no such enrollment")
	case errors.Is(err, ErrHasFactors):
		return Factor{}, stepUpRequired()
	case err != nil:
		return Factor{}, unavailable(err)
	}
	return f, nil
}

// ---- factors ----

// FactorList is what GET …/factors returns: no secrets.
type FactorList struct {
	Factors              []Factor
	BackupCodesRemaining int
}

// ListFactors lists a user's factors.
func (s *Service) ListFactors(ctx context.Context, c Caller, userID string) (FactorList, error) {
	if err := authorize(c, userID); err != nil {
		return FactorList{}, err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return FactorList{}, unavailable(err)
	}
	return FactorList{Factors: p.Factors}, nil
}

// DeleteFactor removes one factor. A user token needs a fresh step-up.
func (s *Service) DeleteFactor(ctx context.Context, c Caller, userID, factorID string) error {
	if err := authorize(c, userID); err != nil {
		return err
	}
	if !ValidID(factorID) {
		return Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	if s.needsStepUp(c, userID) {
		return stepUpRequired()
	}
	ev := s.event(c, userID, ActionFactorRemoved, "ok")
	ev.FactorID = factorID
	switch err := s.Store.DeleteFactor(ctx, userID, factorID, ev); {
	case errors.Is(err, ErrNotFound):
		return notFound(CodeFactorNotFound, "no such factor")
	case err != nil:
		return unavailable(err)
	}
	return nil
}

// ---- challenge ----

// ChallengeRequest is the body of POST …/challenges.
type ChallengeRequest struct {
	OrganizationID string
	Purpose        string
	MinStrength    string
}

// ChallengeResult is the decision and the challenge opened for it.
type ChallengeResult struct {
	ChallengeID         string
	MFARequired         bool
	Reason              string
	EnrollmentRequired  bool
	EnrollmentSkippable bool
	Factors             []Factor
	DefaultFactorID     string
	ExpiresAt           time.Time
}

// Purposes of a challenge.
const (
	PurposeSignIn = "sign_in"
	PurposeStepUp = "step_up"
)

var orgIDPattern = userIDPattern

// CreateChallenge decides whether the user must present a second factor and opens a challenge
// that offers exactly the factors the decision allows.
func (s *Service) CreateChallenge(ctx context.Context, c Caller, userID string, req ChallengeRequest) (ChallengeResult, error) {
	if err := authorize(c, userID); err != nil {
		return ChallengeResult{}, err
	}
	purpose := req.Purpose
	switch purpose {
	case "":
		purpose = PurposeSignIn
	case PurposeSignIn, PurposeStepUp:
	default:
		return ChallengeResult{}, Invalid(CodeInvalidRequest, "purpose", "purpose must be sign_in or step_up")
	}
	if req.OrganizationID != "" && !orgIDPattern.MatchString(req.OrganizationID) {
		return ChallengeResult{}, Invalid(CodeInvalidRequest, "organizationId", "organizationId is malformed")
	}
	if !policy.ValidStrength(req.MinStrength) {
		return ChallengeResult{}, Invalid(CodeInvalidRequest, "minStrength", "minStrength must be phishing_resistant, otp, oob or recovery")
	}
	pol, err := s.Policy(ctx, req.OrganizationID)
	if err != nil {
		return ChallengeResult{}, unavailable(err)
	}
	profile, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return ChallengeResult{}, unavailable(err)
	}
	byID := make(map[string]Factor, len(profile.Factors))
	in := policy.Input{Policy: pol, LastFactorID: profile.State.LastFactorID, MinStrength: req.MinStrength}
	for _, f := range profile.Factors {
		byID[f.ID] = f
		in.Factors = append(in.Factors, policy.Factor{ID: f.ID, Type: string(f.Type), LastUsedAt: f.LastUsedAt})
	}
	d := policy.Decide(in)

	id, err := s.newID()
	if err != nil {
		return ChallengeResult{}, internal(err)
	}
	now := s.now()
	ch := Challenge{ID: id, UserID: userID, Purpose: purpose, OrganizationID: req.OrganizationID, DefaultFactorID: d.DefaultFactorID, Status: ChallengeOpen, CreatedAt: now, ExpiresAt: now.Add(s.challengeTTL())}
	res := ChallengeResult{ChallengeID: id, MFARequired: d.MFARequired, Reason: d.Reason, EnrollmentRequired: d.EnrollmentRequired, EnrollmentSkippable: d.EnrollmentSkippable, DefaultFactorID: d.DefaultFactorID, ExpiresAt: ch.ExpiresAt}
	for _, f := range d.Factors {
		ch.FactorIDs = append(ch.FactorIDs, f.ID)
		res.Factors = append(res.Factors, byID[f.ID])
	}
	ev := s.event(c, userID, ActionChallengeOpened, "ok")
	ev.ChallengeID, ev.Reason = id, d.Reason
	if err := s.Store.OpenChallenge(ctx, ch, ev); err != nil {
		return ChallengeResult{}, unavailable(err)
	}
	return res, nil
}

// ---- verification ----

// VerifyRequest is the body of POST …/verifications.
type VerifyRequest struct {
	FactorID string
	Type     FactorType
	Code     string
}

// VerifyResult is a successful verification.
type VerifyResult struct {
	MFAToken           string
	Factor             Factor
	EnrollmentRequired bool
}

// Verify checks an answer to an open challenge. Wrong answers count against the challenge and
// against the user across all factors; while the user is locked even a right answer is
// refused; if the store cannot count, nothing verifies.
func (s *Service) Verify(ctx context.Context, c Caller, userID, challengeID string, req VerifyRequest) (VerifyResult, error) {
	if err := authorize(c, userID); err != nil {
		return VerifyResult{}, err
	}
	if !ValidID(challengeID) {
		return VerifyResult{}, Invalid(CodeInvalidRequest, "challengeId", "challengeId is malformed")
	}
	if req.FactorID != "" && !ValidID(req.FactorID) {
		return VerifyResult{}, Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	if req.Type != TypeTOTP {
		return VerifyResult{}, Invalid(CodeUnsupportedType, "type", "supported factor types: totp")
	}
	code, ok := normalizeOTP(req.Code, int(totpDigits))
	if !ok {
		return VerifyResult{}, Invalid(CodeInvalidCode, "code", "code must be 6 digits")
	}

	ch, state, factor, err := s.Store.LoadVerification(ctx, userID, challengeID, req.FactorID)
	if errors.Is(err, ErrNotFound) {
		return VerifyResult{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	if err != nil {
		return VerifyResult{}, unavailable(err)
	}
	now := s.now()
	reg := s.Regulation
	if lock, locked := reg.LockAt(state, now); locked {
		return VerifyResult{}, tooManyAttempts(lock, now)
	}
	if err := checkChallengeOpen(ch, now, reg); err != nil {
		return VerifyResult{}, err
	}
	candidates, err := s.candidates(ctx, ch, req, factor)
	if err != nil {
		return VerifyResult{}, err
	}

	for _, f := range candidates {
		secret, err := s.Sealer.Open(f.SealedSecret, userID, f.ID)
		if err != nil {
			return VerifyResult{}, internal(err)
		}
		step, ok, err := matchTOTP(secret, code, now, f.LastStep)
		if err != nil {
			return VerifyResult{}, internal(err)
		}
		if ok {
			return s.succeed(ctx, c, ch, state, f, step, now)
		}
	}
	return VerifyResult{}, s.fail(ctx, c, ch, req, now, "wrong_code")
}

// candidates resolves the factors an answer may be for: the named one, or every factor of the
// requested type that the challenge offered.
func (s *Service) candidates(ctx context.Context, ch Challenge, req VerifyRequest, named *Factor) ([]Factor, error) {
	offered := map[string]bool{}
	for _, id := range ch.FactorIDs {
		offered[id] = true
	}
	if req.FactorID != "" {
		if named == nil || !offered[req.FactorID] {
			return nil, notFound(CodeFactorNotFound, "the challenge offers no such factor")
		}
		if named.Type != req.Type {
			return nil, Invalid(CodeFactorTypeMismatch, "type", "type does not match the factor")
		}
		return []Factor{*named}, nil
	}
	p, err := s.Store.LoadProfile(ctx, ch.UserID)
	if err != nil {
		return nil, unavailable(err)
	}
	var out []Factor
	for _, f := range p.Factors {
		if offered[f.ID] && f.Type == req.Type {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, notFound(CodeFactorNotFound, "the challenge offers no factor of this type")
	}
	return out, nil
}

func checkChallengeOpen(ch Challenge, now time.Time, reg Regulation) error {
	switch {
	case ch.Status != ChallengeOpen:
		return newError(KindGone, CodeChallengeClosed, "this challenge was already answered; start a new one")
	case ch.Failures >= reg.MaxChallengeFailures:
		return newError(KindGone, CodeChallengeClosed, "too many wrong answers for this challenge; start a new one")
	case !now.Before(ch.ExpiresAt):
		return newError(KindGone, CodeChallengeExpired, "the challenge expired; start a new one")
	}
	return nil
}

func tooManyAttempts(lock Lock, now time.Time) *Error {
	e := &Error{Kind: KindTooManyAttempts, Code: CodeTooManyAttempts, Extra: map[string]any{}}
	if lock.Permanent {
		e.Message = "verification is locked after too many failures; an administrator must unlock it"
		e.RetryAfter = time.Hour
		e.Extra["lockedUntil"] = nil
		return e
	}
	e.Message = "too many failed attempts; try again later"
	e.RetryAfter = lock.Until.Sub(now).Round(time.Second)
	if e.RetryAfter < time.Second {
		e.RetryAfter = time.Second
	}
	e.Extra["lockedUntil"] = lock.Until.UTC().Format(time.RFC3339)
	return e
}

func (s *Service) succeed(ctx context.Context, c Caller, ch Challenge, state UserState, f Factor, step int64, now time.Time) (VerifyResult, error) {
	// Sign first: if the write then fails, the token is dropped and never seen.
	token, err := s.Tokens.IssueMFAToken(MFATokenClaims{
		Subject:        ch.UserID,
		AuthTime:       now,
		AMR:            amrFor(f.Type),
		ACR:            "mfa",
		FactorType:     f.Type,
		FactorID:       f.ID,
		OrganizationID: ch.OrganizationID,
		ChallengeID:    ch.ID,
	})
	if err != nil {
		return VerifyResult{}, internal(err)
	}
	ev := s.event(c, ch.UserID, ActionVerificationSuccess, "ok")
	ev.FactorID, ev.FactorType, ev.ChallengeID = f.ID, f.Type, ch.ID
	err = s.Store.RecordSuccess(ctx, Success{
		UserID: ch.UserID, ChallengeID: ch.ID, FactorID: f.ID, Step: step,
		ReadFailures: state.ConsecutiveFailures, MaxFailures: s.Regulation.MaxChallengeFailures,
		At: now, Event: ev,
	})
	switch {
	case err == nil:
		f.LastUsedAt, f.LastStep = now, step
		return VerifyResult{MFAToken: token, Factor: f}, nil
	case errors.Is(err, ErrStepReused):
		// Another request consumed this step first: to this one the code is a replay.
		return VerifyResult{}, s.fail(ctx, c, ch, VerifyRequest{FactorID: f.ID, Type: f.Type}, now, "replayed_step")
	case errors.Is(err, ErrChallengeClosed):
		return VerifyResult{}, newError(KindGone, CodeChallengeClosed, "this challenge was already answered; start a new one")
	case errors.Is(err, ErrStateChanged):
		return VerifyResult{}, newError(KindConflict, CodeConflict, "another attempt changed this user's state; try again")
	default:
		return VerifyResult{}, unavailable(err)
	}
}

// fail records a wrong answer. If it cannot be recorded, the caller gets a 503, not a retry
// that escapes the count.
func (s *Service) fail(ctx context.Context, c Caller, ch Challenge, req VerifyRequest, now time.Time, reason string) error {
	ev := s.event(c, ch.UserID, ActionVerificationFailure, "failed")
	ev.FactorID, ev.FactorType, ev.ChallengeID, ev.Reason = req.FactorID, req.Type, ch.ID, reason
	if err := s.Store.RecordFailure(ctx, Failure{UserID: ch.UserID, ChallengeID: ch.ID, MaxFailures: s.Regulation.MaxChallengeFailures, At: now, Event: ev}); err != nil {
		return unavailable(err)
	}
	remaining := s.Regulation.MaxChallengeFailures - ch.Failures - 1
	if remaining < 0 {
		remaining = 0
	}
	return &Error{Kind: KindUnauthenticated, Code: CodeVerificationFailed, Message: "the code is not valid", Extra: map[string]any{"attemptsRemaining": remaining}}
}

// amrFor gives RFC 8176 authentication method references for a factor type.
func amrFor(t FactorType) []string {
	switch t {
	case TypeTOTP:
		return []string{"otp", "mfa"}
	default:
		return []string{"mfa"}
	}
}
