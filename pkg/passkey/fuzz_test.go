package passkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/passkey"
	"github.com/mfa-service/mfa/pkg/passkey/passkeytest"
)

// Fuzz targets of WebAuthn response parsing: the browser's JSON reaches go-webauthn's parsers
// (JSON, base64url, CBOR, COSE keys, authenticator data) before anything is verified. Each
// target runs against a real session of a passkey.New relying party, and its seeds include an
// honest response for that very session, so mutations start from something that verifies.
// `go test` runs the seeds in testdata/fuzz/<FuzzName>; `make fuzz` explores further.

// fuzzRP is a relying party whose sessions outlive any fuzzing run.
func fuzzRP(f *testing.F) *passkey.Ceremonies {
	f.Helper()
	rp, err := passkey.New(passkey.Config{RPID: "example.com", RPName: "Example", Origins: []string{origin}, Timeout: 24 * time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	return rp
}

// checkPasskeyError asserts err says the response was malformed or did not verify, and
// nothing else: a caller maps those two to a 400 or 401.
func checkPasskeyError(t *testing.T, err error) {
	t.Helper()
	malformed, invalid := errors.Is(err, mfa.ErrPasskeyMalformed), errors.Is(err, mfa.ErrPasskeyInvalid)
	if malformed == invalid {
		t.Fatalf("error %v: want exactly one of ErrPasskeyMalformed, ErrPasskeyInvalid", err)
	}
}

// mutations are structural variants of a valid response, as seeds.
func mutations(valid []byte) [][]byte {
	var obj map[string]any
	if err := json.Unmarshal(valid, &obj); err != nil {
		panic(err)
	}
	out := [][]byte{
		nil, []byte("{}"), []byte("null"), []byte(`"x"`), []byte("[]"),
		valid[:len(valid)/2],
		bytes.Replace(valid, []byte(`"public-key"`), []byte(`"private-key"`), 1),
		append(append([]byte{}, valid...), valid...),
	}
	edit := func(change func(m map[string]any)) {
		var m map[string]any
		_ = json.Unmarshal(valid, &m)
		change(m)
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	for _, k := range []string{"id", "rawId", "type", "response"} {
		edit(func(m map[string]any) { delete(m, k) })
	}
	resp, _ := obj["response"].(map[string]any)
	for k := range resp {
		edit(func(m map[string]any) { delete(m["response"].(map[string]any), k) })
		edit(func(m map[string]any) { m["response"].(map[string]any)[k] = "" })
		edit(func(m map[string]any) { m["response"].(map[string]any)[k] = "AA" })
		edit(func(m map[string]any) { m["response"].(map[string]any)[k] = 7 })
	}
	edit(func(m map[string]any) { m["id"] = "AAAA" })
	edit(func(m map[string]any) {
		m["clientExtensionResults"] = map[string]any{"credProps": map[string]any{"rk": true}}
	})
	edit(func(m map[string]any) { m["authenticatorAttachment"] = "platform" })
	return out
}

// splice makes the fuzzed response: the response itself when field is 0, else the response
// with one field of its "response" object replaced by value, base64url-encoded as a browser
// sends it, so that the fuzzer mutates raw authenticator data, CBOR and client data directly.
func splice(response []byte, fields []string, field uint8, value []byte) []byte {
	n := int(field) % (len(fields) + 1)
	if n == 0 {
		return response
	}
	var m map[string]any
	if err := json.Unmarshal(response, &m); err != nil {
		return response
	}
	r, ok := m["response"].(map[string]any)
	if !ok {
		return response
	}
	r[fields[n-1]] = b64.EncodeToString(value)
	out, err := json.Marshal(m)
	if err != nil {
		return response
	}
	return out
}

// addSeeds adds the response as it is and its mutations, then each spliced field with its
// real bytes.
func addSeeds(f *testing.F, fields []string, valid []byte, more ...[]byte) {
	f.Add(valid, uint8(0), []byte(nil))
	for _, m := range append(mutations(valid), more...) {
		f.Add(m, uint8(0), []byte(nil))
	}
	var parsed struct {
		Response map[string]string `json:"response"`
	}
	if err := json.Unmarshal(valid, &parsed); err != nil {
		f.Fatal(err)
	}
	for i, name := range fields {
		raw, err := b64.DecodeString(parsed.Response[name])
		if err != nil {
			f.Fatalf("seed field %s: %v", name, err)
		}
		f.Add(valid, uint8(i+1), raw)
		if len(raw) > 0 {
			f.Add(valid, uint8(i+1), raw[:len(raw)-1])
		}
	}
}

var (
	attestationFields = []string{"clientDataJSON", "attestationObject"}
	assertionFields   = []string{"clientDataJSON", "authenticatorData", "signature", "userHandle"}
)

// FuzzFinishRegistration: any bytes as the attestation response (or a valid response with
// arbitrary bytes in one field) never panic, and either
// register the authenticator's credential or fail as malformed or invalid.
func FuzzFinishRegistration(f *testing.F) {
	rp := fuzzRP(f)
	a, err := passkeytest.New()
	if err != nil {
		f.Fatal(err)
	}
	opts, session, err := rp.BeginRegistration(alice, nil)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := a.Register(opts, honest)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := rp.FinishRegistration(alice, session, valid); err != nil {
		f.Fatalf("the honest seed does not register: %v", err)
	}
	var more [][]byte
	for _, c := range []passkeytest.Ceremony{
		{Origin: "https://evil.example.net", RPID: "example.com", UP: true, UV: true},
		{Origin: origin, RPID: "evil.example.net", UP: true, UV: true},
		{Origin: origin, RPID: "example.com"},
	} {
		r, err := a.Register(opts, c)
		if err != nil {
			f.Fatal(err)
		}
		more = append(more, r)
	}
	addSeeds(f, attestationFields, valid, more...)
	f.Fuzz(func(t *testing.T, response []byte, field uint8, value []byte) {
		cred, err := rp.FinishRegistration(alice, session, splice(response, attestationFields, field, value))
		if err != nil {
			checkPasskeyError(t, err)
			return
		}
		// Only the authenticator that answered this session can have produced it.
		if !bytes.Equal(cred.ID, a.CredentialID) || len(cred.Record) == 0 {
			t.Fatalf("registered credential %x, the authenticator holds %x", cred.ID, a.CredentialID)
		}
	})
}

// FuzzFinishLogin: any bytes as the assertion response (or a valid response with arbitrary
// bytes in one field) never panic, and either verify as the
// user's own credential or fail as malformed or invalid.
func FuzzFinishLogin(f *testing.F) {
	rp := fuzzRP(f)
	a, err := passkeytest.New()
	if err != nil {
		f.Fatal(err)
	}
	opts, session, err := rp.BeginRegistration(alice, nil)
	if err != nil {
		f.Fatal(err)
	}
	reg, err := a.Register(opts, honest)
	if err != nil {
		f.Fatal(err)
	}
	cred, err := rp.FinishRegistration(alice, session, reg)
	if err != nil {
		f.Fatal(err)
	}
	factor := mfa.Factor{ID: "f-alice", Type: mfa.TypeWebAuthn, CredentialID: cred.ID, Credential: cred.Record, SignCount: cred.SignCount}
	factors := []mfa.Factor{factor}

	opts, session, err = rp.BeginLogin(alice, factors, "preferred")
	if err != nil {
		f.Fatal(err)
	}
	valid, err := a.Assert(opts, honest, alice.Handle)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := rp.FinishLogin(alice, session, factors, valid); err != nil {
		f.Fatalf("the honest seed does not verify: %v", err)
	}
	other, err := passkeytest.New()
	if err != nil {
		f.Fatal(err)
	}
	var more [][]byte
	for _, r := range []func() ([]byte, error){
		func() ([]byte, error) { return other.Assert(opts, honest, alice.Handle) },
		func() ([]byte, error) { return a.Assert(opts, honest, bob.Handle) },
		func() ([]byte, error) {
			return a.Assert(opts, passkeytest.Ceremony{Origin: origin, RPID: "example.com"}, alice.Handle)
		},
		func() ([]byte, error) { return a.Register(opts, honest) },
	} {
		b, err := r()
		if err != nil {
			f.Fatal(err)
		}
		more = append(more, b)
	}
	addSeeds(f, assertionFields, valid, more...)
	f.Fuzz(func(t *testing.T, response []byte, field uint8, value []byte) {
		got, err := rp.FinishLogin(alice, session, factors, splice(response, assertionFields, field, value))
		if err != nil {
			checkPasskeyError(t, err)
			return
		}
		if !bytes.Equal(got.CredentialID, factor.CredentialID) {
			t.Fatalf("verified as credential %x, alice holds %x", got.CredentialID, factor.CredentialID)
		}
	})
}
