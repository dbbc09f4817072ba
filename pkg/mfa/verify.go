package mfa

import (
	"context"
	"crypto/hmac"
	"errors"
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// VerifyRequest is the body of POST …/verifications.
type VerifyRequest struct {
	FactorID       string
	Type           FactorType
	Code           string
	Credential     []byte // webauthn: the PublicKeyCredential JSON of the assertion
	RememberDevice bool
}

// VerifyResult is a successful verification.
type VerifyResult struct {
	MFAToken             string
	DeviceToken          string // when the device asked to be remembered and the policy allows
	Factor               Factor
	BackupCodesRemaining *int
	EnrollmentRequired   bool
}

// answer is a checked answer: what the success transaction must consume.
type answer struct {
	factor       Factor
	step         int64
	codeHash     []byte
	backupHash   string
	signCount    *uint32
	userVerified bool
}

// Verify checks an answer to an open challenge. Wrong answers count against the challenge and
// against the user across all factors; while the user is locked even a right answer is
// refused, unchecked and uncounted (regulator.go); if the store cannot count, nothing verifies.
func (s *Verifications) Verify(ctx context.Context, c Caller, userID, challengeID string, req VerifyRequest) (VerifyResult, error) {
	if err := authorize(c, userID); err != nil {
		return VerifyResult{}, err
	}
	if !ValidChallengeID(challengeID) {
		return VerifyResult{}, Invalid(CodeInvalidRequest, "challengeId", "challengeId is malformed")
	}
	if req.FactorID != "" && !ValidID(req.FactorID) {
		return VerifyResult{}, Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	var code string
	var ok bool
	switch req.Type {
	case TypeTOTP, TypeEmail, TypeSMS:
		code, ok = normalizeOTP(req.Code, int(totpDigits))
		if !ok {
			return VerifyResult{}, Invalid(CodeInvalidCode, "code", "code must be 6 digits")
		}
	case TypeBackupCodes:
		code, ok = normalizeBackupCode(req.Code)
		if !ok {
			return VerifyResult{}, Invalid(CodeInvalidCode, "code", "a backup code has 16 letters and digits, like abcd-efgh-jkmn-pqrs")
		}
	case TypeWebAuthn:
		if len(req.Credential) == 0 {
			return VerifyResult{}, Invalid(CodeInvalidCredential, "credential", "credential (the PublicKeyCredential JSON) is required")
		}
	default:
		return VerifyResult{}, Invalid(CodeUnsupportedType, "type", "supported factor types: webauthn, totp, email, sms, backup_codes")
	}
	if req.Type != TypeWebAuthn && len(req.Credential) > 0 {
		return VerifyResult{}, Invalid(CodeInvalidRequest, "credential", "this factor type answers with a code")
	}

	ch, err := s.parseChallenge(userID, challengeID)
	if err != nil {
		return VerifyResult{}, err
	}
	v, err := s.Store.LoadVerification(ctx, ch)
	if errors.Is(err, ErrNotFound) {
		return VerifyResult{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	if err != nil {
		return VerifyResult{}, unavailable(err)
	}
	ch, state, record := withTally(v.Challenge, v.State), v.State, v.Code
	now := s.now()
	if err := s.mayTry(ctx, c, ch, state, req, now); err != nil {
		return VerifyResult{}, err
	}
	candidates, err := candidates(ch, req, v.Factors)
	if err != nil {
		return VerifyResult{}, err
	}
	if req.Type == TypeWebAuthn {
		a, reason, err := s.checkPasskey(c, ch, candidates, req.Credential)
		if err != nil {
			return VerifyResult{}, err
		}
		if a != nil {
			return s.succeed(ctx, c, ch, state, *a, req.RememberDevice, now)
		}
		return VerifyResult{}, s.markFailure(ctx, c, ch, state, req, now, reason)
	}

	for _, f := range candidates {
		a, err := s.check(userID, ch, f, record, code, now)
		if err != nil {
			return VerifyResult{}, err
		}
		if a != nil {
			return s.succeed(ctx, c, ch, state, *a, req.RememberDevice, now)
		}
	}
	return VerifyResult{}, s.markFailure(ctx, c, ch, state, req, now, "wrong_code")
}

// candidates resolves the factors an answer may be for, among the loaded ones: the named
// one, or the factors of the requested type that the challenge offered.
func candidates(ch Challenge, req VerifyRequest, loaded []Factor) ([]Factor, error) {
	if req.FactorID != "" {
		var named *Factor
		for i := range loaded {
			if loaded[i].ID == req.FactorID {
				named = &loaded[i]
			}
		}
		if named == nil || !offers(ch, req.FactorID) {
			return nil, notFound(CodeFactorNotFound, "the challenge offers no such factor")
		}
		if named.Type != req.Type {
			return nil, Invalid(CodeFactorTypeMismatch, "type", "type does not match the factor")
		}
		return []Factor{*named}, nil
	}
	offered := 0
	for _, o := range ch.Offered {
		if o.Type == req.Type {
			offered++
		}
	}
	switch {
	case offered == 0:
		return nil, notFound(CodeFactorNotFound, "the challenge offers no factor of this type")
	case offered > 1 && req.Type != TypeTOTP && req.Type != TypeWebAuthn:
		return nil, Invalid(CodeFactorRequired, "factorId", "the user has several factors of this type; name one")
	}
	// One factor of the type, or several authenticator apps (the code may come from any) or
	// passkeys (the assertion names its credential).
	var out []Factor
	for _, f := range loaded {
		if offers(ch, f.ID) && f.Type == req.Type {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, notFound(CodeFactorNotFound, "the factor was removed")
	}
	return out, nil
}

// check compares one answer with one factor in constant time. nil means wrong; an error is
// a refusal that does not count as a wrong answer (nothing was compared).
func (s *Verifications) check(userID string, ch Challenge, f Factor, record *CodeRecord, code string, now time.Time) (*answer, error) {
	switch f.Type {
	case TypeTOTP:
		secret, err := s.Sealer.Open(f.SealedSecret, userID, f.ID)
		if err != nil {
			return nil, internal(err)
		}
		step, ok, err := matchTOTP(secret, code, now, f.LastStep)
		if err != nil || !ok {
			return nil, err
		}
		return &answer{factor: f, step: step}, nil
	case TypeEmail, TypeSMS:
		if record == nil || record.FactorID != f.ID || len(record.Hash) == 0 {
			return nil, Invalid(CodeCodeNotSent, "code", "no code was sent for this factor; ask for one first")
		}
		if !now.Before(record.ExpiresAt) {
			return nil, newError(KindGone, CodeCodeExpired, "the code expired; ask for a new one")
		}
		if !hmac.Equal(s.codeHash(userID, "challenge:"+ch.ID+":"+f.ID, code), record.Hash) {
			return nil, nil
		}
		return &answer{factor: f, codeHash: record.Hash}, nil
	case TypeBackupCodes:
		want := s.backupHash(userID, f.ID, code)
		found := false
		for _, h := range f.BackupCodes {
			// Compare against every hash so the time taken says nothing about the position.
			if hmac.Equal([]byte(h), []byte(want)) {
				found = true
			}
		}
		if !found {
			return nil, nil
		}
		return &answer{factor: f, backupHash: want}, nil
	}
	return nil, nil
}

func (s *Verifications) succeed(ctx context.Context, c Caller, ch Challenge, state UserState, a answer, remember bool, now time.Time) (VerifyResult, error) {
	f := a.factor
	var device *Device
	var deviceToken string
	if remember && ch.Purpose == PurposeSignIn {
		pol, err := s.policyFor(ctx, ch.OrganizationID)
		if err != nil {
			return VerifyResult{}, err
		}
		if pol.RememberDeviceDays > 0 {
			d, tok, err := s.newDevice(c, ch.UserID, pol.RememberDeviceDays, now)
			if err != nil {
				return VerifyResult{}, internal(err)
			}
			device, deviceToken = &d, tok
		}
	}
	// Sign first: if the write then fails, the token is dropped and never seen.
	token, err := s.Tokens.IssueMFAToken(MFATokenClaims{
		Subject:        ch.UserID,
		AuthTime:       now,
		AMR:            amrFor(f.Type, a.userVerified),
		ACR:            policy.StrengthOf(string(f.Type)),
		FactorType:     f.Type,
		FactorID:       f.ID,
		OrganizationID: ch.OrganizationID,
		ChallengeID:    ch.ID,
	})
	if err != nil {
		return VerifyResult{}, internal(err)
	}
	ev := s.event(c, ch.UserID, ActionVerificationSuccess, "ok")
	ev.At = now // the instant recorded on the user's state (lastVerifiedAt)
	ev.FactorID, ev.FactorType, ev.ChallengeID = f.ID, f.Type, ch.ID
	err = s.Store.RecordSuccess(ctx, Success{
		UserID: ch.UserID, ChallengeID: ch.ID, Challenge: state.use(ch, now), FactorID: f.ID,
		Step: a.step, CodeHash: a.codeHash, BackupHash: a.backupHash, SignCount: a.signCount,
		Open: s.Regulation.OpenAt(now), MaxFailures: s.Regulation.MaxChallengeFailures,
		Seen: seenOf(ch, now), Device: device, DeviceEvent: deviceEvent(s.event(c, ch.UserID, ActionDeviceTrusted, "ok"), device), At: now, Event: ev,
		NoFailures: state.ConsecutiveFailures == 0, SameFactor: state.LastFactorID == f.ID,
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrChallengeClosed):
		// The same answer (a double-click, a retry) or another one closed this challenge first:
		// this one is answered as it would be a moment later, and not counted.
		return VerifyResult{}, s.refuse(ctx, c, ch, state, VerifyRequest{FactorID: f.ID, Type: f.Type}, now, CodeChallengeClosed, newError(KindGone, CodeChallengeClosed, "this challenge was already answered; start a new one"))
	case errors.Is(err, ErrStepReused), errors.Is(err, ErrCodeUsed):
		// Another challenge consumed this step or backup code first: on this one it is a
		// replay, and counts.
		return VerifyResult{}, s.markFailure(ctx, c, ch, state, VerifyRequest{FactorID: f.ID, Type: f.Type}, now, "replayed")
	case errors.Is(err, ErrLocked):
		// A failure counted since the state was read began a lock: the answer is refused as
		// every answer during the lock is, unchecked and uncounted.
		return VerifyResult{}, s.refuseLockedAtWrite(ctx, c, ch, state, VerifyRequest{FactorID: f.ID, Type: f.Type}, now, err)
	default:
		return VerifyResult{}, unavailable(err)
	}
	s.count("Verifications", map[string]string{"FactorType": string(f.Type), "Outcome": "success"})
	f.LastUsedAt, f.LastStep = now, a.step
	res := VerifyResult{MFAToken: token, DeviceToken: deviceToken, Factor: f, EnrollmentRequired: state.Primaries() <= 0}
	if f.Type == TypeBackupCodes {
		left := max(0, len(f.BackupCodes)-1)
		res.BackupCodesRemaining = &left
		f.BackupCodes = nil
		res.Factor = f
	}
	return res, nil
}

// amrFor gives the authentication method references (RFC 8176 where one fits) of a factor.
// RFC 8176 has no value for email, so email says "email": apps should treat it as the weakest
// out-of-band factor. Backup codes say "otp" (they are one-time passwords) and the acr claim
// says "recovery".
func amrFor(t FactorType, userVerified bool) []string {
	switch t {
	case TypeWebAuthn:
		if userVerified {
			return []string{"hwk", "user", "mfa"}
		}
		return []string{"hwk", "mfa"}
	case TypeTOTP, TypeBackupCodes:
		return []string{"otp", "mfa"}
	case TypeSMS:
		return []string{"sms", "mfa"}
	case TypeEmail:
		return []string{"email", "mfa"}
	default:
		return []string{"mfa"}
	}
}

func deviceEvent(ev AuditEvent, d *Device) AuditEvent {
	if d != nil {
		ev.Reason = d.ID
	}
	return ev
}

// seenOf is what a successful verification teaches adaptive MFA: this device and address are
// the user's, so the next sign-in from them is quiet.
func seenOf(ch Challenge, now time.Time) []Seen {
	var out []Seen
	if ch.ContextDevice != "" {
		out = append(out, Seen{Kind: "device", Value: ch.ContextDevice, At: now})
	}
	if ch.ContextIP != "" {
		out = append(out, Seen{Kind: "ip", Value: ch.ContextIP, At: now})
	}
	return out
}
