package httpapi

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
)

// A verification body is read as the decoder reads it: bodies json.Marshal wrote (plain
// strings or ones that need escaping, fields in any order, some left out) and every mutation
// of them give the same request or the same problem through verifyBody (read by hand when
// plain) as through api.VerifyRequest (always the decoder). Plain bodies take the hand-read
// path.
func TestVerifyBodyIsReadAsTheDecoderReadsIt(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	pieces := []string{"totp", "123456", "abcdefghijklmnopqrstuvwxyz", " ", "-", "backup_codes", `"`, `\`, "\n", "<&>", "é", "\u2028", "\x7f"}
	text := func(plain bool) string {
		var b strings.Builder
		for k := rng.IntN(3); k >= 0; k-- {
			if plain {
				b.WriteString(pieces[rng.IntN(6)])
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		return b.String()
	}
	var bodies [][]byte
	plainRead := 0
	for i := 0; i < 2000; i++ {
		plain := i%2 == 0
		fields := map[string]any{"type": text(plain)}
		if rng.IntN(3) > 0 {
			fields["factorId"] = text(plain)
		}
		if rng.IntN(3) > 0 {
			fields["code"] = text(plain)
		}
		if rng.IntN(2) == 0 {
			fields["rememberDevice"] = rng.IntN(2) == 0
		}
		raw, err := json.Marshal(fields) // keys sorted: another order than the struct's
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, raw)
		sent := api.VerifyRequest{Type: text(plain), FactorID: text(plain), Code: text(plain), RememberDevice: rng.IntN(2) == 0}
		raw, err = json.Marshal(sent) // the struct's order, omitempty
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, raw)
		if plain {
			var got verifyBody
			if !got.readPlain(raw) || !reflect.DeepEqual(api.VerifyRequest(got), sent) {
				t.Fatalf("plain body %s: read by hand as %+v", raw, got)
			}
			plainRead++
		}
	}
	swaps := []string{" ", "null", "1", "[]", "{}", `"Type"`, `"credential"`, `{"id":"x"}`, "true", "false", `"x"`, `\u0041`, ",", "}"}
	for i := 0; i < 20000; i++ {
		raw := []byte(string(bodies[rng.IntN(len(bodies))]))
		switch rng.IntN(3) {
		case 0:
			raw[rng.IntN(len(raw))] = `{}[]":, tfnrue\x`[rng.IntN(16)]
		case 1:
			j := rng.IntN(len(raw))
			raw = append(raw[:j], raw[j+1:]...)
		default:
			j := rng.IntN(len(raw) + 1)
			raw = append(raw[:j], append([]byte(swaps[rng.IntN(len(swaps))]), raw[j:]...)...)
		}
		bodies = append(bodies, raw)
	}
	bodies = append(bodies, []byte(`{}`), []byte(`{"type":"totp","type":"sms"}`), []byte(`{"TYPE":"totp"}`),
		[]byte(`{"type":"totp","credential":{"id":"x"}}`), []byte(`{"type":"totp"} `), []byte(`{"type":"totp"}{}`))
	for _, raw := range bodies {
		req := events.APIGatewayV2HTTPRequest{Body: string(raw), Headers: map[string]string{"content-type": "application/json"}}
		var got verifyBody
		var want api.VerifyRequest
		err, wantErr := decodeBody(req, &got), decodeBody(req, &want)
		if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(api.VerifyRequest(got), want) {
			t.Errorf("%s:\n read %+v, %v\n decoder %+v, %v", raw, got, err, want, wantErr)
		}
	}
	if plainRead == 0 {
		t.Error("no plain body was read by hand: the comparison proves little")
	}
}

// The answer to a verification is written as json.Marshal writes it, with and without its
// optional fields and with strings that need escaping.
func TestVerificationJSONIsJSONMarshal(t *testing.T) {
	two := 2
	full := api.Verification{Verified: true, MFAToken: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", Factor: api.FactorRef{ID: "abcdefghijklmnopqrstuvwxyz", Type: "totp"},
		DeviceToken: "dev-token_1", BackupCodesRemaining: &two, EnrollmentRequired: true}
	cases := []api.Verification{full, {}, {Verified: true, MFAToken: "t", Factor: api.FactorRef{ID: "f", Type: "backup_codes"}, BackupCodesRemaining: new(int)}}
	for _, odd := range []string{`"`, `\`, "<", ">", "&", "\n", "é", "\u2028", "\x7f", "\xff"} {
		v := full
		v.DeviceToken = "d" + odd
		cases = append(cases, v)
		v = full
		v.Factor.ID = odd
		cases = append(cases, v)
	}
	for _, v := range cases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := verificationJSON(v); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
