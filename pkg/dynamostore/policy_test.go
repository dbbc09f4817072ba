package dynamostore_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
)

// putWholePolicy writes an item as the earlier whole-policy PUT stored it: the whole policy
// as JSON, no format attribute.
func (s *suite) putWholePolicy(t *testing.T, scope string, p policy.Policy, version int) {
	t.Helper()
	doc, _ := json.Marshal(p)
	_, err := s.db.PutItem(context.Background(), &dynamoclient.PutItemInput{TableName: &s.table, Item: map[string]dynamoclient.AttributeValue{
		"pk": &dynamoclient.AttributeValueMemberS{Value: "POLICY"}, "sk": &dynamoclient.AttributeValueMemberS{Value: scope},
		"doc": &dynamoclient.AttributeValueMemberS{Value: string(doc)}, "version": &dynamoclient.AttributeValueMemberN{Value: strconv.Itoa(version)},
		"updatedAt": &dynamoclient.AttributeValueMemberN{Value: "1700000000000"}, "updatedBy": &dynamoclient.AttributeValueMemberS{Value: "admin:old"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPolicyOverlayStoredExactly(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	var o policy.Overlay
	if err := json.Unmarshal([]byte(`{"mode":"required","gracePeriodDays":7,"sms":{"allowedCountries":[]}}`), &o); err != nil {
		t.Fatal(err)
	}
	meta, err := s.store.SavePolicy(ctx, "org:acme", o, "admin:a", s.now, s.event("#policy", mfa.ActionPolicyChanged))
	if err != nil || meta.Version != 1 || meta.UpdatedBy != "admin:a" {
		t.Fatalf("save: %+v %v", meta, err)
	}
	r, found, err := s.store.LoadPolicy(ctx, "org:acme")
	if err != nil || !found || r.Whole != nil || !reflect.DeepEqual(r.Overlay, o) || r.Meta != meta {
		t.Fatalf("load: %+v %v %v", r, found, err)
	}
	if _, found, err := s.store.LoadPolicy(ctx, "org:other"); found || err != nil {
		t.Fatalf("missing policy: %v %v", found, err)
	}
	// A migration only replaces a whole policy: an overlay is left alone.
	if _, err := s.store.MigratePolicy(ctx, "org:acme", policy.Overlay{}, 1, "system", s.now, s.event("#policy", mfa.ActionPolicyChanged)); !errors.Is(err, mfa.ErrConflict) {
		t.Fatalf("migrating an overlay: %v", err)
	}
	if r2, _, _ := s.store.LoadPolicy(ctx, "org:acme"); !reflect.DeepEqual(r2.Overlay, o) {
		t.Fatalf("overlay changed by a refused migration: %+v", r2.Overlay)
	}
}

func TestWholePolicyLoadsAndMigratesOnce(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	whole := policy.Default()
	whole.Mode, whole.GracePeriodDays = policy.ModeRequired, 7
	s.putWholePolicy(t, "org:legacy", whole, 3)
	s.putWholePolicy(t, "global", policy.Default(), 3)

	r, found, err := s.store.LoadPolicy(ctx, "org:legacy")
	if err != nil || !found || r.Whole == nil || !reflect.DeepEqual(*r.Whole, whole) || r.Meta.Version != 3 {
		t.Fatalf("legacy item: %+v %v %v", r, found, err)
	}
	all, err := s.store.ListPolicies(ctx)
	if err != nil || len(all) != 2 || all["global"].Whole == nil || all["org:legacy"].Whole == nil {
		t.Fatalf("list: %+v %v", all, err)
	}

	o := policy.Full(whole)
	before := s.auditCount(t, "#policy")
	if _, err := s.store.MigratePolicy(ctx, "org:legacy", o, 2, "system", s.now, s.event("#policy", mfa.ActionPolicyChanged)); !errors.Is(err, mfa.ErrConflict) {
		t.Fatalf("migration from a stale version: %v", err)
	}
	meta, err := s.store.MigratePolicy(ctx, "org:legacy", o, 3, "system", s.now, s.event("#policy", mfa.ActionPolicyChanged))
	if err != nil || meta.Version != 4 {
		t.Fatalf("migrate: %+v %v", meta, err)
	}
	if _, err := s.store.MigratePolicy(ctx, "org:legacy", o, 4, "system", s.now, s.event("#policy", mfa.ActionPolicyChanged)); !errors.Is(err, mfa.ErrConflict) {
		t.Fatalf("second migration: %v", err)
	}
	r, _, _ = s.store.LoadPolicy(ctx, "org:legacy")
	if r.Whole != nil || !reflect.DeepEqual(r.Overlay, o) {
		t.Fatalf("after migration: %+v", r)
	}
	if got := s.auditCount(t, "#policy") - before; got != 1 {
		t.Fatalf("%d audit events for one migration", got)
	}
}
