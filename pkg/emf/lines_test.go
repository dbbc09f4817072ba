package emf

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// Count writes, for every metric and dimensions, first time or from its kept line, exactly the
// line encodeLine (json.Marshal) makes at that time: dimensions named like the metric or
// "_aws", values that need escaping or hold the timestamp mark's text, no dimensions, and past
// the number of lines kept.
func TestCountWritesTheEncodedLineEveryTime(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	at := int64(1_700_000_000_123)
	w.now = func() time.Time { return time.UnixMilli(at) }
	mark := strconv.FormatInt(timestampMark, 10)
	cases := []struct {
		name string
		dims map[string]string
	}{
		{"Verifications", map[string]string{"FactorType": "totp", "Outcome": "success"}},
		{"Verifications", map[string]string{"Outcome": "success", "FactorType": "totp"}},
		{"Verifications", map[string]string{"FactorType": "email", "Outcome": "success"}},
		{"Sends", nil},
		{"Sends", map[string]string{"Sends": "shadowed by the count", "_aws": "shadowed by the directive"}},
		{"a", map[string]string{"b": "<&>\"\\\n\u2028", "Z": "é"}},
		{"Marked", map[string]string{"Value": mark}},
		{"x", map[string]string{"k:1": "v", "k": "1:v"}},
	}
	check := func(name string, dims map[string]string) {
		t.Helper()
		buf.Reset()
		w.Count(name, dims)
		want, err := encodeLine(name, dims, at)
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != string(want)+"\n" {
			t.Errorf("%s %v:\n got %s\nwant %s", name, dims, got, want)
		}
	}
	for round := 0; round < 3; round++ {
		for _, c := range cases {
			at += 1001
			check(c.name, c.dims)
		}
	}
	if _, ok := w.lines[string(appendLineKey(nil, "Marked", map[string]string{"Value": mark}))]; ok {
		t.Error("a line whose value holds the timestamp mark was kept")
	}
	if len(w.lines) != len(cases)-2 { // the two orders of one map are one line; the marked one is not kept
		t.Errorf("%d lines kept, want %d", len(w.lines), len(cases)-2)
	}
	for i := 0; i < maxLines+10; i++ {
		check("Many", map[string]string{"N": fmt.Sprint(i)})
	}
	if len(w.lines) != maxLines {
		t.Errorf("%d lines kept, want the cap %d", len(w.lines), maxLines)
	}
	check("Many", map[string]string{"N": fmt.Sprint(maxLines + 5)}) // not kept: encoded again
}
