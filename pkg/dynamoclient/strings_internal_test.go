package dynamoclient

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// Strings are written and read as encoding/json writes and reads them, on random strings of
// every byte (invalid UTF-8 included) and on json.Marshal's own escapes.
func TestStringsAreEncodingJSONs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	samples := []string{"", "plain", "\"\\/\b\f\n\r\t\x00\x1f", "é 𝄞 \u2028\u2029 <>&", "\xff\xfe", "a\xc3", "\xed\xa0\x80"}
	for range 2000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		samples = append(samples, string(b))
	}
	for _, s := range samples {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("%q written as %s: %v", s, appendString(nil, s), err)
		}
		var want string
		marshalled, _ := json.Marshal(s)
		json.Unmarshal(marshalled, &want)
		if back != want {
			t.Errorf("%q written as %s, which reads %q; encoding/json's reads %q", s, appendString(nil, s), back, want)
		}
		for _, enc := range [][]byte{marshalled, appendString(nil, s), []byte(`"` + s + `"`)} {
			var wantRead string
			wantErr := json.Unmarshal(enc, &wantRead)
			r := &reader{data: enc}
			got, err := r.str()
			if err == nil && r.i != len(enc) { // a string and more: the decoders above stop at the string
				err = errSyntax
			}
			if (err != nil) != (wantErr != nil) || err == nil && got != wantRead {
				t.Errorf("%q read as %q (%v), encoding/json reads %q (%v)", enc, got, err, wantRead, wantErr)
			}
		}
	}
}
