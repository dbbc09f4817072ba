package token

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// The hand-written encoding of a string is json.Marshal's, byte for byte: every byte value,
// HTML characters, control characters, invalid UTF-8, U+2028/U+2029 and random mixes.
func TestAppendJSONStringIsJSONMarshal(t *testing.T) {
	inputs := []string{"", "alice", `"quoted"`, `back\slash`, "<script>&amp;</script>", "tab\there\nnew\rline\b\f",
		"\x00\x01\x1f\x7f", "ä€𝄞", "\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\U0010FFFF", "\ufffd"}
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Z", "0", "-", "_", ".", "@", "<", ">", "&", `"`, `\`, "\n", "\x00", "\x1f", "é", "€", "𝄞", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80"}
	for i := 0; i < 5000; i++ {
		var s string
		for k := rng.IntN(12); k > 0; k-- {
			s += pieces[rng.IntN(len(pieces))]
		}
		inputs = append(inputs, s)
	}
	for _, in := range inputs {
		want, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("prefix"), in); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%q: got %s, json.Marshal %s", in, got[len("prefix"):], want)
		}
	}
}

// The claims' hand-written encoding is json.Marshal's: every field, in order, with and without
// the optional ones, with strings that need escaping and with a nil amr.
func TestClaimsAppendJSONIsJSONMarshal(t *testing.T) {
	full := mfaClaims{
		Issuer: "https://mfa.example.com/", Subject: "user@example.com|x", Audience: "app<1>", IssuedAt: 1796000000,
		NotBefore: 1796000000, Expires: 1796000300, AuthTime: -5, ID: "AAECAwQFBgcICQoLDA0ODw", AMR: []string{"otp", "mfa"},
		ACR: "mfa", FactorType: "totp", FactorID: "abcdefghijklmnopqrstuvwxyz", TokenUse: "mfa", Org: "acme & co", ChallengeID: "c1",
	}
	noOptional := full
	noOptional.Org, noOptional.ChallengeID = "", ""
	noAMR := full
	noAMR.AMR = nil
	emptyAMR := full
	emptyAMR.AMR = []string{}
	for _, c := range []mfaClaims{full, noOptional, noAMR, emptyAMR, {}, {Subject: "\u2028\"\xff"}} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
