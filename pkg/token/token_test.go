package token_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/seal"
	"github.com/mfa-service/mfa/pkg/token"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

type fixture struct {
	store  *dynamostore.Store
	sealer *seal.Keyring
	now    time.Time
	cfg    token.Config
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		store:  dynamostore.New(awstest.DB(t), awstest.NewTable(t), 0),
		sealer: sealer,
		now:    time.Now().Truncate(time.Second),
	}
	f.cfg = token.Config{Issuer: "mfa-test", Audience: "app", TTL: 5 * time.Minute, Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) load(t testing.TB) *token.Signer {
	t.Helper()
	s, err := token.Load(context.Background(), f.store, f.sealer, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var claims = mfa.MFATokenClaims{Subject: "alice", AMR: []string{"otp", "mfa"}, ACR: "mfa", FactorType: mfa.TypeTOTP, FactorID: "f1", OrganizationID: "acme", ChallengeID: "c1"}

// verifyLikeAnApp checks a token with go-jose against the published JWKS, as a relying app would.
func verifyLikeAnApp(t *testing.T, jwks []byte, raw string, now time.Time) (map[string]any, error) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return nil, errors.New("no published key with this kid")
	}
	var std josejwt.Claims
	var all map[string]any
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		return nil, err
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: "mfa-test", AnyAudience: []string{"app"}, Time: now}, 0); err != nil {
		return nil, err
	}
	return all, nil
}

func TestIssuedTokenVerifiesAgainstJWKS(t *testing.T) {
	f := newFixture(t)
	s := f.load(t)
	c := claims
	c.AuthTime = f.now
	raw, err := s.IssueMFAToken(c)
	if err != nil {
		t.Fatal(err)
	}
	all, err := verifyLikeAnApp(t, s.JWKS(), raw, f.now)
	if err != nil {
		t.Fatalf("an app cannot verify the mfaToken: %v", err)
	}
	for k, want := range map[string]any{"sub": "alice", "iss": "mfa-test", "aud": "app", "acr": "mfa", "factor_type": "totp", "org": "acme"} {
		if all[k] != want {
			t.Errorf("claim %s = %v, want %v", k, all[k], want)
		}
	}
	exp, iat := all["exp"].(float64), all["iat"].(float64)
	if exp-iat <= 0 || exp-iat > 600 {
		t.Errorf("lifetime %v s, want (0, 600]", exp-iat)
	}
	if all["jti"] == "" || all["auth_time"].(float64) != float64(f.now.Unix()) {
		t.Errorf("jti/auth_time: %v %v", all["jti"], all["auth_time"])
	}
	if amr, _ := all["amr"].([]any); len(amr) != 2 || amr[0] != "otp" || amr[1] != "mfa" {
		t.Errorf("amr %v", all["amr"])
	}
	su, err := s.VerifyMFAToken(raw)
	if err != nil || su.Subject != "alice" || !su.AuthTime.Equal(f.now) {
		t.Fatalf("own verification: %+v %v", su, err)
	}

	// A later cold start loads the same key: no new generation.
	if again := f.load(t); again.KID() != s.KID() {
		t.Error("a second Load created another key")
	}
	if _, err := verifyLikeAnApp(t, s.JWKS(), raw, f.now.Add(6*time.Minute)); err == nil {
		t.Error("an expired token verified")
	}
}

func TestForgedTokensAreRefused(t *testing.T) {
	f := newFixture(t)
	s := f.load(t)
	c := claims
	c.AuthTime = f.now
	good, _ := s.IssueMFAToken(c)

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(method jwt.SigningMethod, key any, kid string, mutate func(jwt.MapClaims)) string {
		mc := jwt.MapClaims{"iss": "mfa-test", "aud": "app", "sub": "alice", "iat": f.now.Unix(), "exp": f.now.Add(time.Minute).Unix(), "auth_time": f.now.Unix(), "token_use": "mfa"}
		if mutate != nil {
			mutate(mc)
		}
		tk := jwt.NewWithClaims(method, mc)
		tk.Header["kid"] = kid
		out, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	parts := strings.Split(good, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + s.KID() + `"}`))

	cases := map[string]string{
		"signed by another key": sign(jwt.SigningMethodES256, other, s.KID(), nil),
		"alg none":              noneHeader + "." + parts[1] + ".",
		"HS256 with the kid":    sign(jwt.SigningMethodHS256, []byte("secret"), s.KID(), nil),
		"tampered payload":      parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)) + "." + parts[2],
		"expired":               sign(jwt.SigningMethodES256, other, s.KID(), func(m jwt.MapClaims) { m["exp"] = f.now.Add(-time.Minute).Unix() }),
		"garbage":               "not.a.token",
	}
	for name, raw := range cases {
		if _, err := s.VerifyMFAToken(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Another audience or issuer: a signer configured differently refuses this service's token.
	f.cfg.Audience = "other-app"
	if _, err := f.load(t).VerifyMFAToken(good); err == nil {
		t.Error("wrong audience accepted")
	}
	f.cfg.Audience, f.cfg.Issuer = "app", "someone-else"
	if _, err := f.load(t).VerifyMFAToken(good); err == nil {
		t.Error("wrong issuer accepted")
	}
	// Expiry through the service's own clock.
	f.cfg.Issuer = "mfa-test"
	f.now = f.now.Add(10 * time.Minute)
	if _, err := f.load(t).VerifyMFAToken(good); err == nil {
		t.Error("expired token accepted")
	}
}

func TestRotationKeepsPreviousKeyPublished(t *testing.T) {
	f := newFixture(t)
	old := f.load(t)
	c := claims
	c.AuthTime = f.now
	oldToken, _ := old.IssueMFAToken(c)

	rotated, err := token.Rotate(context.Background(), f.store, f.sealer, f.now)
	if err != nil {
		t.Fatal(err)
	}
	s := f.load(t)
	if s.KID() != rotated.KID || s.KID() == old.KID() {
		t.Fatalf("after rotation the signer uses %s, want the new %s", s.KID(), rotated.KID)
	}
	newToken, _ := s.IssueMFAToken(c)
	for name, raw := range map[string]string{"old": oldToken, "new": newToken} {
		if _, err := verifyLikeAnApp(t, s.JWKS(), raw, f.now); err != nil {
			t.Errorf("%s token does not verify with the published set: %v", name, err)
		}
		if _, err := s.VerifyMFAToken(raw); err != nil {
			t.Errorf("%s token refused as step-up: %v", name, err)
		}
	}
	// A second rotation retires the first key from the published set.
	if _, err := token.Rotate(context.Background(), f.store, f.sealer, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyLikeAnApp(t, f.load(t).JWKS(), oldToken, f.now); err == nil {
		t.Error("a key two generations old is still published")
	}
}
