package mfa

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Logto's Management API type names, accepted by the admin bind so that tools written for it
// work unchanged.
var logtoTypes = map[string]FactorType{
	"EmailVerificationCode": TypeEmail,
	"PhoneVerificationCode": TypeSMS,
	"Totp":                  TypeTOTP,
	"BackupCode":            TypeBackupCodes,
}

// BindRequest is the body of POST /v1/admin/users/{userId}/factors.
type BindRequest struct {
	Type   string
	Email  string
	Phone  string
	Secret string // totp: a base32 secret to migrate; empty to generate one
	Label  string
	Locale string // the user's language for this factor's messages (BCP 47)
}

// Bound is what an admin bind returns: the factor, and what is shown once (a generated TOTP
// secret, or a new set of backup codes).
type Bound struct {
	Factor      Factor
	TOTP        *TOTPProvisioning
	BackupCodes []string
}

// AdminBind binds a factor to one user on an admin's authority: the address or number counts
// as verified, and no other user is affected (the motivating request of this service).
func (s *Administration) AdminBind(ctx context.Context, c Caller, userID string, req BindRequest) (Bound, error) {
	if err := authorizeAdmin(c, userID); err != nil {
		return Bound{}, err
	}
	t := FactorType(req.Type)
	if mapped, ok := logtoTypes[req.Type]; ok {
		t = mapped
	}
	switch t {
	case TypeEmail, TypeSMS, TypeTOTP, TypeBackupCodes:
	case TypeWebAuthn:
		return Bound{}, Invalid(CodeUnsupportedType, "type", "a passkey can only be registered by its owner, from their device")
	default:
		return Bound{}, Invalid(CodeUnsupportedType, "type", "type must be email, sms, totp or backup_codes (or Logto's names)")
	}
	if (req.Email != "") != (t == TypeEmail) || (req.Phone != "") != (t == TypeSMS) || (req.Secret != "" && t != TypeTOTP) {
		return Bound{}, Invalid(CodeInvalidRequest, "type", "email goes with email, phone with sms, secret with totp")
	}
	if t == TypeBackupCodes {
		codes, err := s.Factors.regenerate(ctx, c, userID)
		if err != nil {
			return Bound{}, err
		}
		return Bound{Factor: Factor{Type: TypeBackupCodes, UserID: userID, Label: "Backup codes"}, BackupCodes: codes}, nil
	}
	label, err := cleanLabel(req.Label, defaultLabels[t])
	if err != nil {
		return Bound{}, err
	}
	explicit, err := explicitLocale(req.Locale)
	if err != nil {
		return Bound{}, err
	}
	pol, err := s.policyFor(ctx, "")
	if err != nil {
		return Bound{}, err
	}
	if !pol.Allows(string(t)) {
		return Bound{}, forbidden(CodeFactorTypeNotAllowed, "the policy does not allow this factor type")
	}
	profile, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return Bound{}, unavailable(err)
	}
	if strings.TrimSpace(req.Label) == "" {
		label = defaultLabel(t, profile.Factors)
	}
	id, err := s.newID()
	if err != nil {
		return Bound{}, internal(err)
	}
	// The admin's own language says nothing about the user's: an explicit locale, else the one
	// the user chose for their newest factor.
	f := Factor{ID: id, UserID: userID, Type: t, Label: label, CreatedAt: s.now(), Locale: firstLocale(explicit, newestLocale(profile.Factors))}
	var out Bound
	switch t {
	case TypeTOTP:
		prov, err := s.adminTOTP(req.Secret, label)
		if err != nil {
			return Bound{}, err
		}
		if f.SealedSecret, err = s.Sealer.Seal(prov.raw, userID, id); err != nil {
			return Bound{}, internal(err)
		}
		if req.Secret == "" {
			out.TOTP = &prov // generated here: shown this once
		}
	default:
		dest, masked, region, _, err := s.Factors.destination(Caller{Kind: CallerAdmin}, pol, StartEnrollmentRequest{Type: t, Email: req.Email, Phone: req.Phone})
		if err != nil {
			return Bound{}, err
		}
		for _, g := range profile.Factors {
			if g.Type == t && g.Destination == dest {
				return Bound{}, &Error{Kind: KindConflict, Code: CodeFactorExists, Message: "this destination is already a factor of this user"}
			}
		}
		f.Destination, f.Masked, f.Region = dest, masked, region
	}
	// An admin bind never creates backup codes: they are the user's to see, not the admin's.
	// The user gets them with POST …/backup-codes, or the admin binds type backup_codes.
	pol.BackupCodes = false
	act, err := s.Factors.activate(ctx, c, profile.State, f, "", pol)
	if err != nil {
		return Bound{}, err
	}
	out.Factor = act.Factor
	return out, nil
}

// adminTOTP validates a migrated secret (at least 80 bits, the minimum authenticator apps
// issue) or generates a new one.
func (s *Core) adminTOTP(secret, label string) (TOTPProvisioning, error) {
	if secret == "" {
		return newTOTPSecret(s.Random, s.TOTPIssuer, label)
	}
	clean := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(secret))
	raw, err := b32.DecodeString(strings.TrimRight(clean, "="))
	if err != nil || len(raw) < 10 || len(raw) > 64 {
		return TOTPProvisioning{}, Invalid(CodeInvalidRequest, "secret", "secret must be base32 for 80 to 512 bits")
	}
	return TOTPProvisioning{raw: raw}, nil
}

// Status is an admin's view of one user.
type Status struct {
	UserID               string
	Factors              []Factor
	BackupCodesRemaining int
	LastChallengeAt      time.Time
	LastVerifiedAt       time.Time
	FailedAttempts       int
	LockedUntil          time.Time
	LockedPermanently    bool
	Devices              []Device
}

// AdminStatus describes a user. A user the service never saw has an empty status.
func (s *Administration) AdminStatus(ctx context.Context, c Caller, userID string) (Status, error) {
	if err := authorizeAdmin(c, userID); err != nil {
		return Status{}, err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return Status{}, unavailable(err)
	}
	now := s.now()
	st := Status{
		UserID: userID, Factors: p.Factors, LastChallengeAt: p.State.LastChallengeAt, LastVerifiedAt: p.State.LastVerifiedAt,
		FailedAttempts: p.State.ConsecutiveFailures, Devices: liveDevices(p.Devices, now),
	}
	for _, f := range p.Factors {
		if f.Type == TypeBackupCodes {
			st.BackupCodesRemaining = len(f.BackupCodes)
		}
	}
	if lock, locked := s.Regulation.LockAt(p.State, now); locked {
		st.LockedUntil, st.LockedPermanently = lock.Until, lock.Permanent
	}
	return st, nil
}

// AdminDeleteFactor removes one factor on an admin's authority.
func (s *Administration) AdminDeleteFactor(ctx context.Context, c Caller, userID, factorID string) error {
	if err := authorizeAdmin(c, userID); err != nil {
		return err
	}
	if !ValidID(factorID) {
		return Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	return s.Factors.removeFactor(ctx, c, userID, factorID)
}

// AdminReset removes all of a user's factors, backup codes and trusted devices and clears the
// lock, in one transaction. The user is told at every address known before the reset.
func (s *Administration) AdminReset(ctx context.Context, c Caller, userID string) error {
	if err := authorizeAdmin(c, userID); err != nil {
		return err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return unavailable(err)
	}
	if err := s.Store.ResetUser(ctx, p, s.event(c, userID, ActionFactorsReset, "ok")); err != nil {
		if errors.Is(err, ErrConflict) {
			return newError(KindConflict, CodeConflict, "the user's factors changed at the same time; try again")
		}
		return unavailable(err)
	}
	s.Factors.notify(ctx, c, userID, p.Factors, Notice{Kind: "factors_reset", At: s.now(), IP: c.IP})
	return nil
}

// AdminUnlock clears a user's failure count, ending any lock.
func (s *Administration) AdminUnlock(ctx context.Context, c Caller, userID string) error {
	if err := authorizeAdmin(c, userID); err != nil {
		return err
	}
	if err := s.Store.Unlock(ctx, userID, s.event(c, userID, ActionUnlocked, "ok")); err != nil {
		return unavailable(err)
	}
	return nil
}

// policyAuditUser is the pseudo-user policy changes are audited under; "#" is in no user id.
const policyAuditUser = "#policy"

// PolicyEvents pages the audit events of policy changes, newest first.
func (s *Administration) PolicyEvents(ctx context.Context, c Caller, limit int, cursor string) ([]AuditEvent, string, error) {
	if c.Kind != CallerAdmin {
		return nil, "", forbidden(CodeAdminRequired, "this route needs a token with the mfa/admin scope")
	}
	return s.events(ctx, policyAuditUser, limit, cursor)
}

// Events pages a user's audit events, newest first.
func (s *Administration) Events(ctx context.Context, c Caller, userID string, limit int, cursor string) ([]AuditEvent, string, error) {
	if err := authorizeAdmin(c, userID); err != nil {
		return nil, "", err
	}
	return s.events(ctx, userID, limit, cursor)
}

func (s *Administration) events(ctx context.Context, userID string, limit int, cursor string) ([]AuditEvent, string, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 200 {
		return nil, "", Invalid(CodeInvalidRequest, "limit", "limit must be 1 to 200")
	}
	events, next, err := s.Store.ListEvents(ctx, userID, limit, cursor)
	if errors.Is(err, ErrBadCursor) {
		return nil, "", Invalid(CodeInvalidCursor, "cursor", "cursor is not one this service handed out")
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	return events, next, nil
}
