package securityevents_test

import (
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/securityevents"
)

// The catalog's routine kinds, which the README shows as opt-in, are the ones the publisher
// leaves to the opt-in mapping.
func TestRoutineKindsAreTheCatalogs(t *testing.T) {
	for _, k := range securityevents.Catalog {
		if listed := strings.HasPrefix(k.Meaning, "routine, opt-in"); listed != securityevents.Routine(k.Action) {
			t.Errorf("%s: the catalog says routine %v, Routine says %v", k.Action, listed, securityevents.Routine(k.Action))
		}
	}
}
