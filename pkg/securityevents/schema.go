package securityevents

import _ "embed"

// SchemaV1 is the JSON Schema (draft 2020-12) of the version 1 detail.
//
//go:embed schema/detail-v1.schema.json
var SchemaV1 []byte
