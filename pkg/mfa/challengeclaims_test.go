package mfa

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The claims are read as json.Unmarshal reads them: claims json.Marshal wrote (with strings
// that need escaping, non-ASCII text, empty and missing fields), and every mutation of them —
// whatever the hand-read path accepts, json.Unmarshal reads alike, and the rest it leaves to
// json.Unmarshal. Plain claims, the form challengeToken writes, take the hand-read path.
func TestDecodeChallengeClaimsIsJSONUnmarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"abc", "Z9", "-", "_", ".", ":", "198.51.100.7", "2001:db8::1", "de-CH", `"`, `\`, "\n", "<&>", "é", "€", "\u2028", "\xff"}
	text := func(plain bool) string {
		var b strings.Builder
		for k := rng.IntN(4); k > 0; k-- {
			p := pieces[rng.IntN(len(pieces))]
			if plain {
				p = pieces[rng.IntN(8)]
			}
			b.WriteString(p)
		}
		return b.String()
	}
	var encoded [][]byte
	plainTaken := 0
	for i := 0; i < 3000; i++ {
		plain := i%2 == 0
		c := challengeClaims{
			ID: text(plain), Purpose: text(plain), Org: text(plain), Default: text(plain),
			Created: rng.Int64N(1 << 45), Expires: rng.Int64() - rng.Int64(), Locale: text(plain), IP: text(plain), Device: text(plain),
			Passkeys: rng.IntN(2) == 0,
		}
		for k := rng.IntN(4); k > 0; k-- {
			c.Offered = append(c.Offered, "t"+text(plain))
		}
		raw, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		encoded = append(encoded, raw)
		if plain {
			got, ok := scanChallengeClaims(raw)
			if !ok || !reflect.DeepEqual(got, c) {
				t.Fatalf("plain claims %s: read by hand %v: %+v", raw, ok, got)
			}
			plainTaken++
		}
	}
	// Mutations: bytes changed, dropped or inserted, keys renamed, values swapped for others.
	swaps := []string{" ", "null", "1.5", "-0", "01", "1e3", "[]", `["x",1]`, `"R"`, "true", "false", "{}", `\u0041`, "99999999999999999999"}
	for i := 0; i < 20000; i++ {
		raw := []byte(string(encoded[rng.IntN(len(encoded))]))
		switch rng.IntN(4) {
		case 0:
			raw[rng.IntN(len(raw))] = `{}[]":,-0123456789tfnrue\ `[rng.IntN(25)]
		case 1:
			j := rng.IntN(len(raw))
			raw = append(raw[:j], raw[j+1:]...)
		case 2:
			j := rng.IntN(len(raw) + 1)
			raw = append(raw[:j], append([]byte(swaps[rng.IntN(len(swaps))]), raw[j:]...)...)
		default:
			if j := strings.Index(string(raw), ":"); j > 0 {
				end := strings.IndexAny(string(raw[j+1:]), ",}")
				if end > 0 {
					raw = append(raw[:j+1], append([]byte(swaps[rng.IntN(len(swaps))]), raw[j+1+end:]...)...)
				}
			}
		}
		encoded = append(encoded, raw)
	}
	encoded = append(encoded, []byte("{}"), []byte(""), []byte("{"), []byte(`{"r":"a","r":"b","f":["x"],"f":[]}`), []byte(`{"R":"a"}`), []byte(`{"c":-0}`))
	accepted := 0
	for _, raw := range encoded {
		var want challengeClaims
		wantErr := json.Unmarshal(raw, &want)
		if got, ok := scanChallengeClaims(raw); ok {
			accepted++
			if wantErr != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: read by hand as %+v; json.Unmarshal: %+v, %v", raw, got, want, wantErr)
			}
		}
		got, err := decodeChallengeClaims(raw)
		if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: decoded %+v, %v; json.Unmarshal: %+v, %v", raw, got, err, want, wantErr)
		}
	}
	if plainTaken == 0 || accepted <= plainTaken {
		t.Errorf("%d plain claims, %d read by hand: the comparison proves little", plainTaken, accepted)
	}
}

func TestTypeOfLetterInvertsTypeLetters(t *testing.T) {
	for typ, l := range typeLetters {
		if got, ok := typeOfLetter(l); !ok || got != typ {
			t.Errorf("letter %q: %q %v, want %q", l, got, ok, typ)
		}
	}
	for _, l := range []string{"", "x", "T", "tt", "o"} {
		if got, ok := typeOfLetter(l); ok {
			t.Errorf("letter %q: %q", l, got)
		}
	}
	if len(typeLetters) != 5 {
		t.Errorf("%d factor types have letters: typeOfLetter knows 5", len(typeLetters))
	}
}
