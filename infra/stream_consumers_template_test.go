package infra_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The table's two stream consumers have roles that allow exactly what they do: read the
// stream, hand failed batches to their own queue, and — the event publisher — put events on
// the one bus, or — the audit writer — write items whose partition key is an audit partition
// (never a user's factors or state). Nothing on "*", no KMS. The publisher exists only when
// events are published; the audit writer always (without it answers' events would stay on
// users' state items only).
func TestStreamConsumersLeastPrivilege(t *testing.T) {
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Condition  string    `yaml:"Condition"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	streamRead := []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams", "sqs:SendMessage"}
	tests := []struct {
		function, condition string
		own                 []string // actions beside reading the stream and the failure queue
		resources           []string // its other resources, under the same condition
	}{
		{"EventPublisherFunction", "PublishEvents", []string{"events:PutEvents"}, []string{"EventPublisherStream", "EventPublisherFailures", "EventPublisherFunctionLogs", "EventPublisherFailuresAlarm"}},
		{"AuditWriterFunction", "", []string{"dynamodb:BatchWriteItem"}, []string{"AuditWriterStream", "AuditWriterFailures", "AuditWriterFunctionLogs", "AuditWriterFailuresAlarm"}},
	}
	for _, tc := range tests {
		t.Run(tc.function, func(t *testing.T) {
			fn, ok := tpl.Resources[tc.function]
			if !ok || fn.Condition != tc.condition {
				t.Fatalf("%s missing or not conditional on %q: %+v", tc.function, tc.condition, fn)
			}
			var props struct {
				Policies []struct {
					Statement []struct {
						Effect    string                          `yaml:"Effect"`
						Action    []string                        `yaml:"Action"`
						Resource  yaml.Node                       `yaml:"Resource"`
						Condition map[string]map[string]yaml.Node `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"Policies"`
			}
			if err := fn.Properties.Decode(&props); err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, p := range props.Policies {
				for _, st := range p.Statement {
					if st.Effect != "Allow" {
						t.Errorf("statement %v: effect %s", st.Action, st.Effect)
					}
					if st.Resource.Kind == yaml.ScalarNode && strings.Contains(st.Resource.Value, "*") && !strings.HasSuffix(st.Resource.Value, "/stream/*") {
						t.Errorf("%v on %q", st.Action, st.Resource.Value)
					}
					if slices.Contains(st.Action, "dynamodb:BatchWriteItem") {
						var keys []string
						node := st.Condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
						if err := node.Decode(&keys); err != nil || !slices.Equal(keys, []string{"AUDIT#*"}) {
							t.Errorf("BatchWriteItem is not limited to audit partitions: %v (%v)", keys, err)
						}
					}
					actions = append(actions, st.Action...)
				}
			}
			slices.Sort(actions)
			want := slices.Sorted(slices.Values(append(slices.Clone(streamRead), tc.own...)))
			if !slices.Equal(actions, want) {
				t.Errorf("actions %v, want exactly %v", actions, want)
			}
			for _, id := range tc.resources {
				if r, ok := tpl.Resources[id]; !ok || r.Condition != tc.condition {
					t.Errorf("%s missing or not conditional on %q", id, tc.condition)
				}
			}
		})
	}
	if r, ok := tpl.Resources["MfaEventBus"]; !ok || r.Type != "AWS::Events::EventBus" || r.Condition != "DedicatedEventBus" {
		t.Errorf("MfaEventBus: %+v", r)
	}
}
