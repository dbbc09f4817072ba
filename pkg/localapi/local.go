package localapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

const (
	localPrefix     = "/local/"
	devTokenTTL     = time.Hour
	maxTokenBody    = 64 << 10
	tokenPath       = localPrefix + "token"
	jwksPath        = localPrefix + "jwks.json"
	outboxPath      = localPrefix + "outbox"
	tokenTypeBearer = "Bearer"
)

// localEndpoint returns the handler for one of the local stack's own endpoints and the
// route key to log, or nil when the path is not one of them.
func (g *Gateway) localEndpoint(path string) (http.HandlerFunc, string) {
	switch path {
	case tokenPath:
		return onlyMethod(http.MethodPost, g.serveToken), "POST " + tokenPath
	case jwksPath:
		return onlyMethod(http.MethodGet, g.serveJWKS), "GET " + jwksPath
	case outboxPath:
		return onlyMethod(http.MethodGet, g.serveOutbox), "GET " + outboxPath
	case eventsPath:
		return onlyMethod(http.MethodGet, g.serveEvents), "GET " + eventsPath
	}
	return nil, ""
}

func onlyMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		h(w, r)
	}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// serveToken issues a dev access token. The body is decoded strictly so that a typo
// such as "scopes" fails loudly instead of yielding a token without the scope.
func (g *Gateway) serveToken(w http.ResponseWriter, r *http.Request) {
	req, err := decodeTokenRequest(http.MaxBytesReader(w, r.Body, maxTokenBody))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeOAuthError(w, status, err.Error())
		return
	}
	tok, err := g.IssueToken(req, devTokenTTL)
	if err != nil {
		g.log.LogAttrs(r.Context(), slog.LevelError, "issue dev token", slog.String("error", err.Error()))
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: tokenTypeBearer, ExpiresIn: int(devTokenTTL.Seconds())})
}

func decodeTokenRequest(body io.Reader) (TokenRequest, error) {
	var req TokenRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errors.New("body must hold exactly one JSON object")
	}
	if strings.TrimSpace(req.Sub) == "" {
		return req, errors.New("sub is required")
	}
	return req, nil
}

func writeOAuthError(w http.ResponseWriter, status int, desc string) {
	writeJSON(w, status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"invalid_request", desc})
}

func (g *Gateway) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(g.issuer.jwks)
}

// serveOutbox lists sent messages; an empty outbox is [] so clients can iterate it.
func (g *Gateway) serveOutbox(w http.ResponseWriter, r *http.Request) {
	msgs := []Message{}
	if g.outbox != nil {
		got, err := g.outbox(r.Context())
		if err != nil {
			g.log.LogAttrs(r.Context(), slog.LevelError, "read outbox", slog.String("error", err.Error()))
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		if got != nil {
			msgs = got
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Messages []Message `json:"messages"`
	}{msgs})
}
