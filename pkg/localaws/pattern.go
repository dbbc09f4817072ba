package localaws

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Pattern is an EventBridge event pattern, as Lambda's event filtering applies it to a
// record: the subset of the syntax the template uses (exact values, prefix, suffix,
// anything-but, exists), with unknown operators refused so a new one cannot be silently
// ignored.
type Pattern struct {
	fields map[string]any // nested Pattern fields (map) or a list of matchers ([]any)
}

// ParsePattern parses one pattern.
func ParsePattern(src string) (*Pattern, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(src), &raw); err != nil {
		return nil, fmt.Errorf("localaws: pattern %s: %w", src, err)
	}
	if err := checkPattern(raw); err != nil {
		return nil, fmt.Errorf("localaws: pattern %s: %w", src, err)
	}
	return &Pattern{fields: raw}, nil
}

func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return err
			}
		case []any:
			for _, m := range v {
				op, ok := m.(map[string]any)
				if !ok {
					continue
				}
				for name := range op {
					switch name {
					case "prefix", "suffix", "anything-but", "exists":
					default:
						return fmt.Errorf("%s: operator %q is not supported locally", k, name)
					}
				}
			}
		default:
			return fmt.Errorf("%s: a pattern value is an object or a list", k)
		}
	}
	return nil
}

// Match reports whether a JSON document (decoded into any) matches.
func (p *Pattern) Match(doc any) bool { return matchFields(p.fields, doc) }

// matchFields matches as Lambda's filtering (aws/event-ruler) does, on the flattened paths of
// the document's leaves: a path under an object that is missing is a missing leaf (which only
// {"exists": false} matches), and so is a path that ends on an object.
func matchFields(fields map[string]any, doc any) bool {
	obj, _ := doc.(map[string]any)
	for k, want := range fields {
		v, present := obj[k]
		switch want := want.(type) {
		case map[string]any:
			if !matchFields(want, v) {
				return false
			}
		case []any:
			if _, isObject := v.(map[string]any); isObject {
				present = false
			}
			if !matchAny(want, v, present) {
				return false
			}
		}
	}
	return true
}

// matchAny: the value (or one element of it, when it is a list) matches one of the matchers.
func matchAny(matchers []any, v any, present bool) bool {
	values := []any{v}
	if list, ok := v.([]any); ok {
		values = list
	}
	for _, m := range matchers {
		if op, ok := m.(map[string]any); ok {
			if e, ok := op["exists"].(bool); ok {
				if e == present {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, val := range values {
			if matchOne(m, val) {
				return true
			}
		}
	}
	return false
}

func matchOne(m, v any) bool {
	op, ok := m.(map[string]any)
	if !ok {
		return m == v || fmt.Sprint(m) == fmt.Sprint(v) && sameKind(m, v)
	}
	s, isString := v.(string)
	if p, ok := op["prefix"].(string); ok {
		return isString && strings.HasPrefix(s, p)
	}
	if p, ok := op["suffix"].(string); ok {
		return isString && strings.HasSuffix(s, p)
	}
	if but, ok := op["anything-but"]; ok {
		list, isList := but.([]any)
		if !isList {
			list = []any{but}
		}
		for _, x := range list {
			if matchOne(x, v) {
				return false
			}
		}
		return true
	}
	return false
}

func sameKind(a, b any) bool {
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case float64:
		_, ok := b.(float64)
		return ok
	case bool:
		_, ok := b.(bool)
		return ok
	}
	return a == nil && b == nil
}
