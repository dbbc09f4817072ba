package samtemplate

import (
	"testing"
	"time"
)

func TestRoutesAndTableFromProjectTemplate(t *testing.T) {
	tpl, err := LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Route{}
	for _, r := range routes {
		if _, dup := byKey[r.RouteKey()]; dup {
			t.Errorf("route %s declared twice", r.RouteKey())
		}
		byKey[r.RouteKey()] = r
	}
	jwks, ok := byKey["GET /.well-known/jwks.json"]
	if !ok || !jwks.NoAuth || jwks.FunctionID != "JwksFunction" {
		t.Errorf("jwks route = %+v, want public route of JwksFunction", jwks)
	}
	verify, ok := byKey["POST /v1/users/{userId}/challenges/{challengeId}/verifications"]
	if !ok || verify.NoAuth || verify.FunctionID != "VerifyFunction" {
		t.Errorf("verify route = %+v, want authorized route of VerifyFunction", verify)
	}
	for _, fn := range tpl.Functions() {
		if tpl.Resources[fn].Metadata.BuildMethod != "makefile" {
			t.Errorf("%s: BuildMethod = %q, want makefile", fn, tpl.Resources[fn].Metadata.BuildMethod)
		}
	}

	tbl, err := tpl.Table("MfaTable")
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.KeySchema) != 2 || tbl.KeySchema[0].AttributeName != "pk" || tbl.KeySchema[1].AttributeName != "sk" {
		t.Errorf("key schema = %+v, want pk/sk", tbl.KeySchema)
	}
	if tbl.StreamSpecification.StreamViewType != "NEW_AND_OLD_IMAGES" {
		t.Errorf("stream = %+v, want NEW_AND_OLD_IMAGES (the event publisher reads both images)", tbl.StreamSpecification)
	}
	esm, err := tpl.EventSourceMapping("EventPublisherStream")
	if err != nil {
		t.Fatal(err)
	}
	if esm.FunctionName.Ref != "EventPublisherFunction" || !esm.ReportsBatchItemFailures() || len(esm.Patterns()) != 3 || esm.BatchSize < 10 {
		t.Errorf("event source mapping = %+v", esm)
	}
	if tbl.TimeToLiveSpecification.AttributeName != "ttl" || !tbl.TimeToLiveSpecification.Enabled {
		t.Errorf("ttl = %+v", tbl.TimeToLiveSpecification)
	}
	if _, err := tpl.Table("Nope"); err == nil {
		t.Error("unknown table: want an error")
	}
}

// TestRouteTimeouts: every route carries its function's timeout (the Globals' 10 seconds), which
// the local gateway can give handlers as their deadline.
func TestRouteTimeouts(t *testing.T) {
	tpl, err := LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Timeout != 10*time.Second {
			t.Errorf("%s: timeout %v, want the template's 10s", r.RouteKey(), r.Timeout)
		}
	}
}
