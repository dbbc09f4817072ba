package infra_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

const (
	problemRef  = "#/components/schemas/Problem"
	problemJSON = "application/problem+json"
)

// httpMethods are the OpenAPI path item fields that are operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type securityRequirements []map[string][]string

type parameter struct {
	Ref      string `yaml:"$ref"`
	Name     string `yaml:"name"`
	In       string `yaml:"in"`
	Required bool   `yaml:"required"`
	Schema   struct {
		Ref     string `yaml:"$ref"`
		Pattern string `yaml:"pattern"`
	} `yaml:"schema"`
}

type operation struct {
	OperationID string                `yaml:"operationId"`
	Summary     string                `yaml:"summary"`
	Description string                `yaml:"description"`
	Security    *securityRequirements `yaml:"security"` // nil: inherits the document's
	Parameters  []parameter           `yaml:"parameters"`
	RequestBody yaml.Node             `yaml:"requestBody"` // zero Kind: none
	Responses   map[string]yaml.Node  `yaml:"responses"`
}

type document struct {
	OpenAPI    string                          `yaml:"openapi"`
	Security   securityRequirements            `yaml:"security"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]yaml.Node `yaml:"securitySchemes"`
	} `yaml:"components"`
}

// spec is the decoded document: typed where the tests read fields, a node tree for refs.
type spec struct {
	doc  document
	root *yaml.Node
	ops  map[string]*specOp // by "METHOD /path"
}

type specOp struct {
	operation
	pathParams []parameter
}

func loadSpec(t *testing.T) *spec {
	t.Helper()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &spec{root: &yaml.Node{}, ops: map[string]*specOp{}}
	if err := yaml.Unmarshal(raw, s.root); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := s.root.Decode(&s.doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	for path, item := range s.doc.Paths {
		var shared []parameter
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for key, n := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			op := &specOp{pathParams: shared}
			if err := n.Decode(&op.operation); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			s.ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return s
}

func loadRoutes(t *testing.T) map[string]samtemplate.Route {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) == 0 {
		t.Fatal("template.yaml has no HttpApi routes")
	}
	byKey := map[string]samtemplate.Route{}
	for _, r := range routes {
		byKey[r.RouteKey()] = r
	}
	return byKey
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookup returns the value of key in a mapping node, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// resolve follows a local JSON pointer ("#/components/…") from the document root.
func (s *spec) resolve(ref string) (*yaml.Node, error) {
	if !strings.HasPrefix(ref, "#/components/") {
		return nil, fmt.Errorf("%q is not a reference into #/components/", ref)
	}
	n := s.root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if n = lookup(n, tok); n == nil {
			return nil, fmt.Errorf("%q does not resolve: no %q", ref, tok)
		}
	}
	return n, nil
}

// deref follows $ref until it reaches an object that is not a reference.
func (s *spec) deref(n *yaml.Node) (*yaml.Node, error) {
	for range 16 {
		ref := lookup(n, "$ref")
		if ref == nil {
			return n, nil
		}
		var err error
		if n, err = s.resolve(ref.Value); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("reference chain too long at line %d", n.Line)
}

// refsIn lists every $ref under n, with the line it is on.
func refsIn(n *yaml.Node) map[string][]int {
	out := map[string][]int{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" && n.Content[i+1].Kind == yaml.ScalarNode {
					out[n.Content[i+1].Value] = append(out[n.Content[i+1].Value], n.Content[i+1].Line)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// schemaUses reports whether a schema is, or is composed from, the schema at target.
func (s *spec) schemaUses(n *yaml.Node, target string, depth int) bool {
	if n == nil || depth > 16 {
		return false
	}
	if ref := lookup(n, "$ref"); ref != nil {
		if ref.Value == target {
			return true
		}
		next, err := s.resolve(ref.Value)
		return err == nil && s.schemaUses(next, target, depth+1)
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if list := lookup(n, kw); list != nil {
			for _, sub := range list.Content {
				if s.schemaUses(sub, target, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

func TestOpenAPIVersion(t *testing.T) {
	s := loadSpec(t)
	if s.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", s.doc.OpenAPI)
	}
	if len(s.doc.Security) == 0 {
		t.Error("the document has no default security requirement")
	}
}

// The documented routes are exactly the template's HttpApi routes.
func TestOpenAPIRoutesMatchTemplate(t *testing.T) {
	routes := loadRoutes(t)
	s := loadSpec(t)
	var missing, extra []string
	for _, k := range sortedKeys(routes) {
		if _, ok := s.ops[k]; !ok {
			missing = append(missing, k)
		}
	}
	for _, k := range sortedKeys(s.ops) {
		if _, ok := routes[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes in template.yaml but not in openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("routes in openapi.yaml but not in template.yaml:\n  %s", strings.Join(extra, "\n  "))
	}
}

func TestOpenAPIOperations(t *testing.T) {
	routes := loadRoutes(t)
	s := loadSpec(t)
	seenIDs := map[string]string{}
	for _, key := range sortedKeys(s.ops) {
		op := s.ops[key]
		route, inTemplate := routes[key]
		t.Run(key, func(t *testing.T) {
			if op.OperationID == "" {
				t.Error("no operationId")
			} else if other, dup := seenIDs[op.OperationID]; dup {
				t.Errorf("operationId %q is also used by %s", op.OperationID, other)
			}
			seenIDs[op.OperationID] = key
			if op.Summary == "" || op.Description == "" {
				t.Error("needs a summary and a description")
			}

			var has2xx, has4xxProblem bool
			for _, status := range sortedKeys(op.Responses) {
				n := op.Responses[status]
				resp, err := s.deref(&n)
				if err != nil {
					t.Errorf("response %s: %v", status, err)
					continue
				}
				if lookup(resp, "description") == nil {
					t.Errorf("response %s has no description", status)
				}
				switch {
				case strings.HasPrefix(status, "2"):
					has2xx = true
				case strings.HasPrefix(status, "4"):
					schema := lookup(lookup(lookup(resp, "content"), problemJSON), "schema")
					if s.schemaUses(schema, problemRef, 0) {
						has4xxProblem = true
					}
				}
				if status == "429" && lookup(lookup(resp, "headers"), "Retry-After") == nil {
					t.Error("response 429 has no Retry-After header")
				}
			}
			if !has2xx {
				t.Error("no 2xx response")
			}
			if inTemplate && !route.NoAuth && !has4xxProblem {
				t.Errorf("authenticated route without a 4xx %s response using %s", problemJSON, problemRef)
			}
		})
	}
}

// Public routes say security: [], every other route requires the bearer token.
func TestOpenAPISecurityMatchesTemplate(t *testing.T) {
	routes := loadRoutes(t)
	s := loadSpec(t)
	for _, key := range sortedKeys(routes) {
		route := routes[key]
		op, ok := s.ops[key]
		if !ok {
			continue // reported by TestOpenAPIRoutesMatchTemplate
		}
		t.Run(key, func(t *testing.T) {
			if route.NoAuth {
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("public route (Authorizer: NONE) must declare security: []")
				}
				return
			}
			effective := s.doc.Security
			if op.Security != nil {
				effective = *op.Security
			}
			if len(effective) == 0 {
				t.Fatal("authenticated route has no security requirement (security: [] is for public routes only)")
			}
			want := slices.Clone(route.Scopes)
			sort.Strings(want)
			for i, req := range effective {
				for name := range req {
					if _, ok := s.doc.Components.SecuritySchemes[name]; !ok {
						t.Errorf("security alternative %d names %q, which is not in components.securitySchemes", i, name)
					}
				}
				scopes, ok := req["bearer"]
				if !ok {
					t.Errorf("security alternative %d does not require bearer: %v", i, req)
					continue
				}
				got := slices.Clone(scopes)
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Errorf("security alternative %d: bearer scopes %v, template AuthorizationScopes %v", i, got, want)
				}
			}
		})
	}
}

// Every {name} in a path is a required path parameter with a pattern, and nothing else is.
func TestOpenAPIPathParameters(t *testing.T) {
	s := loadSpec(t)
	for _, key := range sortedKeys(s.ops) {
		op := s.ops[key]
		path := key[strings.IndexByte(key, ' ')+1:]
		t.Run(key, func(t *testing.T) {
			want := map[string]bool{}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
					want[strings.Trim(seg, "{}")] = true
				}
			}
			got := map[string]bool{}
			for _, p := range append(slices.Clone(op.pathParams), op.Parameters...) {
				if p.Ref != "" {
					n, err := s.resolve(p.Ref)
					if err != nil {
						t.Error(err)
						continue
					}
					if err := n.Decode(&p); err != nil {
						t.Fatal(err)
					}
				}
				if p.In != "path" {
					continue
				}
				got[p.Name] = true
				if !want[p.Name] {
					t.Errorf("path parameter %q is not in the path", p.Name)
				}
				if !p.Required {
					t.Errorf("path parameter %q must be required", p.Name)
				}
				pattern := p.Schema.Pattern
				if p.Schema.Ref != "" {
					n, err := s.deref(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
						{Kind: yaml.ScalarNode, Value: "$ref"}, {Kind: yaml.ScalarNode, Value: p.Schema.Ref},
					}})
					if err != nil {
						t.Error(err)
						continue
					}
					if pn := lookup(n, "pattern"); pn != nil {
						pattern = pn.Value
					}
				}
				if pattern == "" {
					t.Errorf("path parameter %q has no pattern", p.Name)
				}
			}
			for name := range want {
				if !got[name] {
					t.Errorf("path parameter %q is not declared", name)
				}
			}
		})
	}
}

// passThrough are request members that the service does not decode itself but hands on as
// raw JSON: WebAuthn responses, which go-webauthn parses leniently (browsers add members), so
// an unknown member inside one is no 400 unknown_field. Their schemas say so explicitly.
var passThrough = map[string]bool{"credential": true}

// Request bodies are closed objects: unknown members answer 400 unknown_field.
func TestOpenAPIRequestBodiesAreClosed(t *testing.T) {
	s := loadSpec(t)
	for _, key := range sortedKeys(s.ops) {
		op := s.ops[key]
		if op.RequestBody.Kind == 0 {
			continue
		}
		t.Run(key, func(t *testing.T) {
			body, err := s.deref(&op.RequestBody)
			if err != nil {
				t.Fatal(err)
			}
			schema, err := s.deref(lookup(lookup(lookup(body, "content"), "application/json"), "schema"))
			if err != nil || schema == nil {
				t.Fatalf("no application/json schema: %v", err)
			}
			if ap := lookup(schema, "additionalProperties"); ap == nil || ap.Value != "false" {
				t.Error("request body schema needs additionalProperties: false")
			}
			props := lookup(schema, "properties")
			if props == nil {
				t.Fatal("request body schema has no properties")
			}
			for i := 0; i+1 < len(props.Content); i += 2 {
				prop, err := s.deref(props.Content[i+1])
				if err != nil {
					t.Errorf("%s: %v", props.Content[i].Value, err)
					continue
				}
				if ty := lookup(prop, "type"); ty != nil && ty.Value == "object" {
					name, ap := props.Content[i].Value, lookup(prop, "additionalProperties")
					switch {
					case passThrough[name]:
						if ap == nil || ap.Value != "true" {
							t.Errorf("nested object %s is passed through undecoded: it needs additionalProperties: true", name)
						}
					case ap == nil || ap.Value != "false":
						t.Errorf("nested object %s needs additionalProperties: false", name)
					}
				}
			}
		})
	}
}

// Every $ref resolves to an existing component.
func TestOpenAPIRefsResolve(t *testing.T) {
	s := loadSpec(t)
	refs := refsIn(s.root)
	if len(refs) == 0 {
		t.Fatal("no $ref found; the walk is broken")
	}
	for _, ref := range sortedKeys(refs) {
		if _, err := s.resolve(ref); err != nil {
			t.Errorf("line %v: %v", refs[ref], err)
		}
	}
}
