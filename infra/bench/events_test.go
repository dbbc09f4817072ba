package main

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// The cost model takes the stack's own settings: Lambda's platform log lines as the template's
// LoggingConfig leaves them, and the audit events the publisher's stream filter lets through.
func TestCostModelReadsTheTemplate(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a := assumptionsFor(tpl)
	if a.SystemLogLevel != "WARN" || a.PlatformLogBytes != 0 {
		t.Errorf("system log level %q, %v platform bytes per invocation: want WARN and none", a.SystemLogLevel, a.PlatformLogBytes)
	}
	f, err := newStreamFilter(tpl)
	if err != nil {
		t.Fatal(err)
	}
	audit := func(action string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "AUDIT#alice"}, "sk": &types.AttributeValueMemberS{Value: "EVENT#0000000000001#abc"},
			"action": &types.AttributeValueMemberS{Value: action}, "at": &types.AttributeValueMemberN{Value: "1"},
		}
	}
	if !f.passes(audit("verification.failed")) || !f.passes(audit("user.unlocked")) {
		t.Error("security events do not reach the publisher")
	}
	state := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "USER#alice"}, "sk": &types.AttributeValueMemberS{Value: "U#STATE"}}
	if f.passes(state) {
		t.Error("a new state item without failures reaches the publisher")
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{Item: state}}, {Put: &types.Put{Item: audit("x")}}}}
	if got := auditItems(in); len(got) != 1 {
		t.Errorf("audit items of a transaction: %d, want 1", len(got))
	}
}
