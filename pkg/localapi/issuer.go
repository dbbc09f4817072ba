package localapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// TokenRequest is the body of POST /local/token and the input of IssueToken.
type TokenRequest struct {
	Sub           string `json:"sub"`
	Scope         string `json:"scope,omitempty"` // space-separated, as in OAuth
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Locale        string `json:"locale,omitempty"` // the OpenID Connect locale claim, e.g. de-DE
}

// devIssuer signs and verifies the local stack's access tokens.
type devIssuer struct {
	key      *ecdsa.PrivateKey
	kid      string
	issuer   string
	audience string
	jwks     []byte // the public JWKS, marshalled once
}

var (
	errUnknownKey  = errors.New("the token was not signed by a known key")
	errBadAudience = errors.New("the token does not have a valid audience")
)

func newDevIssuer(issuer, audience string) (*devIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("localapi: dev signing key: %w", err)
	}
	// The RFC 7638 thumbprint makes the kid stable for the key and unique across runs.
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("localapi: dev key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig",
	}}})
	if err != nil {
		return nil, fmt.Errorf("localapi: dev JWKS: %w", err)
	}
	return &devIssuer{key: key, kid: kid, issuer: issuer, audience: audience, jwks: jwks}, nil
}

// IssueToken signs a dev access token for c, valid for ttl from Options.Now.
func (g *Gateway) IssueToken(c TokenRequest, ttl time.Duration) (string, error) {
	if strings.TrimSpace(c.Sub) == "" {
		return "", errors.New("localapi: token needs a sub")
	}
	if ttl <= 0 {
		return "", errors.New("localapi: token ttl must be positive")
	}
	return g.issuer.sign(g.issuer.claims(c, g.now(), ttl))
}

func (d *devIssuer) claims(c TokenRequest, now time.Time, ttl time.Duration) jwt.MapClaims {
	claims := jwt.MapClaims{
		"iss":       d.issuer,
		"sub":       c.Sub,
		"aud":       d.audience,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       newJTI(),
		"token_use": "access",
	}
	if c.Scope != "" {
		claims["scope"] = c.Scope
	}
	if c.Email != "" {
		claims["email"] = c.Email
	}
	if c.EmailVerified != nil {
		claims["email_verified"] = *c.EmailVerified
	}
	if c.Locale != "" {
		claims["locale"] = c.Locale
	}
	return claims
}

func (d *devIssuer) sign(claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = d.kid
	return t.SignedString(d.key)
}

// verify checks a token the way API Gateway's JWT authorizer does: kid, ES256 only,
// signature, iss, aud (or client_id when aud is absent), exp required, nbf and iat not
// in the future. Numbers stay json.Number so claims can be rendered without exponents.
func (d *devIssuer) verify(raw string, now time.Time) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(d.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithJSONNumber(),
	).ParseWithClaims(raw, claims, d.keyFor)
	if err != nil {
		return nil, err
	}
	if !audienceMatches(claims, d.audience) {
		return nil, errBadAudience
	}
	return claims, nil
}

func (d *devIssuer) keyFor(t *jwt.Token) (any, error) {
	// WithValidMethods already pins ES256; this keeps the key from ever being used
	// with another method if that option is dropped.
	if _, ok := t.Method.(*jwt.SigningMethodECDSA); !ok {
		return nil, errUnknownKey
	}
	if kid, _ := t.Header["kid"].(string); kid != d.kid {
		return nil, errUnknownKey
	}
	return &d.key.PublicKey, nil
}

// audienceMatches follows API Gateway: aud must contain want; client_id is consulted
// only when aud is absent.
func audienceMatches(c jwt.MapClaims, want string) bool {
	if _, ok := c["aud"]; ok {
		aud, err := c.GetAudience()
		return err == nil && slices.Contains(aud, want)
	}
	clientID, _ := c["client_id"].(string)
	return clientID == want
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
