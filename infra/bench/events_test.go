package main

import (
	"path/filepath"
	"testing"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// The cost model takes the stack's own settings: Lambda's platform log lines as the template's
// LoggingConfig leaves them, the stream mappings' batching windows, and the audit events the
// publisher's stream filter lets through.
func TestCostModelReadsTheTemplate(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := assumptionsFor(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if a.SystemLogLevel != "WARN" || a.PlatformLogBytes != 0 {
		t.Errorf("system log level %q, %v platform bytes per invocation: want WARN and none", a.SystemLogLevel, a.PlatformLogBytes)
	}
	if a.WriterWindowS != 10 || a.PublisherWindowS != 1 {
		t.Errorf("batching windows: audit writer %v s, publisher %v s; want the template's 10 and 1", a.WriterWindowS, a.PublisherWindowS)
	}
	f, err := newStreamFilter(tpl)
	if err != nil {
		t.Fatal(err)
	}
	audit := func(action string) map[string]dynamoclient.AttributeValue {
		return map[string]dynamoclient.AttributeValue{
			"pk": &dynamoclient.AttributeValueMemberS{Value: "AUDIT#alice"}, "sk": &dynamoclient.AttributeValueMemberS{Value: "EVENT#0000000000001#abc"},
			"action": &dynamoclient.AttributeValueMemberS{Value: action}, "at": &dynamoclient.AttributeValueMemberN{Value: "1"},
		}
	}
	if !f.passes(audit("verification.failed")) || !f.passes(audit("user.unlocked")) {
		t.Error("security events do not reach the publisher")
	}
	// An event riding on a state write reaches it in that write, but a routine one.
	if !f.passesCarried(audit("verification.failed")) || f.passesCarried(audit("verification.succeeded")) {
		t.Error("a state write carrying a failure's event must reach the publisher, one carrying a success's not")
	}
	state := map[string]dynamoclient.AttributeValue{"pk": &dynamoclient.AttributeValueMemberS{Value: "USER#alice"}, "sk": &dynamoclient.AttributeValueMemberS{Value: "U#STATE"}}
	if f.passes(state) {
		t.Error("a new state item without failures reaches the publisher")
	}
	in := &dynamoclient.TransactWriteItemsInput{TransactItems: []dynamoclient.TransactWriteItem{{Put: &dynamoclient.Put{Item: state}}, {Put: &dynamoclient.Put{Item: audit("x")}}}}
	if got := auditItems(in); len(got) != 1 {
		t.Errorf("audit items of a transaction: %d, want 1", len(got))
	}
}

// Index writes: moving a user in the activity index is two writes (delete, put), a changed
// projected attribute one, an unchanged entry none, and a new entry one.
func TestIndexWRU(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := tpl.Table("MfaTable")
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) dynamoclient.AttributeValue { return &dynamoclient.AttributeValueMemberS{Value: v} }
	n := func(v string) dynamoclient.AttributeValue { return &dynamoclient.AttributeValueMemberN{Value: v} }
	state := func(dirSk, failures, lastVerified string) map[string]dynamoclient.AttributeValue {
		return map[string]dynamoclient.AttributeValue{"pk": s("USER#a"), "sk": s("U#STATE"), "dirPk": s("USERS"), "dirSk": s(dirSk), "dirUser": s("a"), "failures": n(failures), "lastVerifiedAt": n(lastVerified)}
	}
	for _, tc := range []struct {
		name          string
		before, after map[string]dynamoclient.AttributeValue
		want          float64
	}{
		{"activity moves", state("1#a", "0", "1"), state("2#a", "0", "2"), 2},
		{"a failure counted, activity moves", state("1#a", "0", "1"), state("2#a", "1", "1"), 3},
		{"nothing the indexes hold changes", state("1#a", "0", "1"), state("1#a", "0", "2"), 0},
		{"a failure counted in place", state("1#a", "0", "1"), state("1#a", "1", "1"), 2},
		{"first state", nil, state("1#a", "0", "1"), 2},
	} {
		if got := indexWRU(spec.GlobalSecondaryIndexes, tc.before, tc.after); got != tc.want {
			t.Errorf("%s: %v index WRU, want %v", tc.name, got, tc.want)
		}
	}
}
