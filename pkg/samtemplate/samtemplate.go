// Package samtemplate reads the parts of template.yaml that the local stack and the test
// harness derive from it — the HttpApi routes and the DynamoDB table — so that neither can
// drift from what is deployed. The template uses long-form intrinsics only, so it is plain YAML.
package samtemplate

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Template is the decoded subset of a SAM template.
type Template struct {
	Globals struct {
		Function struct {
			Timeout     int `yaml:"Timeout"` // seconds
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
			// LoggingConfig says what Lambda sends to CloudWatch Logs (the cost model reads it).
			LoggingConfig struct {
				LogFormat      string `yaml:"LogFormat"`
				SystemLogLevel string `yaml:"SystemLogLevel"`
			} `yaml:"LoggingConfig"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]Resource `yaml:"Resources"`
}

// Resource is one entry of Resources; Properties stay raw and are decoded per type.
type Resource struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
	Metadata   struct {
		BuildMethod string `yaml:"BuildMethod"`
	} `yaml:"Metadata"`
}

// Route is one HttpApi event of a function.
type Route struct {
	FunctionID string        // logical id of the AWS::Serverless::Function
	EventID    string        // logical id of the event inside the function
	Method     string        // upper case, e.g. POST
	Path       string        // e.g. /v1/users/{userId}/factors
	Scopes     []string      // AuthorizationScopes; the token needs at least one of them
	NoAuth     bool          // Auth.Authorizer: NONE
	Timeout    time.Duration // the function's Timeout (its own, else Globals'); 0 when unset
}

// RouteKey is the API Gateway v2 route key ("POST /v1/…") that handlers dispatch on.
func (r Route) RouteKey() string { return r.Method + " " + r.Path }

// Table is the key schema of an AWS::DynamoDB::Table.
type Table struct {
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema []struct {
		AttributeName string `yaml:"AttributeName"`
		KeyType       string `yaml:"KeyType"`
	} `yaml:"KeySchema"`
	BillingMode             string `yaml:"BillingMode"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
	StreamSpecification struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
	GlobalSecondaryIndexes []Index `yaml:"GlobalSecondaryIndexes"`
}

// Index is one global secondary index of a table.
type Index struct {
	IndexName string `yaml:"IndexName"`
	KeySchema []struct {
		AttributeName string `yaml:"AttributeName"`
		KeyType       string `yaml:"KeyType"`
	} `yaml:"KeySchema"`
	Projection struct {
		ProjectionType   string   `yaml:"ProjectionType"`
		NonKeyAttributes []string `yaml:"NonKeyAttributes"`
	} `yaml:"Projection"`
}

// Load reads and decodes a template file.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Template
	if err := yaml.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	return &t, nil
}

// Find walks up from dir to the directory holding template.yaml and returns the file's path.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "template.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("samtemplate: no template.yaml above the working directory")
		}
		dir = parent
	}
}

// LoadNearest finds and loads the template above the working directory.
func LoadNearest() (*Template, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	p, err := Find(wd)
	if err != nil {
		return nil, err
	}
	return Load(p)
}

type httpAPIEvent struct {
	Type       string `yaml:"Type"`
	Properties struct {
		Method string `yaml:"Method"`
		Path   string `yaml:"Path"`
		Auth   struct {
			Authorizer          string   `yaml:"Authorizer"`
			AuthorizationScopes []string `yaml:"AuthorizationScopes"`
		} `yaml:"Auth"`
	} `yaml:"Properties"`
}

// Routes lists every HttpApi event of every function, sorted by path then method.
func (t *Template) Routes() ([]Route, error) {
	var routes []Route
	for id, res := range t.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		var props struct {
			Timeout int                     `yaml:"Timeout"`
			Events  map[string]httpAPIEvent `yaml:"Events"`
		}
		if err := res.Properties.Decode(&props); err != nil {
			return nil, fmt.Errorf("samtemplate: %s: %w", id, err)
		}
		for eventID, ev := range props.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			if ev.Properties.Method == "" || !strings.HasPrefix(ev.Properties.Path, "/") {
				return nil, fmt.Errorf("samtemplate: %s.%s: HttpApi event needs Method and Path", id, eventID)
			}
			routes = append(routes, Route{
				FunctionID: id,
				EventID:    eventID,
				Method:     strings.ToUpper(ev.Properties.Method),
				Path:       ev.Properties.Path,
				Scopes:     ev.Properties.Auth.AuthorizationScopes,
				NoAuth:     ev.Properties.Auth.Authorizer == "NONE",
				Timeout:    time.Duration(cmp.Or(props.Timeout, t.Globals.Function.Timeout)) * time.Second,
			})
		}
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return routes, nil
}

// Functions lists the logical ids of every AWS::Serverless::Function, sorted.
func (t *Template) Functions() []string {
	var ids []string
	for id, res := range t.Resources {
		if res.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Table decodes the AWS::DynamoDB::Table with the given logical id.
func (t *Template) Table(logicalID string) (*Table, error) {
	res, ok := t.Resources[logicalID]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		return nil, fmt.Errorf("samtemplate: no AWS::DynamoDB::Table %q", logicalID)
	}
	var tbl Table
	if err := res.Properties.Decode(&tbl); err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", logicalID, err)
	}
	if len(tbl.KeySchema) == 0 {
		return nil, fmt.Errorf("samtemplate: %s has no KeySchema", logicalID)
	}
	return &tbl, nil
}

// EventSourceMapping is the part of an AWS::Lambda::EventSourceMapping that says which records
// reach the function and how failures are retried.
type EventSourceMapping struct {
	FunctionName struct {
		Ref string `yaml:"Ref"`
	} `yaml:"FunctionName"`
	StartingPosition               string   `yaml:"StartingPosition"`
	BatchSize                      int      `yaml:"BatchSize"`
	MaximumRetryAttempts           int      `yaml:"MaximumRetryAttempts"`
	MaximumBatchingWindowInSeconds int      `yaml:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string `yaml:"FunctionResponseTypes"`
	FilterCriteria                 struct {
		Filters []struct {
			Pattern string `yaml:"Pattern"`
		} `yaml:"Filters"`
	} `yaml:"FilterCriteria"`
}

// Patterns returns the filter patterns (EventBridge pattern syntax, as JSON).
func (m EventSourceMapping) Patterns() []string {
	var out []string
	for _, f := range m.FilterCriteria.Filters {
		out = append(out, f.Pattern)
	}
	return out
}

// ReportsBatchItemFailures says whether the function answers with BatchItemFailures.
func (m EventSourceMapping) ReportsBatchItemFailures() bool {
	for _, t := range m.FunctionResponseTypes {
		if t == "ReportBatchItemFailures" {
			return true
		}
	}
	return false
}

// EventSourceMapping decodes the AWS::Lambda::EventSourceMapping with the given logical id.
func (t *Template) EventSourceMapping(logicalID string) (*EventSourceMapping, error) {
	res, ok := t.Resources[logicalID]
	if !ok || res.Type != "AWS::Lambda::EventSourceMapping" {
		return nil, fmt.Errorf("samtemplate: no AWS::Lambda::EventSourceMapping %q", logicalID)
	}
	var m EventSourceMapping
	if err := res.Properties.Decode(&m); err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", logicalID, err)
	}
	if m.BatchSize <= 0 {
		return nil, fmt.Errorf("samtemplate: %s has no BatchSize", logicalID)
	}
	return &m, nil
}
