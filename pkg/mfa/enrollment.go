package mfa

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/mfa-service/mfa/pkg/contact"
	"github.com/mfa-service/mfa/pkg/policy"
)

// StartEnrollmentRequest is the body of POST …/enrollments.
type StartEnrollmentRequest struct {
	Type        FactorType
	Label       string
	Email       string
	Phone       string
	PreVerified bool
	// OrganizationID names the organization the user enrolls for (the one their sign-in
	// challenge named): the enrollment is then held to that organization's effective policy,
	// so what they bind is what its challenges offer. Empty: the global policy.
	OrganizationID string
	Locale         string // the language of the code and notices (BCP 47); see requestLocale
}

// EnrollmentStarted is the answer. TOTP provisioning data is shown this once. For an email or
// SMS factor either a code went out (Delivery) or the destination was already verified and
// the factor is bound at once (Factor, with BackupCodes when this was the first one).
type EnrollmentStarted struct {
	EnrollmentID string
	Type         FactorType
	ExpiresAt    time.Time
	TOTP         *TOTPProvisioning
	WebAuthn     json.RawMessage // creation options ({"publicKey": …}) for navigator.credentials.create
	Delivery     *DeliveryInfo
	Factor       *Factor
	BackupCodes  []string
}

// DeliveryInfo says where a code went, masked.
type DeliveryInfo struct {
	Channel           FactorType
	MaskedDestination string
	ExpiresAt         time.Time
	ResendAfter       time.Time
}

// CompleteEnrollmentRequest is the body of POST …/enrollments/{id}/complete.
type CompleteEnrollmentRequest struct {
	Code       string
	Credential []byte // webauthn: the PublicKeyCredential JSON of the attestation
}

// Activated is a newly bound factor, with the backup codes created alongside it (shown once).
type Activated struct {
	Factor      Factor
	BackupCodes []string
}

var defaultLabels = map[FactorType]string{
	TypeTOTP:     "Authenticator app",
	TypeEmail:    "Email",
	TypeSMS:      "Text message",
	TypeWebAuthn: "Passkey",
}

// StartEnrollment begins binding a new factor.
func (s *Enrollments) StartEnrollment(ctx context.Context, c Caller, userID string, req StartEnrollmentRequest) (EnrollmentStarted, error) {
	if err := authorize(c, userID); err != nil {
		return EnrollmentStarted{}, err
	}
	switch req.Type {
	case TypeTOTP, TypeEmail, TypeSMS, TypeWebAuthn:
	case TypeBackupCodes:
		return EnrollmentStarted{}, Invalid(CodeUnsupportedType, "type", "backup codes come with the first factor; regenerate them with POST …/backup-codes")
	default:
		return EnrollmentStarted{}, Invalid(CodeUnsupportedType, "type", "supported factor types: webauthn, totp, email, sms")
	}
	if (req.Email != "") != (req.Type == TypeEmail) || (req.Phone != "") != (req.Type == TypeSMS) {
		return EnrollmentStarted{}, Invalid(CodeInvalidRequest, "type", "email goes with type email and phone with type sms, and each needs its own")
	}
	if req.PreVerified && c.Kind != CallerService {
		return EnrollmentStarted{}, forbidden(CodeForbidden, "only a service token may say preVerified")
	}
	if (req.Type == TypeTOTP || req.Type == TypeWebAuthn) && req.PreVerified {
		return EnrollmentStarted{}, Invalid(CodeInvalidRequest, "preVerified", "preVerified applies to email and sms")
	}
	if req.OrganizationID != "" && !orgIDPattern.MatchString(req.OrganizationID) {
		return EnrollmentStarted{}, Invalid(CodeInvalidRequest, "organizationId", "organizationId is malformed")
	}
	label, err := cleanLabel(req.Label, defaultLabels[req.Type])
	if err != nil {
		return EnrollmentStarted{}, err
	}
	explicit, err := explicitLocale(req.Locale)
	if err != nil {
		return EnrollmentStarted{}, err
	}
	lang := requestLocale(c, explicit)
	pol, err := s.policyFor(ctx, req.OrganizationID)
	if err != nil {
		return EnrollmentStarted{}, err
	}
	if !pol.Allows(string(req.Type)) {
		return EnrollmentStarted{}, forbidden(CodeFactorTypeNotAllowed, "the policy does not allow this factor type")
	}
	profile, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return EnrollmentStarted{}, unavailable(err)
	}
	if len(profile.Factors) > 0 && s.needsStepUp(c, userID) {
		return EnrollmentStarted{}, stepUpRequired()
	}
	// The step-up is consumed when the enrollment completes; a spent one must not even show
	// the new secret.
	if use := s.stepUpUse(c, userID); use != nil {
		switch used, err := s.Store.StepUpUsed(ctx, userID, use.TokenID); {
		case err != nil:
			return EnrollmentStarted{}, unavailable(err)
		case used:
			return EnrollmentStarted{}, stepUpUsed()
		}
	}
	if strings.TrimSpace(req.Label) == "" {
		label = defaultLabel(req.Type, profile.Factors)
	}
	id, err := s.newID()
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	switch req.Type {
	case TypeTOTP:
		return s.startTOTP(ctx, c, userID, id, label, req.OrganizationID, lang)
	case TypeWebAuthn:
		return s.startPasskey(ctx, c, userID, id, label, req.OrganizationID, lang, profile)
	}
	dest, masked, region, verified, err := s.Factors.destination(c, pol, req)
	if err != nil {
		return EnrollmentStarted{}, err
	}
	for _, f := range profile.Factors {
		if f.Type == req.Type && f.Destination == dest {
			return EnrollmentStarted{}, &Error{Kind: KindConflict, Code: CodeFactorExists, Message: "this destination is already a factor of this user"}
		}
	}
	now := s.now()
	if verified {
		f := Factor{ID: id, UserID: userID, Type: req.Type, Label: label, CreatedAt: now, Destination: dest, Region: region, Masked: masked, Locale: lang}
		act, err := s.Factors.activate(ctx, c, profile.State, f, "", pol)
		if err != nil {
			return EnrollmentStarted{}, err
		}
		return EnrollmentStarted{EnrollmentID: id, Type: req.Type, ExpiresAt: now, Factor: &act.Factor, BackupCodes: act.BackupCodes}, nil
	}

	lim := s.limits()
	code, err := s.newCode()
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	e := Enrollment{
		ID: id, UserID: userID, OrganizationID: req.OrganizationID, Type: req.Type, Label: label, Destination: dest, Region: region, Masked: masked,
		CodeHash: s.codeHash(userID, "enrollment:"+id, code), CreatedAt: now, ExpiresAt: now.Add(lim.CodeTTL), Locale: lang,
	}
	quota := s.quota(userID, dest, now, req.Type, pol)
	quota.Windows = profile.State.SendWindows
	ev := s.event(c, userID, ActionEnrollmentStarted, "ok")
	ev.FactorID, ev.FactorType = id, req.Type
	if err := s.Store.CreateEnrollment(ctx, e, &quota, ev); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			s.count("SendsRefused", map[string]string{"Channel": string(req.Type), "Limit": le.Limit})
			return EnrollmentStarted{}, sendLimited(le, now)
		}
		return EnrollmentStarted{}, unavailable(err)
	}
	s.count("CodesSent", map[string]string{"Channel": string(req.Type)})
	if err := s.Notifier.SendCode(ctx, req.Type, dest, code, "enrollment", lang, lim.CodeTTL); err != nil {
		return EnrollmentStarted{}, &Error{Kind: KindUnavailable, Code: CodeDeliveryFailed, Message: "the code could not be sent; try again", Err: err}
	}
	return EnrollmentStarted{
		EnrollmentID: id, Type: req.Type, ExpiresAt: e.ExpiresAt,
		Delivery: &DeliveryInfo{Channel: req.Type, MaskedDestination: masked, ExpiresAt: e.ExpiresAt, ResendAfter: now.Add(lim.ResendCooldown)},
	}, nil
}

func (s *Enrollments) startTOTP(ctx context.Context, c Caller, userID, id, label, orgID, lang string) (EnrollmentStarted, error) {
	prov, err := newTOTPSecret(s.Random, s.TOTPIssuer, label)
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	sealed, err := s.Sealer.Seal(prov.raw, userID, id)
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	now := s.now()
	e := Enrollment{ID: id, UserID: userID, OrganizationID: orgID, Type: TypeTOTP, Label: label, SealedSecret: sealed, CreatedAt: now, ExpiresAt: now.Add(s.enrollmentTTL()), Locale: lang}
	ev := s.event(c, userID, ActionEnrollmentStarted, "ok")
	ev.FactorID, ev.FactorType = id, TypeTOTP
	if err := s.Store.CreateEnrollment(ctx, e, nil, ev); err != nil {
		return EnrollmentStarted{}, unavailable(err)
	}
	return EnrollmentStarted{EnrollmentID: id, Type: TypeTOTP, ExpiresAt: e.ExpiresAt, TOTP: &prov}, nil
}

// destination parses and checks an enrollment's address or number and says whether it is
// already verified for this user: the user's own token vouches for it (DESIGN §4), or a
// service says so.
func (s *Factors) destination(c Caller, pol policy.Policy, req StartEnrollmentRequest) (dest, masked, region string, verified bool, err error) {
	if req.Type == TypeEmail {
		e, perr := contact.ParseEmail(req.Email)
		if perr != nil {
			return "", "", "", false, Invalid(CodeInvalidRequest, "email", "email is not a valid address")
		}
		verified = req.PreVerified
		if c.Kind == CallerUser && c.EmailVerified {
			if own, oerr := contact.ParseEmail(c.Email); oerr == nil && own.Normalized == e.Normalized {
				verified = true
			}
		}
		// Mask the stored (normalised) form, so it looks the same whoever typed it how.
		stored, _ := contact.ParseEmail(e.Normalized)
		return e.Normalized, stored.Masked(), "", verified, nil
	}
	if s.Phones == nil {
		return "", "", "", false, internal(errors.New("mfa: no phone parser wired into this function"))
	}
	e164, region, masked, perr := s.Phones(req.Phone)
	if perr != nil {
		return "", "", "", false, Invalid(CodeInvalidRequest, "phone", "phone must be a valid number in E.164 form, like +14155550100")
	}
	if !pol.AllowsCountry(region) {
		return "", "", "", false, Invalid(CodeCountryNotAllowed, "phone", "text messages to this country are not allowed")
	}
	verified = req.PreVerified
	if c.Kind == CallerUser && c.PhoneVerified {
		if own, _, _, oerr := s.Phones(c.Phone); oerr == nil && own == e164 {
			verified = true
		}
	}
	return e164, masked, region, verified, nil
}

// quota is what one send counts against; text messages use the policy's SMS caps.
func (s *Core) quota(userID, dest string, now time.Time, channel FactorType, pol policy.Policy) SendQuota {
	lim := s.limits()
	q := SendQuota{UserID: userID, DestinationKey: s.destinationKey(dest), Window: lim.SendWindow, MaxPerUser: lim.MaxSendsPerUser, MaxPerDest: lim.MaxSendsPerDest, At: now}
	if channel == TypeSMS && pol.SMS.MaxPerUserPerHour > 0 {
		q.Window, q.MaxPerUser, q.MaxPerDest = time.Hour, pol.SMS.MaxPerUserPerHour, pol.SMS.MaxPerDestinationPerHour
	}
	return q
}

// CompleteEnrollment checks the code of a pending enrollment and binds the factor. For TOTP
// the step of that code counts as used, so it cannot sign in afterwards.
func (s *Enrollments) CompleteEnrollment(ctx context.Context, c Caller, userID, enrollmentID string, req CompleteEnrollmentRequest) (Activated, error) {
	if err := authorize(c, userID); err != nil {
		return Activated{}, err
	}
	if !ValidID(enrollmentID) {
		return Activated{}, Invalid(CodeInvalidRequest, "enrollmentId", "enrollmentId is malformed")
	}
	e, state, err := s.Store.LoadEnrollment(ctx, userID, enrollmentID)
	if errors.Is(err, ErrNotFound) {
		return Activated{}, notFound(CodeEnrollmentNotFound, "no such enrollment")
	}
	if err != nil {
		return Activated{}, unavailable(err)
	}
	now := s.now()
	lim := s.limits()
	if !now.Before(e.ExpiresAt) || e.Attempts >= lim.MaxEnrollmentTries {
		return Activated{}, newError(KindGone, CodeEnrollmentExpired, "the enrollment expired or took too many wrong codes; start again")
	}
	f := Factor{ID: e.ID, UserID: userID, Type: e.Type, Label: e.Label, CreatedAt: now, Destination: e.Destination, Region: e.Region, Masked: e.Masked, Locale: e.Locale}
	if (e.Type == TypeWebAuthn) != (len(req.Credential) > 0) {
		if e.Type == TypeWebAuthn {
			return Activated{}, Invalid(CodeInvalidCredential, "credential", "a passkey enrollment completes with credential, the PublicKeyCredential JSON")
		}
		return Activated{}, Invalid(CodeInvalidRequest, "credential", "this enrollment completes with a code")
	}
	code := ""
	if e.Type != TypeWebAuthn {
		var ok bool
		if code, ok = normalizeOTP(req.Code, int(totpDigits)); !ok {
			return Activated{}, Invalid(CodeInvalidCode, "code", "code must be 6 digits")
		}
	}
	switch e.Type {
	case TypeWebAuthn:
		if err := s.finishPasskey(c, userID, e, req.Credential, &f); err != nil {
			return Activated{}, err
		}
	case TypeTOTP:
		secret, err := s.Sealer.Open(e.SealedSecret, userID, e.ID)
		if err != nil {
			return Activated{}, internal(err)
		}
		step, ok, err := matchTOTP(secret, code, now, 0)
		if err != nil {
			return Activated{}, internal(err)
		}
		if !ok {
			if err := s.Store.FailEnrollment(ctx, userID, e.ID, lim.MaxEnrollmentTries); err != nil && !errors.Is(err, ErrExhausted) {
				return Activated{}, unavailable(err)
			}
			refusal := Invalid(CodeVerificationFailed, "code", "the code does not match; check the authenticator's clock and try the next code")
			refusal.AttemptsRemaining = new(max(0, lim.MaxEnrollmentTries-e.Attempts-1))
			return Activated{}, refusal
		}
		f.SealedSecret, f.LastStep = e.SealedSecret, step
	default:
		if !hmac.Equal(s.codeHash(userID, "enrollment:"+e.ID, code), e.CodeHash) {
			if err := s.Store.FailEnrollment(ctx, userID, e.ID, lim.MaxEnrollmentTries); err != nil && !errors.Is(err, ErrExhausted) {
				return Activated{}, unavailable(err)
			}
			refusal := Invalid(CodeVerificationFailed, "code", "the code does not match")
			refusal.AttemptsRemaining = new(max(0, lim.MaxEnrollmentTries-e.Attempts-1))
			return Activated{}, refusal
		}
	}
	// The policy the enrollment started under: backup codes and email fallback follow it.
	pol, err := s.policyFor(ctx, e.OrganizationID)
	if err != nil {
		return Activated{}, err
	}
	return s.Factors.activate(ctx, c, state, f, e.ID, pol)
}

// activate binds f, creating the user's first backup code set with the first primary factor
// when the policy enables backup codes, and tells the user.
func (s *Factors) activate(ctx context.Context, c Caller, state UserState, f Factor, enrollmentID string, pol policy.Policy) (Activated, error) {
	var out Activated
	var backup *Factor
	if f.Primary() && state.Primaries() == 0 && state.BackupFactorID == "" && pol.BackupCodes {
		set, codes, err := s.newBackupSet(f.UserID)
		if err != nil {
			return Activated{}, internal(err)
		}
		backup, out.BackupCodes = &set, codes
	}
	ev := s.event(c, f.UserID, ActionFactorActivated, "ok")
	ev.FactorID, ev.FactorType = f.ID, f.Type
	if f.Destination != "" && (f.Type == TypeEmail || f.Type == TypeSMS) {
		f.AddressKey = s.addressKey(f.Destination)
	}
	switch err := s.Store.ActivateFactor(ctx, Activation{Factor: f, EnrollmentID: enrollmentID, RequireNoFactors: s.needsStepUp(c, f.UserID), Backup: backup, StepUp: s.stepUpUse(c, f.UserID), Event: ev}); {
	case errors.Is(err, ErrStepUpUsed):
		return Activated{}, stepUpUsed()
	case errors.Is(err, ErrNotFound):
		return Activated{}, notFound(CodeEnrollmentNotFound, "no such enrollment")
	case errors.Is(err, ErrHasFactors):
		return Activated{}, stepUpRequired()
	case errors.Is(err, ErrConflict), errors.Is(err, ErrExists):
		return Activated{}, newError(KindConflict, CodeConflict, "the user's factors changed at the same time; try again")
	case err != nil:
		return Activated{}, unavailable(err)
	}
	out.Factor = f
	known := []Factor{f}
	for _, addr := range state.Emails {
		known = append(known, Factor{Type: TypeEmail, Destination: addr})
	}
	s.notify(ctx, c, f.UserID, known, Notice{Kind: "factor_added", FactorType: f.Type, Label: f.Label, At: f.CreatedAt, IP: c.IP, Locale: f.Locale})
	s.emailFallback(ctx, c, state, f, pol)
	return out, nil
}

// emailFallback is DESIGN §5 rule 6: when a user enrolls TOTP or a passkey and their token
// carries a verified email, that email is bound as a factor too, so losing the device does not
// lock them out. Users who never enroll are untouched. Best effort: the enrollment stands even
// if this second binding fails.
func (s *Factors) emailFallback(ctx context.Context, c Caller, state UserState, f Factor, pol policy.Policy) {
	if !pol.EmailFallback || (f.Type != TypeTOTP && f.Type != TypeWebAuthn) || !pol.Allows(string(TypeEmail)) {
		return
	}
	if c.Kind != CallerUser || c.Subject != f.UserID || !c.EmailVerified {
		return
	}
	addr, err := contact.ParseEmail(c.Email)
	if err != nil {
		return
	}
	for _, known := range state.Emails {
		if known == addr.Normalized {
			return
		}
	}
	id, err := s.newID()
	if err != nil {
		return
	}
	masked, _ := contact.ParseEmail(addr.Normalized)
	email := Factor{ID: id, UserID: f.UserID, Type: TypeEmail, Label: "Email (fallback)", CreatedAt: s.now(), Destination: addr.Normalized, Masked: masked.Masked(), Locale: f.Locale}
	ev := s.event(c, f.UserID, ActionFactorActivated, "ok")
	ev.FactorID, ev.FactorType, ev.Reason = id, TypeEmail, "email_fallback"
	if err := s.Store.ActivateFactor(ctx, Activation{Factor: email, Event: ev}); err != nil && s.Log != nil {
		s.Log.Warn("email fallback not bound", slog.String("userId", f.UserID), slog.String("error", err.Error()))
	}
}
