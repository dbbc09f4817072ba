package infra_test

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
	"github.com/mfa-service/mfa/pkg/securityevents"
)

// The routine events of every sign-in (Challenge Opened, Verification Succeeded, Code Sent)
// are published only when RoutineSecurityEvents is on: the publisher's main stream mapping
// leaves them out, and the routine mapping, which exists only then, passes them and nothing
// else. Every other audit event passes the main mapping, and when it rides on a write of the
// user's state, it is published from that write (not from the audit writer's copy); the
// publisher's own list of routine actions is the template's.
func TestRoutineSecurityEventsAreOptIn(t *testing.T) {
	tpl, err := samtemplate.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	matcher := func(id string) func(action string) bool { return mappingMatcher(t, tpl, id, auditInsert) }
	carrier := func(id string) func(action string) bool { return mappingMatcher(t, tpl, id, stateCarrying) }
	main, routine := matcher("EventPublisherStream"), matcher("EventPublisherRoutineStream")
	mainState, routineState := carrier("EventPublisherStream"), carrier("EventPublisherRoutineStream")
	for _, a := range []string{"challenge.opened", "verification.succeeded", "code.sent"} {
		if main(a) || !routine(a) {
			t.Errorf("%s: main mapping %v, routine mapping %v; want only the routine one", a, main(a), routine(a))
		}
		// Published from the audit writer's copy, by the routine mapping only.
		if mainState(a) || routineState(a) {
			t.Errorf("a state write carrying %s: main mapping %v, routine mapping %v; want neither", a, mainState(a), routineState(a))
		}
		if !securityevents.Routine(a) {
			t.Errorf("%s: the publisher does not take it for a routine event", a)
		}
	}
	for _, a := range []string{"verification.failed", "verification.refused", "code.refused", "factor.activated", "factor.removed", "user.unlocked", "factors.reset", "device.trusted", "policy.changed", "enrollment.started", "backup_codes.generated"} {
		if !main(a) || routine(a) {
			t.Errorf("%s: main mapping %v, routine mapping %v; want only the main one", a, main(a), routine(a))
		}
		// Published from the state write that carried it, at once, not from the copy.
		if !mainState(a) || routineState(a) {
			t.Errorf("a state write carrying %s: main mapping %v, routine mapping %v; want only the main one", a, mainState(a), routineState(a))
		}
		if securityevents.Routine(a) {
			t.Errorf("%s: the publisher takes it for a routine event", a)
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

// auditInsert is the stream record of a new audit item; stateCarrying that of a write of the
// user's state carrying one.
func auditInsert(action string) map[string]any {
	return map[string]any{"eventName": "INSERT", "dynamodb": map[string]any{
		"Keys":     map[string]any{"pk": map[string]any{"S": "AUDIT#u"}, "sk": map[string]any{"S": "EVENT#1#a"}},
		"NewImage": map[string]any{"pk": map[string]any{"S": "AUDIT#u"}, "action": map[string]any{"S": action}},
	}}
}

func stateCarrying(action string) map[string]any {
	return map[string]any{"eventName": "MODIFY", "dynamodb": map[string]any{
		"Keys": map[string]any{"pk": map[string]any{"S": "USER#u"}, "sk": map[string]any{"S": "U#STATE"}},
		"NewImage": map[string]any{"pk": map[string]any{"S": "USER#u"}, "sk": map[string]any{"S": "U#STATE"}, "failures": map[string]any{"N": "0"},
			"ev": map[string]any{"M": map[string]any{"pk": map[string]any{"S": "AUDIT#u"}, "sk": map[string]any{"S": "EVENT#1#a"}, "action": map[string]any{"S": action}}}},
	}}
}

// mappingMatcher reports whether a stream mapping of the template passes the record doc
// makes of an action.
func mappingMatcher(t *testing.T, tpl *samtemplate.Template, id string, doc func(action string) map[string]any) func(action string) bool {
	t.Helper()
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
		d := doc(action)
		for _, p := range ps {
			if p.Match(d) {
				return true
			}
		}
		return false
	}
}

func loadYAML(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(raw, v)
}
