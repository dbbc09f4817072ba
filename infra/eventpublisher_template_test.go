package infra_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The event publisher's role allows exactly what it does: read the table's stream, put events
// on the one bus, and hand failed batches to its own queue. Nothing on "*", no table or KMS
// access.
func TestEventPublisherLeastPrivilege(t *testing.T) {
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
	fn, ok := tpl.Resources["EventPublisherFunction"]
	if !ok || fn.Condition != "PublishEvents" {
		t.Fatalf("EventPublisherFunction missing or not conditional on PublishEvents: %+v", fn)
	}
	var props struct {
		Policies []struct {
			Statement []struct {
				Effect   string    `yaml:"Effect"`
				Action   []string  `yaml:"Action"`
				Resource yaml.Node `yaml:"Resource"`
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
			actions = append(actions, st.Action...)
		}
	}
	slices.Sort(actions)
	want := []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams", "events:PutEvents", "sqs:SendMessage"}
	if !slices.Equal(actions, want) {
		t.Errorf("actions %v, want exactly %v", actions, want)
	}
	for _, id := range []string{"EventPublisherStream", "EventPublisherFailures", "EventPublisherFunctionLogs", "EventPublisherFailuresAlarm"} {
		if r, ok := tpl.Resources[id]; !ok || r.Condition != "PublishEvents" {
			t.Errorf("%s missing or not conditional on PublishEvents", id)
		}
	}
	if r, ok := tpl.Resources["MfaEventBus"]; !ok || r.Type != "AWS::Events::EventBus" || r.Condition != "DedicatedEventBus" {
		t.Errorf("MfaEventBus: %+v", r)
	}
}
