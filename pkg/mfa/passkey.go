package mfa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
)

// passkeyUser is the WebAuthn user entity of a user: the handle is a keyed hash of the user
// id, so it is stable, opaque and says nothing about who the user is.
func (s *Core) passkeyUser(c Caller, userID string) PasskeyUser {
	name := userID
	if c.Kind == CallerUser && c.Subject == userID && c.Email != "" {
		name = c.Email
	}
	return PasskeyUser{Handle: s.Hasher.Hash("webauthn-user-handle", []byte(userID)), Name: name, DisplayName: name}
}

func passkeysOf(factors []Factor) []Factor {
	var out []Factor
	for _, f := range factors {
		if f.Type == TypeWebAuthn {
			out = append(out, f)
		}
	}
	return out
}

// passkeysOn is a service's Passkeys port, or the refusal of a deployment without a relying
// party (nil Passkeys: passkeys are off).
func passkeysOn(pk Passkeys) (Passkeys, error) {
	if pk == nil {
		return nil, Invalid(CodeUnsupportedType, "type", "passkeys are not configured for this deployment (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)")
	}
	return pk, nil
}

func (s *Enrollments) passkeys() (Passkeys, error)   { return passkeysOn(s.Passkeys) }
func (s *Verifications) passkeys() (Passkeys, error) { return passkeysOn(s.Passkeys) }

// startPasskey begins a registration: creation options for the browser, the session kept on
// the enrollment (server-side, single use, expiring with it).
func (s *Enrollments) startPasskey(ctx context.Context, c Caller, userID, id, label, orgID, lang string, profile Profile) (EnrollmentStarted, error) {
	pk, err := s.passkeys()
	if err != nil {
		return EnrollmentStarted{}, err
	}
	options, session, err := pk.BeginRegistration(s.passkeyUser(c, userID), passkeysOf(profile.Factors))
	if err != nil {
		return EnrollmentStarted{}, internal(err)
	}
	now := s.now()
	e := Enrollment{ID: id, UserID: userID, OrganizationID: orgID, Type: TypeWebAuthn, Label: label, Session: session, CreatedAt: now, ExpiresAt: now.Add(s.enrollmentTTL()), Locale: lang}
	ev := s.event(c, userID, ActionEnrollmentStarted, "ok")
	ev.FactorID, ev.FactorType = id, TypeWebAuthn
	if err := s.Store.CreateEnrollment(ctx, e, nil, ev); err != nil {
		return EnrollmentStarted{}, unavailable(err)
	}
	return EnrollmentStarted{EnrollmentID: id, Type: TypeWebAuthn, ExpiresAt: e.ExpiresAt, WebAuthn: options}, nil
}

// finishPasskey validates the attestation of a pending enrollment into a factor.
func (s *Enrollments) finishPasskey(c Caller, userID string, e Enrollment, credential []byte, f *Factor) error {
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	if len(credential) == 0 {
		return Invalid(CodeInvalidCredential, "credential", "credential (the PublicKeyCredential JSON) is required")
	}
	cred, err := pk.FinishRegistration(s.passkeyUser(c, userID), e.Session, credential)
	switch {
	case errors.Is(err, ErrPasskeyMalformed):
		return Invalid(CodeInvalidCredential, "credential", "credential is not a PublicKeyCredential response")
	case err != nil:
		return Invalid(CodeVerificationFailed, "credential", "the passkey could not be verified")
	}
	f.CredentialID, f.Credential, f.SignCount = cred.ID, cred.Record, cred.SignCount
	return nil
}

// beginPasskeyLogin gives a challenge its assertion options when it offers passkeys.
func (s *Challenges) beginPasskeyLogin(c Caller, userID string, offered []Factor, uv string) (json.RawMessage, []byte, error) {
	keys := passkeysOf(offered)
	if len(keys) == 0 || s.Passkeys == nil {
		return nil, nil, nil
	}
	options, session, err := s.Passkeys.BeginLogin(s.passkeyUser(c, userID), keys, uv)
	if err != nil {
		return nil, nil, internal(err)
	}
	return options, session, nil
}

// checkPasskey validates an assertion against the passkeys the challenge offered. A sign
// count that did not grow (when either side counts) means a cloned authenticator: refused,
// and audited as such.
func (s *Verifications) checkPasskey(c Caller, ch Challenge, keys []Factor, credential []byte) (*answer, string, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, "", err
	}
	if len(ch.PasskeySession) == 0 {
		return nil, "", Invalid(CodeFactorNotFound, "type", "this challenge offers no passkey")
	}
	got, err := pk.FinishLogin(s.passkeyUser(c, ch.UserID), ch.PasskeySession, keys, credential)
	switch {
	case errors.Is(err, ErrPasskeyMalformed):
		return nil, "", Invalid(CodeInvalidCredential, "credential", "credential is not a PublicKeyCredential assertion")
	case err != nil:
		return nil, "wrong_passkey", nil
	}
	for _, f := range keys {
		if !bytes.Equal(f.CredentialID, got.CredentialID) {
			continue
		}
		if (got.SignCount != 0 || f.SignCount != 0) && got.SignCount <= f.SignCount {
			return nil, "sign_count_regression", nil
		}
		n := got.SignCount
		return &answer{factor: f, signCount: &n, userVerified: got.UserVerified}, "", nil
	}
	return nil, "wrong_passkey", nil
}
