package mfa

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// Policies reads the stored policies through a short per-container cache: a change applies
// within TTL everywhere, and at once in the container that made it.
type Policies struct {
	Store    PolicyStore
	TTL      time.Duration // default one minute
	Fallback policy.Policy // in force while no global policy is stored
	Now      func() time.Time

	mu      sync.Mutex
	entries map[string]cachedPolicy
}

type cachedPolicy struct {
	p     policy.Policy
	found bool
	at    time.Time
}

const globalScope = "global"

func orgScope(orgID string) string { return "org:" + orgID }

// auditScope names a policy's scope in its audit events as the API names it ("global" or
// "organization:<id>"), not as it is keyed in the store.
func auditScope(orgID string) string {
	if orgID == "" {
		return globalScope
	}
	return "organization:" + orgID
}

func (c *Policies) load(ctx context.Context, scope string) (policy.Policy, bool, error) {
	now := c.Now()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	c.mu.Lock()
	e, ok := c.entries[scope]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl {
		return e.p, e.found, nil
	}
	p, _, found, err := c.Store.LoadPolicy(ctx, scope)
	if err != nil {
		return policy.Policy{}, false, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedPolicy{}
	}
	c.entries[scope] = cachedPolicy{p: p, found: found, at: now}
	c.mu.Unlock()
	return p, found, nil
}

func (c *Policies) invalidate(scope string) {
	c.mu.Lock()
	delete(c.entries, scope)
	c.mu.Unlock()
}

// Effective is the policy in force for an organization ("" for none): the global one, made
// stricter by the organization's when it has one.
func (c *Policies) Effective(ctx context.Context, orgID string) (policy.Policy, error) {
	global, found, err := c.load(ctx, globalScope)
	if err != nil {
		return policy.Policy{}, err
	}
	if !found {
		global = c.Fallback
	}
	if orgID == "" {
		return global, nil
	}
	org, found, err := c.load(ctx, orgScope(orgID))
	if err != nil {
		return policy.Policy{}, err
	}
	if !found {
		return global, nil
	}
	return policy.Merge(global, org), nil
}

// StoredPolicy is a policy as the admin routes show it.
type StoredPolicy struct {
	Policy policy.Policy
	Meta   policy.Meta
	Stored bool // false: nothing stored, Policy is what is in force instead
}

func (s *Service) policyScope(c Caller, orgID string) (string, error) {
	if c.Kind != CallerAdmin {
		return "", forbidden(CodeAdminRequired, "this route needs a token with the mfa/admin scope")
	}
	if orgID == "" {
		return globalScope, nil
	}
	if !orgIDPattern.MatchString(orgID) {
		return "", Invalid(CodeInvalidRequest, "orgId", "orgId is malformed")
	}
	return orgScope(orgID), nil
}

// GetPolicy returns the stored global ("" org) or organization policy. With none stored, the
// global answer is the default in force and an organization answers 404.
func (s *Service) GetPolicy(ctx context.Context, c Caller, orgID string) (StoredPolicy, error) {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return StoredPolicy{}, err
	}
	p, meta, found, err := s.Policies.Store.LoadPolicy(ctx, scope)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	if !found {
		if orgID != "" {
			return StoredPolicy{}, notFound(CodePolicyNotFound, "this organization has no policy of its own; the global one applies")
		}
		return StoredPolicy{Policy: s.Policies.Fallback}, nil
	}
	return StoredPolicy{Policy: p, Meta: meta, Stored: true}, nil
}

// PutPolicy validates and stores a policy, audited, and applies it in this container at once.
func (s *Service) PutPolicy(ctx context.Context, c Caller, orgID string, p policy.Policy) (StoredPolicy, error) {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return StoredPolicy{}, err
	}
	if err := p.Validate(); err != nil {
		var fe *policy.FieldError
		if errors.As(err, &fe) {
			return StoredPolicy{}, Invalid(CodeInvalidPolicy, fe.Field, fe.Message)
		}
		return StoredPolicy{}, Invalid(CodeInvalidPolicy, "", err.Error())
	}
	if orgID != "" {
		// An organization policy must leave something to enroll once merged with the global
		// one: required mode with no factor type allowed by both would strand its users.
		global, err := s.Policies.Effective(ctx, "")
		if err != nil {
			return StoredPolicy{}, unavailable(err)
		}
		if merged := policy.Merge(global, p); merged.Mode == policy.ModeRequired && len(merged.Factors) == 0 {
			return StoredPolicy{}, Invalid(CodeInvalidPolicy, "factors", "no factor type is allowed by both this and the global policy, so required mode could not be met")
		}
	}
	ev := s.event(c, policyAuditUser, ActionPolicyChanged, "ok")
	ev.Reason = auditScope(orgID)
	meta, err := s.Policies.Store.SavePolicy(ctx, scope, p, c.actor(), s.now(), ev)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	s.Policies.invalidate(scope)
	return StoredPolicy{Policy: p, Meta: meta, Stored: true}, nil
}

// DeletePolicy removes an organization's policy (the global one then applies to it) or the
// stored global policy (the default then applies).
func (s *Service) DeletePolicy(ctx context.Context, c Caller, orgID string) error {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return err
	}
	ev := s.event(c, policyAuditUser, ActionPolicyDeleted, "ok")
	ev.Reason = auditScope(orgID)
	switch err := s.Policies.Store.DeletePolicy(ctx, scope, ev); {
	case errors.Is(err, ErrNotFound):
		return notFound(CodePolicyNotFound, "no policy is stored here")
	case err != nil:
		return unavailable(err)
	}
	s.Policies.invalidate(scope)
	return nil
}
