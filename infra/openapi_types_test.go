package infra_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/api/apitest"
)

// problemSchema is the body of every error the service writes (pkg/httpapi, pkg/webui).
const problemSchema = "#/components/schemas/Problem"

// TestOpenAPIMatchesWireTypes holds openapi.yaml to the Go wire types (pkg/api, used by the
// server and the Go client alike): each route's request body and JSON answers are the types
// apitest.Routes names, member by member in both directions, and every JSON body the document
// has is named there. A member renamed, added, dropped or retyped on either side fails it.
// (pkg/httpapi's tests hold every answer the handlers give to the same types: apitest.Check.)
func TestOpenAPIMatchesWireTypes(t *testing.T) {
	s := loadSpec(t)
	for _, key := range sortedKeys(s.ops) {
		op := s.ops[key]
		want := apitest.Routes[key]
		t.Run(key, func(t *testing.T) {
			if op.RequestBody.Kind != 0 {
				body, err := s.deref(&op.RequestBody)
				if err != nil {
					t.Fatal(err)
				}
				schema := lookup(lookup(lookup(body, "content"), "application/json"), "schema")
				switch {
				case schema == nil:
					t.Error("request body has no application/json schema")
				case want.Request == nil:
					t.Error("openapi.yaml has a request body; apitest.Routes names no Go type for it")
				default:
					for _, e := range s.agree("request", reflect.TypeOf(want.Request), schema) {
						t.Error(e)
					}
				}
			} else if want.Request != nil {
				t.Errorf("apitest.Routes has request %T; openapi.yaml has no request body", want.Request)
			}
			seen := map[string]bool{}
			for _, status := range sortedKeys(op.Responses) {
				if !strings.HasPrefix(status, "2") {
					continue
				}
				n := op.Responses[status]
				resp, err := s.deref(&n)
				if err != nil {
					t.Fatal(err)
				}
				schema := lookup(lookup(lookup(resp, "content"), "application/json"), "schema")
				if schema == nil {
					continue
				}
				seen[status] = true
				if why := apitest.NotWireTypes[key+" "+status]; why != "" {
					continue
				}
				code, _ := strconv.Atoi(status)
				goType, ok := want.Responses[code]
				if !ok {
					t.Errorf("%s answers JSON; apitest.Routes names no Go type for it", status)
					continue
				}
				for _, e := range s.agree(status, reflect.TypeOf(goType), schema) {
					t.Error(e)
				}
			}
			for status, goType := range want.Responses {
				if !seen[strconv.Itoa(status)] {
					t.Errorf("apitest.Routes has %d %T; openapi.yaml documents no JSON answer %d", status, goType, status)
				}
			}
		})
	}
	for key := range apitest.Routes {
		if _, ok := s.ops[key]; !ok {
			t.Errorf("apitest.Routes names %s, which openapi.yaml does not document", key)
		}
	}

	t.Run("Problem", func(t *testing.T) {
		schema, err := s.resolve(problemSchema)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range s.agree("problem", reflect.TypeOf(api.Problem{}), schema) {
			t.Error(e)
		}
	})

	// Every struct type of pkg/api is a body, or a part of one, that was compared above.
	t.Run("every api type is checked", func(t *testing.T) {
		reached := map[reflect.Type]bool{}
		for _, w := range apitest.Routes {
			if w.Request != nil {
				reach(reflect.TypeOf(w.Request), reached)
			}
			for _, r := range w.Responses {
				reach(reflect.TypeOf(r), reached)
			}
		}
		reach(reflect.TypeOf(api.Problem{}), reached)
		names := map[string]bool{}
		for ty := range reached {
			if ty.PkgPath() == reflect.TypeOf(api.Problem{}).PkgPath() {
				names[ty.Name()] = true
			}
		}
		for _, name := range apiStructTypes(t) {
			if !names[name] {
				t.Errorf("api.%s is in no route's body that openapi.yaml is compared with: add its route to apitest.Routes", name)
			}
		}
	})
}

// reach records ty and every type its JSON members hold.
func reach(ty reflect.Type, seen map[reflect.Type]bool) {
	for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
		ty = ty.Elem()
	}
	if seen[ty] || ty.Kind() != reflect.Struct {
		return
	}
	seen[ty] = true
	for _, f := range jsonFields(ty) {
		reach(f.typ, seen)
	}
}

// apiStructTypes lists the exported struct types declared in pkg/api.
func apiStructTypes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "pkg", "api", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("pkg/api: %v", err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Name.IsExported() && ts.Assign == 0 {
					out = append(out, ts.Name.Name)
				}
			}
		}
	}
	sort.Strings(out)
	if len(out) < 10 {
		t.Fatalf("found only %v in pkg/api; the parse is broken", out)
	}
	return out
}

// jsonField is one member a Go struct writes and reads.
type jsonField struct {
	name      string
	typ       reflect.Type
	omittable bool // omitempty or omitzero: not always written
}

// jsonFields lists a struct's JSON members as encoding/json sees them (embedded structs'
// members promoted, json:"-" skipped).
func jsonFields(ty reflect.Type) []jsonField {
	var out []jsonField
	for i := range ty.NumField() {
		f := ty.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		o := strings.Split(opts, ",")
		out = append(out, jsonField{name: name, typ: f.Type, omittable: slices.Contains(o, "omitempty") || slices.Contains(o, "omitzero")})
	}
	return out
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage{})
	timeType       = reflect.TypeOf(time.Time{})
	nullTimeType   = reflect.TypeOf(api.NullTime{})
)

// jsonTypes are the JSON Schema types a Go value encodes to (and decodes from); nil for a
// value that is any JSON (json.RawMessage). null is in the set when the value can be null.
func jsonTypes(ty reflect.Type) map[string]bool {
	switch ty {
	case rawMessageType:
		return nil
	case timeType:
		return map[string]bool{"string": true}
	case nullTimeType:
		return map[string]bool{"string": true, "null": true}
	}
	switch ty.Kind() {
	case reflect.Pointer:
		out := jsonTypes(ty.Elem())
		if out != nil {
			out["null"] = true
		}
		return out
	case reflect.Interface:
		return nil
	case reflect.String:
		return map[string]bool{"string": true}
	case reflect.Bool:
		return map[string]bool{"boolean": true}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]bool{"integer": true}
	case reflect.Float32, reflect.Float64:
		return map[string]bool{"number": true}
	case reflect.Slice:
		if ty.Elem().Kind() == reflect.Uint8 {
			return map[string]bool{"string": true} // base64
		}
		return map[string]bool{"array": true}
	case reflect.Array:
		return map[string]bool{"array": true}
	case reflect.Map, reflect.Struct:
		return map[string]bool{"object": true}
	}
	return map[string]bool{"unsupported " + ty.Kind().String(): true}
}

// schemaView is a schema with its $refs followed and its composition flattened: the types it
// allows (the union of its anyOf/oneOf alternatives), its properties and required members
// (with those of its allOf parts), and its items and additionalProperties.
type schemaView struct {
	types      map[string]bool
	properties map[string]*yaml.Node
	required   map[string]bool
	items      []*yaml.Node
	additional []*yaml.Node
}

func (s *spec) view(n *yaml.Node) (*schemaView, error) {
	v := &schemaView{types: map[string]bool{}, properties: map[string]*yaml.Node{}, required: map[string]bool{}}
	return v, s.collect(n, v, 0)
}

func (s *spec) collect(n *yaml.Node, v *schemaView, depth int) error {
	if depth > 16 {
		return fmt.Errorf("schema nested too deep at line %d", n.Line)
	}
	n, err := s.deref(n)
	if err != nil {
		return err
	}
	if ty := lookup(n, "type"); ty != nil {
		if ty.Kind == yaml.SequenceNode {
			for _, c := range ty.Content {
				v.types[c.Value] = true
			}
		} else {
			v.types[ty.Value] = true
		}
	}
	if props := lookup(n, "properties"); props != nil {
		for i := 0; i+1 < len(props.Content); i += 2 {
			v.properties[props.Content[i].Value] = props.Content[i+1]
		}
	}
	if req := lookup(n, "required"); req != nil {
		for _, c := range req.Content {
			v.required[c.Value] = true
		}
	}
	if items := lookup(n, "items"); items != nil {
		v.items = append(v.items, items)
	}
	if ap := lookup(n, "additionalProperties"); ap != nil && ap.Kind == yaml.MappingNode {
		v.additional = append(v.additional, ap)
	}
	// allOf parts add to the schema; anyOf/oneOf alternatives each allow their types.
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		list := lookup(n, kw)
		if list == nil {
			continue
		}
		for _, sub := range list.Content {
			if kw != "allOf" {
				alt := &schemaView{types: map[string]bool{}, properties: v.properties, required: map[string]bool{}}
				if err := s.collect(sub, alt, depth+1); err != nil {
					return err
				}
				for t := range alt.types {
					v.types[t] = true
				}
				v.items = append(v.items, alt.items...)
				v.additional = append(v.additional, alt.additional...)
				continue
			}
			if err := s.collect(sub, v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// agree compares the Go type ty with the schema n, member by member and in both directions:
// every member of a Go struct is a property of its schema with the same JSON types, every
// property is a member of the Go struct, and a member the schema requires is one the Go
// type always writes. It returns the disagreements, each with its path.
func (s *spec) agree(path string, ty reflect.Type, n *yaml.Node) []string {
	var errs []string
	s.agreeAt(path, ty, n, &errs, 0)
	return errs
}

func (s *spec) agreeAt(path string, ty reflect.Type, n *yaml.Node, errs *[]string, depth int) {
	fail := func(format string, a ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, a...)) }
	if depth > 12 {
		fail("types nested too deep")
		return
	}
	v, err := s.view(n)
	if err != nil {
		fail("%v", err)
		return
	}
	goTypes := jsonTypes(ty)
	if goTypes == nil {
		return // any JSON (a passkey's own JSON, passed through): the schema may say more
	}
	if len(v.types) == 0 {
		fail("the schema states no type; Go %s is %v", ty, keys(goTypes))
		return
	}
	if v.types["null"] && !goTypes["null"] {
		fail("the schema allows null; Go %s can never be null", ty)
	}
	if ty == nullTimeType && !v.types["null"] {
		fail("Go %s writes null for the zero time; the schema does not allow null", ty)
	}
	if !equalIgnoringNull(goTypes, v.types) {
		fail("JSON type %v in the schema, %v in Go (%s)", keys(v.types), keys(goTypes), ty)
		return
	}
	for ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	switch {
	case ty == timeType || ty == nullTimeType:
	case ty.Kind() == reflect.Slice && ty.Elem().Kind() != reflect.Uint8:
		if len(v.items) == 0 {
			fail("an array schema without items")
		}
		for _, it := range v.items {
			s.agreeAt(path+"[]", ty.Elem(), it, errs, depth+1)
		}
	case ty.Kind() == reflect.Map:
		// Keys are data; every value, named or not, has the map's element type.
		for _, name := range sortedKeys(v.properties) {
			s.agreeAt(path+"."+name, ty.Elem(), v.properties[name], errs, depth+1)
		}
		for _, ap := range v.additional {
			s.agreeAt(path+".*", ty.Elem(), ap, errs, depth+1)
		}
	case ty.Kind() == reflect.Struct:
		fields := jsonFields(ty)
		inGo := map[string]bool{}
		for _, f := range fields {
			inGo[f.name] = true
			prop, ok := v.properties[f.name]
			if !ok {
				fail("Go %s.%s is member %q, which the schema does not have", ty.Name(), f.name, f.name)
				continue
			}
			if v.required[f.name] && f.omittable {
				fail("the schema requires %q; Go %s leaves it out when empty", f.name, ty.Name())
			}
			if !f.omittable && jsonTypes(f.typ)["null"] && !v.required[f.name] {
				// written as null, never left out: the schema should say it is always there
				fail("Go %s always writes %q (null when unset); the schema does not require it", ty.Name(), f.name)
			}
			s.agreeAt(path+"."+f.name, f.typ, prop, errs, depth+1)
		}
		for _, name := range sortedKeys(v.properties) {
			if !inGo[name] {
				fail("the schema has member %q, which Go %s does not have", name, ty.Name())
			}
		}
		for _, name := range sortedKeys(v.required) {
			if _, ok := v.properties[name]; !ok {
				fail("the schema requires %q but does not define it", name)
			}
		}
	}
}

func equalIgnoringNull(a, b map[string]bool) bool {
	for k := range a {
		if k != "null" && !b[k] {
			return false
		}
	}
	for k := range b {
		if k != "null" && !a[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
