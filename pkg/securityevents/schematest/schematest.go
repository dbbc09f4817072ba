// Package schematest checks published events against the detail schema with a full JSON
// Schema (draft 2020-12) validator. Tests use it; no function links it.
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mfa-service/mfa/pkg/securityevents"
)

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(securityevents.SchemaV1))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://github.com/mfa-service/mfa/pkg/securityevents/schema/detail-v1.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// Validate checks a detail against schema version 1.
func Validate(detail []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("schematest: compile schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
	if err != nil {
		return fmt.Errorf("schematest: detail is not JSON: %w", err)
	}
	return s.Validate(inst)
}

// Check validates an event as published: source, a detail-type that is the catalog's one for
// the detail's action, and a valid detail.
func Check(source, detailType string, detail []byte) error {
	if source != securityevents.Source {
		return fmt.Errorf("source %q, want %q", source, securityevents.Source)
	}
	if err := Validate(detail); err != nil {
		return fmt.Errorf("%s: %w\n%s", detailType, err, detail)
	}
	var d struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(detail, &d); err != nil {
		return err
	}
	want, known := securityevents.DetailType(d.Action)
	if !known || want != detailType {
		return fmt.Errorf("detail-type %q for action %q, the catalog says %q (known %v)", detailType, d.Action, want, known)
	}
	return nil
}
