// Package keyset serves the public JWKS (GET /.well-known/jwks.json): the keys that verify
// the mfaToken, the newest signing generation and the one before it, so a token signed just
// before a rotation still verifies. It needs no KMS call and no data key: the public keys are
// stored in clear, and this package only reads them (pkg/dynamostore/signingkeys).
package keyset

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Published is how many generations the JWKS carries (as package token signs).
const Published = 2

// Refresh bounds how long a published key set may lag a rotation.
const Refresh = time.Minute

// Source reads the public JWKs of the newest generations, newest first.
type Source interface {
	PublicJWKs(ctx context.Context, limit int) ([][]byte, error)
}

// Cache keeps the JWKS document in memory and re-reads it at most once per Refresh. While it
// holds no key it re-reads on every request: the first key may be created (by a signing
// function) after this container started, and a token it signs must verify at once.
type Cache struct {
	Source Source
	Now    func() time.Time // time.Now if nil

	mu   sync.Mutex
	doc  []byte
	keys int
	at   time.Time
}

// Seed starts the cache with a known document of n keys, read at t (by a process that loaded
// the keys anyway).
func (c *Cache) Seed(doc []byte, n int, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.doc, c.keys, c.at = doc, n, t
}

// Get returns the JWKS document. A failed re-read serves the last known set (keys only ever
// get added); with no set known, it fails.
func (c *Cache) Get(ctx context.Context) ([]byte, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.doc != nil && c.keys > 0 && now().Sub(c.at) < Refresh {
		return c.doc, nil
	}
	jwks, err := c.Source.PublicJWKs(ctx, Published)
	if err == nil {
		var doc []byte
		if doc, err = Document(jwks); err == nil {
			c.doc, c.keys, c.at = doc, len(jwks), now()
			return doc, nil
		}
	}
	if c.doc != nil {
		return c.doc, nil
	}
	return nil, err
}

// Document is the JWKS of the given public JWKs, each a JSON object.
func Document(jwks [][]byte) ([]byte, error) {
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for _, k := range jwks {
		var probe map[string]any
		if err := json.Unmarshal(k, &probe); err != nil || probe["kty"] == nil {
			return nil, errors.New("keyset: a stored public key is not a JWK")
		}
		set.Keys = append(set.Keys, k)
	}
	return json.Marshal(set)
}

// Handler answers the JWKS route with the cache's document; when no key set can be read it
// answers 503 problem+json with code "unavailable", as the other functions do.
func Handler(c *Cache, log *slog.Logger) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		reqID := req.RequestContext.RequestID
		if req.RouteKey != "GET /.well-known/jwks.json" {
			return problem(404, "route_not_found", "no such route", reqID), nil
		}
		doc, err := c.Get(ctx)
		if err != nil {
			log.Error("request failed", slog.String("requestId", reqID), slog.String("code", "unavailable"), slog.String("error", err.Error()))
			return problem(503, "unavailable", "keys are not available now", reqID), nil
		}
		log.Info("request", slog.String("route", req.RouteKey), slog.Int("status", 200), slog.String("requestId", reqID))
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
			Body:       string(doc),
		}, nil
	}
}

func problem(status int, code, detail, reqID string) events.APIGatewayV2HTTPResponse {
	body := map[string]any{"type": "urn:mfa:problem:" + code, "title": statusText[status], "status": status, "code": code, "detail": detail}
	if reqID != "" {
		body["instance"] = "urn:request:" + reqID
	}
	raw, _ := json.Marshal(body)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}, Body: string(raw)}
}

// statusText avoids linking net/http's tables for two strings.
var statusText = map[int]string{404: "Not Found", 503: "Service Unavailable"}
