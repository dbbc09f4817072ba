package mfa

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
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

	mu       sync.Mutex
	entries  map[string]cachedPolicy
	migrated atomic.Bool // no policy stored by the earlier whole-policy PUT is left
}

type cachedPolicy struct {
	r     policy.Record
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

func auditScopeOf(scope string) string {
	if orgID, ok := strings.CutPrefix(scope, "org:"); ok {
		return auditScope(orgID)
	}
	return globalScope
}

func (c *Policies) load(ctx context.Context, scope string, fresh bool) (policy.Record, bool, error) {
	now := c.Now()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	c.mu.Lock()
	e, ok := c.entries[scope]
	c.mu.Unlock()
	if ok && !fresh && now.Sub(e.at) < ttl {
		return e.r, e.found, nil
	}
	r, found, err := c.Store.LoadPolicy(ctx, scope)
	if err != nil {
		return policy.Record{}, false, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedPolicy{}
	}
	c.entries[scope] = cachedPolicy{r: r, found: found, at: now}
	c.mu.Unlock()
	return r, found, nil
}

func (c *Policies) invalidate(scopes ...string) {
	c.mu.Lock()
	for _, scope := range scopes {
		delete(c.entries, scope)
	}
	c.mu.Unlock()
}

// globalOverlay is what a stored global record lays on the default: its overlay, or every
// field of a whole policy the earlier PUT stored.
func globalOverlay(r policy.Record, found bool) policy.Overlay {
	switch {
	case !found:
		return policy.Overlay{}
	case r.Whole != nil:
		return policy.FromWholeGlobalPolicy(*r.Whole)
	}
	return r.Overlay
}

// orgOverlay is what a stored organization record lays on the global policy in force: its
// overlay, or what a whole policy the earlier PUT stored meant against that global policy.
func orgOverlay(global policy.Resolved, r policy.Record) policy.Overlay {
	if r.Whole != nil {
		return policy.FromWholeOrgPolicy(global, *r.Whole)
	}
	return r.Overlay
}

// Resolve is the policy in force for an organization ("" for none) with each field's source:
// the global overlay on the default, and the organization's overlay merged on that.
func (c *Policies) Resolve(ctx context.Context, orgID string) (policy.Resolved, error) {
	return c.resolve(ctx, orgID, false)
}

func (c *Policies) resolve(ctx context.Context, orgID string, fresh bool) (policy.Resolved, error) {
	r, found, err := c.load(ctx, globalScope, fresh)
	if err != nil {
		return policy.Resolved{}, err
	}
	global := policy.ResolveGlobal(c.Fallback, globalOverlay(r, found))
	if orgID == "" {
		return global, nil
	}
	r, found, err = c.load(ctx, orgScope(orgID), fresh)
	if err != nil {
		return policy.Resolved{}, err
	}
	if !found {
		return global, nil
	}
	return policy.Merge(global, orgOverlay(global, r)), nil
}

// Effective is the policy in force for an organization ("" for none).
func (c *Policies) Effective(ctx context.Context, orgID string) (policy.Policy, error) {
	r, err := c.Resolve(ctx, orgID)
	return r.Policy, err
}

// StoredPolicy is a policy as the admin routes show it: the overlay as stored, and the
// effective policy it makes with each field's source.
type StoredPolicy struct {
	Overlay   policy.Overlay
	Meta      policy.Meta
	Stored    bool // false: nothing stored for the scope
	Effective policy.Resolved
}

func (s *PolicyAdmin) policyScope(c Caller, orgID string) (string, error) {
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

// GetPolicy returns the stored global ("" org) or organization overlay and the effective
// policy. With none stored, the global answer is the default in force and an organization
// answers 404.
func (s *PolicyAdmin) GetPolicy(ctx context.Context, c Caller, orgID string) (StoredPolicy, error) {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return StoredPolicy{}, err
	}
	if err := s.migratePolicies(ctx, c); err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	r, found, err := s.Policies.load(ctx, scope, true)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	if !found && orgID != "" {
		return StoredPolicy{}, notFound(CodePolicyNotFound, "this organization has no policy of its own; the global one applies")
	}
	eff, err := s.Policies.resolve(ctx, orgID, true)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	return StoredPolicy{Overlay: r.Overlay, Meta: r.Meta, Stored: found, Effective: eff}, nil
}

// PutPolicy validates and stores an overlay — exactly the fields sent — audited, and applies
// it in this container at once. The global overlay lies on the deployment's default policy,
// an organization's on the global policy in force; what an overlay leaves out keeps
// following the layer below it.
func (s *PolicyAdmin) PutPolicy(ctx context.Context, c Caller, orgID string, o policy.Overlay) (StoredPolicy, error) {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return StoredPolicy{}, err
	}
	o = o.Normalize()
	if err := o.Validate(); err != nil {
		var fe *policy.FieldError
		if errors.As(err, &fe) {
			return StoredPolicy{}, Invalid(CodeInvalidPolicy, fe.Field, fe.Message)
		}
		return StoredPolicy{}, Invalid(CodeInvalidPolicy, "", err.Error())
	}
	// Policies the earlier whole-policy PUT stored are migrated against the global policy
	// they were written under, before it changes.
	if err := s.migratePolicies(ctx, c); err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	if err := s.checkSatisfiable(ctx, orgID, &o); err != nil {
		return StoredPolicy{}, err
	}
	ev := s.event(c, policyAuditUser, ActionPolicyChanged, "ok")
	ev.Reason = auditScope(orgID)
	meta, err := s.Policies.Store.SavePolicy(ctx, scope, o, c.actor(), s.now(), ev)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	s.Policies.invalidate(scope)
	eff, err := s.Policies.resolve(ctx, orgID, true)
	if err != nil {
		return StoredPolicy{}, unavailable(err)
	}
	return StoredPolicy{Overlay: o, Meta: meta, Stored: true, Effective: eff}, nil
}

// checkSatisfiable refuses a change after which an effective policy would be required with
// no factor type its users may enroll: for an organization overlay (o), its own; for the
// global overlay (o, or nil for its deletion), every organization's, which follow it.
func (s *PolicyAdmin) checkSatisfiable(ctx context.Context, orgID string, o *policy.Overlay) error {
	if orgID != "" {
		global, err := s.Policies.resolve(ctx, "", true)
		if err != nil {
			return unavailable(err)
		}
		if !policy.Merge(global, *o).Satisfiable() {
			return Invalid(CodeInvalidPolicy, "factors", "no factor type is allowed by both this and the global policy, so required mode could not be met")
		}
		return nil
	}
	var next policy.Overlay
	if o != nil {
		next = *o
	}
	global := policy.ResolveGlobal(s.Policies.Fallback, next)
	if !global.Satisfiable() {
		return Invalid(CodeInvalidPolicy, "factors", "required mode needs at least one allowed factor type")
	}
	records, err := s.Policies.Store.ListPolicies(ctx)
	if err != nil {
		return unavailable(err)
	}
	for scope, r := range records {
		id, isOrg := strings.CutPrefix(scope, "org:")
		if !isOrg {
			continue
		}
		if !policy.Merge(global, orgOverlay(global, r)).Satisfiable() {
			return Invalid(CodeInvalidPolicy, "factors", "organization "+id+" would then be required with no factor type both its policy and the global one allow; change its policy first")
		}
	}
	return nil
}

// DeletePolicy removes an organization's policy (the global one then applies to it) or the
// stored global policy (the default then applies).
func (s *PolicyAdmin) DeletePolicy(ctx context.Context, c Caller, orgID string) error {
	scope, err := s.policyScope(c, orgID)
	if err != nil {
		return err
	}
	if err := s.migratePolicies(ctx, c); err != nil {
		return unavailable(err)
	}
	if orgID == "" {
		if err := s.checkSatisfiable(ctx, "", nil); err != nil {
			return err
		}
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

// Migration of policies stored by the earlier whole-policy PUT. Until an item is migrated,
// reads convert it on the fly against the global policy in force (orgOverlay), which means
// exactly what it meant before; the admin routes store the conversion (audited, outcome
// "migrated") before they show or change any policy, so a change of the global policy never
// reinterprets an old organization policy.
const policyMigrationActor = "system:policy-migration"

func (s *PolicyAdmin) migratePolicies(ctx context.Context, c Caller) error {
	if s.Policies.migrated.Load() {
		return nil
	}
	records, err := s.Policies.Store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	gr, gFound := records[globalScope]
	global := policy.ResolveGlobal(s.Policies.Fallback, globalOverlay(gr, gFound))
	var scopes []string
	for scope, r := range records {
		if r.Whole == nil {
			continue
		}
		o := policy.FromWholeGlobalPolicy(*r.Whole)
		if scope != globalScope {
			o = policy.FromWholeOrgPolicy(global, *r.Whole)
		}
		ev := s.event(c, policyAuditUser, ActionPolicyChanged, "migrated")
		ev.Actor, ev.Reason = policyMigrationActor, auditScopeOf(scope)
		_, err := s.Policies.Store.MigratePolicy(ctx, scope, o, r.Meta.Version, policyMigrationActor, s.now(), ev)
		if err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		scopes = append(scopes, scope)
	}
	s.Policies.invalidate(scopes...)
	s.Policies.migrated.Store(true)
	return nil
}
