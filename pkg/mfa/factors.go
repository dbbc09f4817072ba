package mfa

import (
	"context"
	"errors"
	"strings"
)

// FactorList is what GET …/factors returns: no secrets.
type FactorList struct {
	Factors              []Factor
	BackupCodesRemaining int
}

// ListFactors lists a user's factors.
func (s *Factors) ListFactors(ctx context.Context, c Caller, userID string) (FactorList, error) {
	if err := authorize(c, userID); err != nil {
		return FactorList{}, err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return FactorList{}, unavailable(err)
	}
	out := FactorList{Factors: p.Factors}
	for _, f := range p.Factors {
		if f.Type == TypeBackupCodes {
			out.BackupCodesRemaining = len(f.BackupCodes)
		}
	}
	return out, nil
}

// DeleteFactor removes one factor. A user token needs a fresh step-up. The user is told at
// every address known before the removal.
func (s *Factors) DeleteFactor(ctx context.Context, c Caller, userID, factorID string) error {
	if err := authorize(c, userID); err != nil {
		return err
	}
	if !ValidID(factorID) {
		return Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	if s.needsStepUp(c, userID) {
		return stepUpRequired()
	}
	return s.removeFactor(ctx, c, userID, factorID)
}

// removeFactor removes a factor for an already authorized caller.
func (s *Factors) removeFactor(ctx context.Context, c Caller, userID, factorID string) error {
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return unavailable(err)
	}
	var target *Factor
	for i := range p.Factors {
		if p.Factors[i].ID == factorID {
			target = &p.Factors[i]
		}
	}
	if target == nil {
		return notFound(CodeFactorNotFound, "no such factor")
	}
	ev := s.event(c, userID, ActionFactorRemoved, "ok")
	ev.FactorID, ev.FactorType = factorID, target.Type
	switch err := s.Store.DeleteFactor(ctx, *target, ev, s.stepUpUse(c, userID)); {
	case errors.Is(err, ErrStepUpUsed):
		return stepUpUsed()
	case errors.Is(err, ErrNotFound):
		return notFound(CodeFactorNotFound, "no such factor")
	case err != nil:
		return unavailable(err)
	}
	s.notify(ctx, c, userID, p.Factors, Notice{Kind: "factor_removed", FactorType: target.Type, Label: target.Label, At: s.now(), IP: c.IP})
	return nil
}

// RenameFactor changes a factor's label. A label is no secret and no access, so renaming needs
// no step-up.
func (s *Factors) RenameFactor(ctx context.Context, c Caller, userID, factorID, label string) (Factor, error) {
	if err := authorize(c, userID); err != nil {
		return Factor{}, err
	}
	if !ValidID(factorID) {
		return Factor{}, Invalid(CodeInvalidRequest, "factorId", "factorId is malformed")
	}
	if strings.TrimSpace(label) == "" {
		return Factor{}, Invalid(CodeInvalidRequest, "label", "label is required")
	}
	clean, err := cleanLabel(label, "")
	if err != nil {
		return Factor{}, err
	}
	ev := s.event(c, userID, ActionFactorRenamed, "ok")
	ev.FactorID = factorID
	f, err := s.Store.RenameFactor(ctx, userID, factorID, clean, ev)
	switch {
	case errors.Is(err, ErrNotFound):
		return Factor{}, notFound(CodeFactorNotFound, "no such factor")
	case err != nil:
		return Factor{}, unavailable(err)
	}
	return f, nil
}
