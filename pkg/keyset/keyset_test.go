package keyset_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/dynamostore/signingkeys"
	"github.com/mfa-service/mfa/pkg/keyset"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/seal"
	"github.com/mfa-service/mfa/pkg/token"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func jwksEvent(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("../../events/jwks-get.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// verifies reports whether the token verifies against the served JWKS, as an app would.
func verifies(t *testing.T, body, raw string) bool {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatalf("jwks %s: %v", body, err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	var claims josejwt.Claims
	return len(keys) == 1 && tok.Claims(keys[0].Key, &claims) == nil
}

// The jwks function's handler, replaying events/jwks-get.json against keys in the table:
// before any key exists it answers an empty set and sees the first key at once; after a
// rotation it serves the new and the previous generation (within the refresh interval), so
// tokens of both verify, and never the private keys.
func TestHandlerServesCurrentAndPreviousGeneration(t *testing.T) {
	ctx := context.Background()
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	store := dynamostore.New(db, table, 0)
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	keyring, err := seal.New(dataKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := now
	cache := &keyset.Cache{Source: signingkeys.Reader{DB: db, Table: table}, Now: func() time.Time { return clock }}
	handle := keyset.Handler(cache, quiet)
	get := func() string {
		t.Helper()
		resp, err := handle(ctx, jwksEvent(t))
		if err != nil || resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/json" {
			t.Fatalf("jwks: %d %v %s", resp.StatusCode, err, resp.Body)
		}
		return resp.Body
	}
	if body := get(); body != `{"keys":[]}` {
		t.Fatalf("no key yet: %s", body)
	}

	cfg := token.Config{Issuer: "mfa-test", Audience: "app", TTL: time.Minute}
	first, err := token.Load(ctx, store, keyring, cfg) // creates generation 1
	if err != nil {
		t.Fatal(err)
	}
	claims := mfa.MFATokenClaims{Subject: "alice", AuthTime: now, AMR: []string{"otp", "mfa"}, FactorType: mfa.TypeTOTP}
	old, err := first.IssueMFAToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(t, get(), old) {
		t.Fatal("a token of the first key does not verify: an empty set must be re-read at once")
	}

	for range 2 { // generations 2 and 3
		if _, err := token.Rotate(ctx, store, keyring, now); err != nil {
			t.Fatal(err)
		}
	}
	second, err := token.Load(ctx, store, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := second.IssueMFAToken(claims)
	clock = now.Add(keyset.Refresh / 2)
	if body := get(); verifies(t, body, fresh) {
		t.Fatal("the set was re-read before the refresh interval")
	}
	clock = now.Add(keyset.Refresh + time.Second)
	body := get()
	if !verifies(t, body, fresh) || verifies(t, body, old) {
		t.Fatalf("after two rotations: want generations 3 and 2 only: %s", body)
	}
	var set struct{ Keys []map[string]any }
	json.Unmarshal([]byte(body), &set)
	if len(set.Keys) != keyset.Published {
		t.Fatalf("%d keys published", len(set.Keys))
	}
	for _, k := range set.Keys {
		if k["d"] != nil || k["kty"] != "EC" {
			t.Fatalf("published key %v", k)
		}
	}
	if string(body) != string(second.JWKS()) {
		t.Errorf("served %s, the signer publishes %s", body, second.JWKS())
	}
}

// The reader makes one Query that returns only the public keys.
func TestReaderProjectsPublicKeys(t *testing.T) {
	ctx := context.Background()
	db := awstest.DB(t)
	table := awstest.NewTable(t)
	store := dynamostore.New(db, table, 0)
	keyring, _ := seal.New(make([]byte, 32))
	if _, err := token.Load(ctx, store, keyring, token.Config{}); err != nil {
		t.Fatal(err)
	}
	keys, err := signingkeys.Reader{DB: db, Table: table}.PublicJWKs(ctx, 5)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	var jwk map[string]any
	if err := json.Unmarshal(keys[0], &jwk); err != nil || jwk["kty"] != "EC" || jwk["d"] != nil {
		t.Fatalf("key %s", keys[0])
	}
}

type failingSource struct {
	keys [][]byte
	err  error
}

func (s *failingSource) PublicJWKs(context.Context, int) ([][]byte, error) { return s.keys, s.err }

// A store outage keeps serving the last known set; with none known, the route answers 503
// problem+json; another route is 404.
func TestOutages(t *testing.T) {
	ctx := context.Background()
	src := &failingSource{err: errors.New("store down")}
	clock := time.Now()
	cache := &keyset.Cache{Source: src, Now: func() time.Time { return clock }}
	handle := keyset.Handler(cache, quiet)
	resp, _ := handle(ctx, jwksEvent(t))
	if resp.StatusCode != 503 || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("no set known: %d %s", resp.StatusCode, resp.Body)
	}
	var p map[string]any
	json.Unmarshal([]byte(resp.Body), &p)
	if p["code"] != "unavailable" || p["status"] != float64(503) {
		t.Fatalf("problem %v", p)
	}
	src.keys, src.err = [][]byte{[]byte(`{"kty":"EC","kid":"k1"}`)}, nil
	if resp, _ = handle(ctx, jwksEvent(t)); resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	src.err = errors.New("store down again")
	clock = clock.Add(2 * keyset.Refresh)
	if resp, _ = handle(ctx, jwksEvent(t)); resp.StatusCode != 200 || resp.Body != `{"keys":[{"kty":"EC","kid":"k1"}]}` {
		t.Fatalf("outage after a set was known: %d %s", resp.StatusCode, resp.Body)
	}
	other := jwksEvent(t)
	other.RouteKey = "GET /other"
	if resp, _ = handle(ctx, other); resp.StatusCode != 404 {
		t.Fatalf("other route: %d", resp.StatusCode)
	}
	if _, err := keyset.Document([][]byte{[]byte(`"not a key"`)}); err == nil {
		t.Fatal("a stored value that is not a JWK must not be published")
	}
}
