package plainjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

type doc struct {
	S  string   `json:"s"`
	N  int64    `json:"n"`
	B  bool     `json:"b"`
	L  []string `json:"l"`
	ok bool
}

func read(raw string) doc {
	var d doc
	s := New([]byte(raw))
	s.Fields(func(name string) {
		switch name {
		case "s":
			d.S = s.String()
		case "n":
			d.N = s.Int()
		case "b":
			d.B = s.Bool()
		case "l":
			d.L = s.Strings()
		default:
			s.Fail()
		}
	})
	d.ok = s.Done()
	return d
}

// What the scanner reads it reads as json.Unmarshal does; what it does not, it refuses.
func TestScannerReadsThePlainFormOnly(t *testing.T) {
	for _, c := range []struct {
		raw   string
		plain bool
	}{
		{`{}`, true},
		{`{"s":"a-b_c.d","n":-42,"b":true,"l":["x","y"]}`, true},
		{`{"n":0,"b":false,"l":[]}`, true},
		{`{"n":9223372036854775807}`, true},
		{`{"n":9223372036854775808}`, false}, // beyond int64
		{`{"n":01}`, false},
		{`{"n":1.5}`, false},
		{`{"n":-}`, false},
		{`{"s":"a\"b"}`, false}, // an escape
		{`{"s":"é"}`, false},    // not ASCII
		{"{\"s\":\"\x7f\"}", false},
		{`{ "s":"a"}`, false}, // whitespace
		{`{"s":null}`, false},
		{`{"x":1}`, false}, // a name the reader does not know
		{`{"s":"a"} `, false},
		{`{"s":"a",}`, false},
		{`{"l":["a",]}`, false},
		{`{"s":"a"`, false},
		{``, false},
	} {
		got := read(c.raw)
		if got.ok != c.plain {
			t.Errorf("%q: read %v, want %v", c.raw, got.ok, c.plain)
			continue
		}
		if !got.ok {
			continue
		}
		var want doc
		if err := json.Unmarshal([]byte(c.raw), &want); err != nil {
			t.Fatalf("%q: %v", c.raw, err)
		}
		want.ok = true
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: read %+v, json.Unmarshal %+v", c.raw, got, want)
		}
	}
}
