// Package passkeytest is a software FIDO2 authenticator for tests: enough of CTAP2 to produce
// the attestation and assertion responses a browser would hand over, with every field (origin,
// RP ID, user presence and verification, counter) under the test's control.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/fxamacker/cbor/v2"
)

var b64 = base64.RawURLEncoding

// Authenticator holds one credential.
type Authenticator struct {
	Key          *ecdsa.PrivateKey
	CredentialID []byte
	Count        uint32 // raised before every assertion
}

// New makes an authenticator with a fresh P-256 credential.
func New() (*Authenticator, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Authenticator{Key: k, CredentialID: id}, nil
}

// Ceremony is what the client and authenticator put in a response.
type Ceremony struct {
	Origin string
	RPID   string
	UP, UV bool
}

// Honest is a ceremony on origin for rpID with presence and verification.
func Honest(origin, rpID string) Ceremony {
	return Ceremony{Origin: origin, RPID: rpID, UP: true, UV: true}
}

// ChallengeOf reads the challenge of creation or assertion options ({"publicKey": …}).
func ChallengeOf(options json.RawMessage) (string, error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		return "", errors.New("passkeytest: options without a challenge")
	}
	return o.PublicKey.Challenge, nil
}

// UserHandleOf reads the user handle of creation options ({"publicKey": {"user": {"id": …}}}):
// what an authenticator returns with its assertions.
func UserHandleOf(options json.RawMessage) ([]byte, error) {
	var o struct {
		PublicKey struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.User.ID == "" {
		return nil, errors.New("passkeytest: options without a user handle")
	}
	return b64.DecodeString(o.PublicKey.User.ID)
}

func (a *Authenticator) authData(c Ceremony, attested bool) ([]byte, error) {
	rp := sha256.Sum256([]byte(c.RPID))
	flags := byte(0)
	if c.UP {
		flags |= 0x01
	}
	if c.UV {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.CredentialID)))
		out = append(out, a.CredentialID...)
		ek, err := a.Key.PublicKey.ECDH()
		if err != nil {
			return nil, err
		}
		pt := ek.Bytes()
		cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
		if err != nil {
			return nil, err
		}
		out = append(out, cose...)
	}
	return out, nil
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// Register answers creation options with a "none" attestation, as RegistrationResponseJSON.
func (a *Authenticator) Register(options json.RawMessage, c Ceremony) ([]byte, error) {
	challenge, err := ChallengeOf(options)
	if err != nil {
		return nil, err
	}
	ad, err := a.authData(c, true)
	if err != nil {
		return nil, err
	}
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData("webauthn.create", challenge, c.Origin)), "attestationObject": b64.EncodeToString(att)},
	})
}

// Assert answers assertion options, as AuthenticationResponseJSON.
func (a *Authenticator) Assert(options json.RawMessage, c Ceremony, userHandle []byte) ([]byte, error) {
	challenge, err := ChallengeOf(options)
	if err != nil {
		return nil, err
	}
	a.Count++
	cd := clientData("webauthn.get", challenge, c.Origin)
	ad, err := a.authData(c, false)
	if err != nil {
		return nil, err
	}
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(userHandle),
		},
	})
}
