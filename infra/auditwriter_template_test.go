package infra_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The audit writer's role allows exactly what it does: read the table's stream, write items
// whose partition key is an audit partition (never a user's factors or state), and hand failed
// batches to its own queue. It is always deployed: without it answers' events would stay on
// users' state items only.
func TestAuditWriterLeastPrivilege(t *testing.T) {
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
	fn, ok := tpl.Resources["AuditWriterFunction"]
	if !ok || fn.Condition != "" {
		t.Fatalf("AuditWriterFunction missing or conditional: %+v", fn)
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
	want := []string{"dynamodb:BatchWriteItem", "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams", "sqs:SendMessage"}
	if !slices.Equal(actions, want) {
		t.Errorf("actions %v, want exactly %v", actions, want)
	}
	for _, id := range []string{"AuditWriterStream", "AuditWriterFailures", "AuditWriterFunctionLogs", "AuditWriterFailuresAlarm"} {
		if r, ok := tpl.Resources[id]; !ok || r.Condition != "" {
			t.Errorf("%s missing or conditional", id)
		}
	}
}
