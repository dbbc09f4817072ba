package mfa

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"strings"
)

// Backup codes: 10 codes of 16 Crockford base32 characters (80 bits each), shown grouped as
// xxxx-xxxx-xxxx-xxxx, stored only as keyed hashes bound to the user and the set.
const (
	backupCodeCount = 10
	backupCodeChars = 16
	crockford       = "0123456789abcdefghjkmnpqrstvwxyz"
)

// newBackupSet generates a set and returns the factor to store and the codes to show once.
func (s *Core) newBackupSet(userID string) (Factor, []string, error) {
	id, err := s.newID()
	if err != nil {
		return Factor{}, nil, err
	}
	set := Factor{ID: id, UserID: userID, Type: TypeBackupCodes, Label: "Backup codes", CreatedAt: s.now()}
	codes := make([]string, backupCodeCount)
	raw := make([]byte, backupCodeChars)
	for i := range codes {
		if _, err := io.ReadFull(s.Random, raw); err != nil {
			return Factor{}, nil, err
		}
		var b strings.Builder
		for j, r := range raw {
			if j > 0 && j%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(crockford[r&31]) // 256 is a multiple of 32: no bias
		}
		codes[i] = b.String()
		norm, _ := normalizeBackupCode(codes[i])
		set.BackupCodes = append(set.BackupCodes, s.backupHash(userID, id, norm))
	}
	return set, codes, nil
}

// normalizeBackupCode makes input case- and separator-insensitive and forgives the letters
// Crockford base32 leaves out because they look like digits.
func normalizeBackupCode(in string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(in) {
		switch {
		case r == '-' || r == ' ' || r == '_' || r == '.':
			continue
		case r == 'o':
			r = '0'
		case r == 'i' || r == 'l':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != backupCodeChars {
		return "", false
	}
	return b.String(), true
}

func (s *Core) backupHash(userID, setID, normalized string) string {
	return hex.EncodeToString(s.Hasher.Hash("backup-code", []byte(userID+"\x00"+setID+"\x00"+normalized)))
}

// RegenerateBackupCodes replaces the user's backup codes with a new set, shown once. The old
// set is dead the moment the new one is stored. A user token needs a fresh step-up, and the
// user needs a primary factor: backup codes are never a user's only factor.
func (s *Factors) RegenerateBackupCodes(ctx context.Context, c Caller, userID string) ([]string, error) {
	if err := authorize(c, userID); err != nil {
		return nil, err
	}
	if s.needsStepUp(c, userID) {
		return nil, stepUpRequired()
	}
	return s.regenerate(ctx, c, userID)
}

// regenerate replaces (or creates) the backup code set for an authorized caller.
func (s *Factors) regenerate(ctx context.Context, c Caller, userID string) ([]string, error) {
	pol, err := s.policyFor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !pol.BackupCodes {
		return nil, forbidden(CodeFactorTypeNotAllowed, "the policy does not enable backup codes")
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	if p.State.Primaries() <= 0 {
		return nil, &Error{Kind: KindConflict, Code: CodePrimaryRequired, Message: "bind a primary factor first; backup codes cannot be the only factor"}
	}
	set, codes, err := s.newBackupSet(userID)
	if err != nil {
		return nil, internal(err)
	}
	create := p.State.BackupFactorID == ""
	if !create {
		set.ID = p.State.BackupFactorID
		set.BackupCodes = set.BackupCodes[:0]
		for _, code := range codes {
			norm, _ := normalizeBackupCode(code)
			set.BackupCodes = append(set.BackupCodes, s.backupHash(userID, set.ID, norm))
		}
	}
	ev := s.event(c, userID, ActionBackupCodesRenewed, "ok")
	ev.FactorID, ev.FactorType = set.ID, TypeBackupCodes
	switch err := s.Store.ReplaceBackupCodes(ctx, set, create, ev, s.stepUpUse(c, userID)); {
	case errors.Is(err, ErrStepUpUsed):
		return nil, stepUpUsed()
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		return nil, newError(KindConflict, CodeConflict, "the backup codes changed at the same time; try again")
	case err != nil:
		return nil, unavailable(err)
	}
	s.notify(ctx, c, userID, p.Factors, Notice{Kind: "factor_added", FactorType: TypeBackupCodes, Label: set.Label, At: set.CreatedAt, IP: c.IP})
	return codes, nil
}
