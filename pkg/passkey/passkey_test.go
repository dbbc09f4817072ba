package passkey_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/passkey"
	"github.com/mfa-service/mfa/pkg/passkey/passkeytest"
)

const origin = "https://app.example.com"

var b64 = base64.RawURLEncoding

// authenticator wraps passkeytest's software authenticator for terse tests.
type authenticator struct{ *passkeytest.Authenticator }

func newAuthenticator(t *testing.T) *authenticator {
	a, err := passkeytest.New()
	if err != nil {
		t.Fatal(err)
	}
	return &authenticator{a}
}

type ceremony = passkeytest.Ceremony

var honest = passkeytest.Honest(origin, "example.com")

func (a *authenticator) register(t *testing.T, options json.RawMessage, c ceremony) []byte {
	t.Helper()
	r, err := a.Register(options, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (a *authenticator) assert(t *testing.T, options json.RawMessage, c ceremony, handle []byte) []byte {
	t.Helper()
	r, err := a.Assert(options, c, handle)
	if err != nil {
		t.Fatal(err)
	}
	return r
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
	if string(f.CredentialID) != string(a.CredentialID) {
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
	if len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(a.CredentialID) || o.PublicKey.RPID != "example.com" {
		t.Fatalf("assertion options: %s", opts)
	}
	got, err := rp.FinishLogin(alice, session, []mfa.Factor{f}, a.assert(t, opts, honest, alice.Handle))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if got.SignCount != 1 || !got.UserVerified || string(got.CredentialID) != string(a.CredentialID) {
		t.Fatalf("assertion %+v", got)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	rp := newRP(t)
	for name, c := range map[string]ceremony{
		"another origin":   {Origin: "https://evil.example.net", RPID: "example.com", UP: true, UV: true},
		"another RP ID":    {Origin: origin, RPID: "evil.example.net", UP: true, UV: true},
		"no user presence": {Origin: origin, RPID: "example.com", UP: false, UV: true},
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
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{Origin: "https://evil.example.net", RPID: "example.com", UP: true, UV: true}, alice.Handle))
			return err
		},
		"another RP ID hash": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{Origin: origin, RPID: "evil.example.net", UP: true, UV: true}, alice.Handle))
			return err
		},
		"no user presence": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "preferred")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{Origin: origin, RPID: "example.com", UP: false, UV: true}, alice.Handle))
			return err
		},
		"user verification required but missing": func() error {
			opts, s, _ := rp.BeginLogin(alice, []mfa.Factor{f}, "required")
			_, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{Origin: origin, RPID: "example.com", UP: true, UV: false}, alice.Handle))
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
	got, err := rp.FinishLogin(alice, s, []mfa.Factor{f}, a.assert(t, opts, ceremony{Origin: origin, RPID: "example.com", UP: true}, alice.Handle))
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
