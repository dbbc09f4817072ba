// Package token signs and checks the mfaToken: an ES256 JWT whose private key is generated
// once, stored sealed under the KMS-wrapped data key, and never leaves the service. Keys have
// generations; the newest signs, and the JWKS publishes it with the one before, so a rotation
// never invalidates a token still in flight.
package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// StoredKey is one signing key generation as stored: the public JWK in clear, the private key
// sealed with ("signing-key", kid) as associated data.
type StoredKey struct {
	Generation    int
	KID           string
	PublicJWK     []byte
	SealedPrivate []byte
	CreatedAt     time.Time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// LoadSigningKeys returns every generation, newest first.
	LoadSigningKeys(ctx context.Context) ([]StoredKey, error)
	// CreateSigningKey stores a generation unless it exists; created=false means another won.
	CreateSigningKey(ctx context.Context, k StoredKey) (created bool, err error)
}

// Sealer seals the private key.
type Sealer interface {
	Seal(plaintext []byte, associated ...string) ([]byte, error)
	Open(sealed []byte, associated ...string) ([]byte, error)
}

// Config names the tokens this service issues.
type Config struct {
	Issuer   string
	Audience string
	TTL      time.Duration // at most 10 minutes (DESIGN §4)
	Now      func() time.Time
}

// MaxTTL is the longest an mfaToken may live.
const MaxTTL = 10 * time.Minute

// published is how many generations the JWKS carries.
const published = 2

// Signer issues mfaTokens with the newest key and verifies them against published keys.
type Signer struct {
	cfg     Config
	kid     string
	private *ecdsa.PrivateKey
	public  map[string]*ecdsa.PublicKey
	jwks    []byte
	header  string // the JWS header of every token it signs, encoded (issue.go)
}

// Load reads the signing keys, generating the first one on first use.
func Load(ctx context.Context, store KeyStore, sealer Sealer, cfg Config) (*Signer, error) {
	if cfg.TTL <= 0 || cfg.TTL > MaxTTL {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := store.LoadSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: load keys: %w", err)
	}
	if len(keys) == 0 {
		if _, err := createGeneration(ctx, store, sealer, 1, cfg.Now()); err != nil {
			return nil, err
		}
		if keys, err = store.LoadSigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("token: reload keys: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("token: no signing key after creating one")
		}
	}
	newest := keys[0]
	der, err := sealer.Open(newest.SealedPrivate, "signing-key", newest.KID)
	if err != nil {
		return nil, fmt.Errorf("token: open signing key: %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: parse signing key: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("token: signing key is not ECDSA")
	}
	s := &Signer{cfg: cfg, kid: newest.KID, private: priv, public: map[string]*ecdsa.PublicKey{}, header: encodedHeader(newest.KID)}
	if s.jwks, s.public, err = publicKeys(keys); err != nil {
		return nil, err
	}
	return s, nil
}

// Rotate adds a new generation; containers sign with it from their next cold start, and the
// JWKS keeps the previous generation so tokens signed before still verify.
func Rotate(ctx context.Context, store KeyStore, sealer Sealer, now time.Time) (StoredKey, error) {
	keys, err := store.LoadSigningKeys(ctx)
	if err != nil {
		return StoredKey{}, err
	}
	next := 1
	if len(keys) > 0 {
		next = keys[0].Generation + 1
	}
	return createGeneration(ctx, store, sealer, next, now)
}

func createGeneration(ctx context.Context, store KeyStore, sealer Sealer, gen int, now time.Time) (StoredKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return StoredKey{}, err
	}
	jwk, kid, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return StoredKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return StoredKey{}, err
	}
	sealed, err := sealer.Seal(der, "signing-key", kid)
	if err != nil {
		return StoredKey{}, err
	}
	k := StoredKey{Generation: gen, KID: kid, PublicJWK: jwk, SealedPrivate: sealed, CreatedAt: now.UTC()}
	if _, err := store.CreateSigningKey(ctx, k); err != nil {
		return StoredKey{}, fmt.Errorf("token: store signing key: %w", err)
	}
	return k, nil
}

type ecJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// publicJWK encodes a P-256 public key and its RFC 7638 thumbprint, used as the kid.
func publicJWK(pub *ecdsa.PublicKey) ([]byte, string, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return nil, "", err
	}
	point := ek.Bytes() // 0x04 ‖ X ‖ Y
	enc := base64.RawURLEncoding
	x, y := enc.EncodeToString(point[1:33]), enc.EncodeToString(point[33:65])
	// RFC 7638: the required members, lexicographic order, no white space.
	thumb := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	kid := enc.EncodeToString(thumb[:])
	b, err := json.Marshal(ecJWK{Kty: "EC", Crv: "P-256", X: x, Y: y, Kid: kid, Use: "sig", Alg: "ES256"})
	return b, kid, err
}

// PublicJWKS builds the JWKS document of the newest published generations.
func PublicJWKS(keys []StoredKey) ([]byte, error) {
	doc, _, err := publicKeys(keys)
	return doc, err
}

func publicKeys(keys []StoredKey) ([]byte, map[string]*ecdsa.PublicKey, error) {
	if len(keys) > published {
		keys = keys[:published]
	}
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	byKID := map[string]*ecdsa.PublicKey{}
	for _, k := range keys {
		var j ecJWK
		if err := json.Unmarshal(k.PublicJWK, &j); err != nil {
			return nil, nil, fmt.Errorf("token: key %s: %w", k.KID, err)
		}
		x, errX := base64.RawURLEncoding.DecodeString(j.X)
		y, errY := base64.RawURLEncoding.DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, nil, fmt.Errorf("token: key %s: bad coordinates", k.KID)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, nil, fmt.Errorf("token: key %s: %w", k.KID, err)
		}
		byKID[k.KID] = pub
		set.Keys = append(set.Keys, k.PublicJWK)
	}
	doc, err := json.Marshal(set)
	return doc, byKID, err
}

// JWKS is the published key set as JSON.
func (s *Signer) JWKS() []byte { return s.jwks }

// Generations is how many keys JWKS publishes.
func (s *Signer) Generations() int { return len(s.public) }

// KID is the id of the key that signs.
func (s *Signer) KID() string { return s.kid }

// ErrInvalid is returned for any token that is not a valid, current mfaToken of this service.
var ErrInvalid = errors.New("token: invalid mfaToken")

// VerifyMFAToken checks an mfaToken issued by this service (signature by a published key,
// ES256 only, issuer, audience, expiry) and returns who it proves and when.
func (s *Signer) VerifyMFAToken(raw string) (mfa.StepUp, error) {
	var claims struct {
		jwt.RegisteredClaims
		AuthTime int64  `json:"auth_time"`
		TokenUse string `json:"token_use"`
	}
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if pub, ok := s.public[kid]; ok {
			return pub, nil
		}
		return nil, ErrInvalid
	},
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.cfg.Now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil || claims.TokenUse != "mfa" || claims.Subject == "" || claims.AuthTime == 0 || claims.ID == "" || len(claims.ID) > 64 {
		return mfa.StepUp{}, ErrInvalid
	}
	return mfa.StepUp{Subject: claims.Subject, AuthTime: time.Unix(claims.AuthTime, 0).UTC(), TokenID: claims.ID, ExpiresAt: claims.ExpiresAt.UTC()}, nil
}
