package dynamostore

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// openConditionByHand is the lock rule's condition spelled out plainly, as the reference
// openCondition's precomputed names and builder must reproduce.
func openConditionByHand(windows []mfa.OpenWindow) (string, map[string]dynamoclient.AttributeValue) {
	parts := []string{"attribute_not_exists(failures)"}
	values := map[string]dynamoclient.AttributeValue{}
	for i, w := range windows {
		lo, hi := fmt.Sprintf(":open%dlo", i), fmt.Sprintf(":open%dhi", i)
		var part string
		switch {
		case w.MinFailures == w.MaxFailures:
			values[lo] = num(int64(w.MinFailures))
			part = "failures = " + lo
		case w.MinFailures == 0:
			values[hi] = num(int64(w.MaxFailures))
			part = "failures <= " + hi
		default:
			values[lo], values[hi] = num(int64(w.MinFailures)), num(int64(w.MaxFailures))
			part = "failures >= " + lo + " AND failures <= " + hi
		}
		if !w.LastFailureBy.IsZero() {
			by := fmt.Sprintf(":open%dby", i)
			values[by] = num(millis(w.LastFailureBy))
			part += " AND lastFailureAt <= " + by
		}
		parts = append(parts, "("+part+")")
	}
	return strings.Join(parts, " OR "), values
}

func TestOpenConditionSpellsTheLockRule(t *testing.T) {
	now := time.UnixMilli(1_796_000_000_123)
	cases := [][]mfa.OpenWindow{mfa.DefaultRegulation.OpenAt(now)}
	for n := 1; n <= 20; n++ { // past the precomputed names
		var ws []mfa.OpenWindow
		for i := 0; i < n; i++ {
			w := mfa.OpenWindow{MinFailures: i, MaxFailures: i + 1 - i%2} // ranges and single counts
			if i%3 != 0 {
				w.LastFailureBy = now.Add(-time.Duration(i) * time.Minute)
			}
			ws = append(ws, w)
		}
		cases = append(cases, ws)
	}
	for _, ws := range cases {
		got, values, err := openCondition(ws)
		if err != nil {
			t.Fatal(err)
		}
		want, wantValues := openConditionByHand(ws)
		if got != want || !reflect.DeepEqual(values, wantValues) {
			t.Errorf("%d windows:\n got %s %v\nwant %s %v", len(ws), got, values, want, wantValues)
		}
	}
	if _, _, err := openCondition(nil); err == nil {
		t.Error("no windows: no error")
	}
}
