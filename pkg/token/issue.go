package token

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// mfaClaims is the mfaToken's payload. A struct, not a claims map: every successful
// verification signs one, and a map costs a sort and reflection per claim; it is encoded by
// hand (claims.go) in the order and form json.Marshal gives it.
type mfaClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    string   `json:"aud"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	Expires     int64    `json:"exp"`
	AuthTime    int64    `json:"auth_time"`
	ID          string   `json:"jti"`
	AMR         []string `json:"amr"`
	ACR         string   `json:"acr"`
	FactorType  string   `json:"factor_type"`
	FactorID    string   `json:"factor_id"`
	TokenUse    string   `json:"token_use"`
	Org         string   `json:"org,omitempty"`
	ChallengeID string   `json:"cid,omitempty"`
}

var b64 = base64.RawURLEncoding

// encodedHeader is the JWS protected header of the tokens signed with key kid, encoded once
// per cold start.
func encodedHeader(kid string) string {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", kid, "JWT"}) // cannot fail: three strings
	return b64.EncodeToString(h)
}

// IssueMFAToken signs an mfaToken: an ES256 JWS in compact form (RFC 7515, 7518 §3.4),
// header.payload.signature, the signature R ‖ S of 32 bytes each.
func (s *Signer) IssueMFAToken(c mfa.MFATokenClaims) (string, error) {
	now := s.cfg.Now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := mfaClaims{
		Issuer: s.cfg.Issuer, Subject: c.Subject, Audience: s.cfg.Audience,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expires: now.Add(s.cfg.TTL).Unix(), AuthTime: c.AuthTime.Unix(),
		ID: b64.EncodeToString(jti[:]), AMR: c.AMR, ACR: c.ACR, FactorType: string(c.FactorType), FactorID: c.FactorID,
		TokenUse: "mfa", Org: c.OrganizationID, ChallengeID: c.ChallengeID,
	}
	var buf [512]byte
	payload := claims.appendJSON(buf[:0])
	out := make([]byte, 0, len(s.header)+2+b64.EncodedLen(len(payload))+b64.EncodedLen(64))
	out = append(out, s.header...)
	out = append(out, '.')
	out = b64.AppendEncode(out, payload)
	digest := sha256.Sum256(out)
	r, sv, err := ecdsa.Sign(rand.Reader, s.private, digest[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	out = append(out, '.')
	out = b64.AppendEncode(out, sig[:])
	return string(out), nil
}
