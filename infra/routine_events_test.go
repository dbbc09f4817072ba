package infra_test

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// The routine events of every sign-in (Challenge Opened, Verification Succeeded, Code Sent)
// are published only when RoutineSecurityEvents is on: the publisher's main stream mapping
// leaves them out, and the routine mapping, which exists only then, passes them and nothing
// else. Every other audit event passes the main mapping.
func TestRoutineSecurityEventsAreOptIn(t *testing.T) {
	tpl, err := samtemplate.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	matcher := func(id string) func(action string) bool {
		esm, err := tpl.EventSourceMapping(id)
		if err != nil {
			t.Fatal(err)
		}
		var ps []*localaws.Pattern
		for _, src := range esm.Patterns() {
			p, err := localaws.ParsePattern(src)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		return func(action string) bool {
			doc := map[string]any{"eventName": "INSERT", "dynamodb": map[string]any{
				"Keys":     map[string]any{"pk": map[string]any{"S": "AUDIT#u"}, "sk": map[string]any{"S": "EVENT#1#a"}},
				"NewImage": map[string]any{"pk": map[string]any{"S": "AUDIT#u"}, "action": map[string]any{"S": action}},
			}}
			for _, p := range ps {
				if p.Match(doc) {
					return true
				}
			}
			return false
		}
	}
	main, routine := matcher("EventPublisherStream"), matcher("EventPublisherRoutineStream")
	for _, a := range []string{"challenge.opened", "verification.succeeded", "code.sent"} {
		if main(a) || !routine(a) {
			t.Errorf("%s: main mapping %v, routine mapping %v; want only the routine one", a, main(a), routine(a))
		}
	}
	for _, a := range []string{"verification.failed", "verification.refused", "code.refused", "factor.activated", "factor.removed", "user.unlocked", "factors.reset", "device.trusted", "policy.changed", "enrollment.started", "backup_codes.generated"} {
		if !main(a) || routine(a) {
			t.Errorf("%s: main mapping %v, routine mapping %v; want only the main one", a, main(a), routine(a))
		}
	}
	var raw struct {
		Resources map[string]struct {
			Condition string `yaml:"Condition"`
		} `yaml:"Resources"`
		Parameters map[string]struct {
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
	}
	if err := loadYAML("../template.yaml", &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Resources["EventPublisherRoutineStream"].Condition != "PublishRoutineEvents" || raw.Parameters["RoutineSecurityEvents"].Default != "off" {
		t.Errorf("the routine mapping must exist only when RoutineSecurityEvents is on (default off): %+v %+v", raw.Resources["EventPublisherRoutineStream"], raw.Parameters["RoutineSecurityEvents"])
	}
}

func loadYAML(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(raw, v)
}
