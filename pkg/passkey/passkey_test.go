package passkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/passkey"
)

const origin = "https://app.example.com"

var b64 = base64.RawURLEncoding

// authenticator is a software FIDO2 authenticator: enough of CTAP2 to produce the attestation
// and assertion responses a browser would hand over, with every field under the test's control.
type authenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	count  uint32
}

func newAuthenticator(t *testing.T) *authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &authenticator{key: k, credID: id}
}

type ceremony struct {
	origin string
	rpID   string
	up, uv bool
}

var honest = ceremony{origin: origin, rpID: "example.com", up: true, uv: true}

func challengeOf(t *testing.T, options json.RawMessage) string {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options without a challenge: %s", options)
	}
	return o.PublicKey.Challenge
}

func (a *authenticator) authData(c ceremony, attested bool) []byte {
	rp := sha256.Sum256([]byte(c.rpID))
	flags := byte(0)
	if c.up {
		flags |= 0x01
	}
	if c.uv {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		ek, _ := a.key.PublicKey.ECDH()
		pt := ek.Bytes()
		cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
		out = append(out, cose...)
	}
	return out
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func (a *authenticator) register(t *testing.T, options json.RawMessage, c ceremony) []byte {
	t.Helper()
	cd := clientData("webauthn.create", challengeOf(t, options), c.origin)
	att, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(c, true)})
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att)},
	})
	return resp
}

func (a *authenticator) assert(t *testing.T, options json.RawMessage, c ceremony, handle []byte) []byte {
	t.Helper()
	a.count++
	cd := clientData("webauthn.get", challengeOf(t, options), c.origin)
	ad := a.authData(c, false)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(handle),
		},
	})
	return resp
}

func newRP(t *testing.T) *passkey.Ceremonies {
	t.Helper()
	rp, err := passkey.New(passkey.Config{RPID: "example.com", RPName: "Example", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

var alice = mfa.PasskeyUser{Handle: []byte("handle-of-alice-0123456789abcdef"), Name: "alice", DisplayName: "Alice"}
var bob = mfa.PasskeyUser{Handle: []byte("handle-of-bob-0123456789abcdefgh"), Name: "bob", DisplayName: "Bob"}

// enroll registers a's credential for u and returns it as the domain stores it.
func enroll(t *testing.T, rp *passkey.Ceremonies, a *authenticator, u mfa.PasskeyUser) mfa.Factor {
	t.Helper()
	opts, session, err := rp.BeginRegistration(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := rp.FinishRegistration(u, session, a.register(t, opts, honest))
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	return mfa.Factor{ID: "f-" + u.Name, Type: mfa.TypeWebAuthn, CredentialID: cred.ID, Credential: cred.Record, SignCount: cred.SignCount}
}

func TestRegisterAndLogin(t *testing.T) {
	rp := newRP(t)
	a := newAuthenticator(t)
	f := enroll(t, rp, a, alice)
	if string(f.CredentialID) != string(a.credID) {
		t.Fatal("credential id not kept")
	}
	opts, session, err := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			AllowCredentials []struct{ ID string } `json:"allowCredentials"`
			RPID             string                `json:"rpId"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(opts, &o)
	if len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(a.credID) || o.PublicKey.RPID != "example.com" {
		t.Fatalf("assertion options: %s", opts)
	}
	got, err := rp.FinishLogin(alice, session, []mfa.Factor{f}, a.assert(t, opts, honest, alice.Handle))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if got.SignCount != 1 || !got.UserVerified || string(got.CredentialID) != string(a.credID) {
		t.Fatalf("assertion %+v", got)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	rp := newRP(t)
	for name, c := range map[string]ceremony{
		"another origin":   {origin: "https://evil.example.net", rpID: "example.com", up: true, uv: true},
		"another RP ID":    {origin: origin, rpID: "evil.example.net", up: true, uv: true},
		"no user presence": {origin: origin, rpID: "example.com", up: false, uv: true},
	} {
		opts, session, _ := rp.BeginRegistration(alice, nil)
		if _, err := rp.FinishRegistration(alice, session, newAuthenticator(t).register(t, opts, c)); !errors.Is(err, mfa.ErrPasskeyInvalid) {
			t.Errorf("%s: %v, want ErrPasskeyInvalid", name, err)
		}
	}
	_, session, _ := rp.BeginRegistration(alice, nil)
	if _, err := rp.FinishRegistration(alice, session, []byte(`{"id":"x"}`)); !errors.Is(err, mfa.ErrPasskeyMalformed) {
		t.Errorf("malformed: %v", err)
	}
}

func TestLoginRefusals(t *testing.T) {
	rp := newRP(t)
	a := newAuthenticator(t)
	f := enroll(t, rp, a, alice)
	b := newAuthenticator(t)
	bf := enroll(t, rp, b, bob)

	cases := map[string]func() error{
		"another origin": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{origin: "https://evil.example.net", rpID: "example.com", up: true, uv: true}, alice.Handle))
			return err
		},
		"another RP ID hash": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{origin: origin, rpID: "evil.example.net", up: true, uv: true}, alice.Handle))
			return err
		},
		"no user presence": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{origin: origin, rpID: "example.com", up: false, uv: true}, alice.Handle))
			return err
		},
		"user verification required but missing": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "required")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{origin: origin, rpID: "example.com", up: true, uv: false}, alice.Handle))
			return err
		},
		"assertion for another session (replayed challenge)": func() error {
			opts, _, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, other, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, other, []mfa.Factor{f}, a.assert(t, opts, honest, alice.Handle))
			return err
		},
		"another user's credential": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, b.assert(t, opts, honest, bob.Handle))
			return err
		},
		"alice's credential for bob's session": func() error {
			opts, s, _ := rp.BeginLogin(bob, []mfa.Factor{bf}, "preferred")
			_, err := rp.FinishLogin(bob, s, []mfa.Factor{bf}, a.assert(t, opts, honest, alice.Handle))
			return err
		},
		"expired session": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			var sd map[string]any
			_ = json.Unmarshal(s, &sd)
			sd["expires"] = time.Now().Add(-time.Minute).Format(time.RFC3339Nano)
			s, _ = json.Marshal(sd)
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, honest, alice.Handle))
			return err
		},
	}
	for name, run := range cases {
		if err := run(); !errors.Is(err, mfa.ErrPasskeyInvalid) {
			t.Errorf("%s: %v, want ErrPasskeyInvalid", name, err)
		}
	}
	// User verification preferred: an assertion without UV passes and says so.
	opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
	got, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{origin: origin, rpID: "example.com", up: true}, alice.Handle))
	if err != nil || got.UserVerified {
		t.Fatalf("preferred UV without UV: %+v %v", got, err)
	}
	_, s, _ = rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
	if _, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, []byte(`not json`)); !errors.Is(err, mfa.ErrPasskeyMalformed) {
		t.Fatalf("malformed: %v", err)
	}
}

func TestConfigRequiresRPAndOrigins(t *testing.T) {
	if _, err := passkey.New(passkey.Config{RPID: "example.com"}); err == nil {
		t.Error("no origins accepted")
	}
	if got := passkey.ParseOrigins(" https://a.example.com, ,https://b.example.com "); len(got) != 2 || got[1] != "https://b.example.com" {
		t.Errorf("ParseOrigins = %v", got)
	}
}
