package localapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// authFailure is the authorizer's refusal: 401 or 403 with API Gateway's body and a
// www-authenticate header saying why.
type authFailure struct {
	status int
	header string
}

func (f *authFailure) write(w http.ResponseWriter) {
	w.Header().Set("Www-Authenticate", f.header)
	writeMessage(w, f.status, http.StatusText(f.status))
}

func unauthorized(desc string) *authFailure {
	return &authFailure{
		status: http.StatusUnauthorized,
		header: fmt.Sprintf(`Bearer scope="" error="invalid_token" error_description=%q`, desc),
	}
}

// authorize emulates the HTTP API JWT authorizer for a route that has one.
func (g *Gateway) authorize(r *http.Request, rt *route) (*events.APIGatewayV2HTTPRequestContextAuthorizerDescription, *authFailure) {
	raw := bearerToken(r.Header)
	if raw == "" {
		return nil, &authFailure{status: http.StatusUnauthorized, header: "Bearer"}
	}
	claims, err := g.issuer.verify(raw, g.now())
	if err != nil {
		return nil, unauthorized(describe(err))
	}
	scopes := tokenScopes(claims)
	if len(rt.Scopes) > 0 && !slices.ContainsFunc(rt.Scopes, func(s string) bool { return slices.Contains(scopes, s) }) {
		return nil, &authFailure{
			status: http.StatusForbidden,
			header: fmt.Sprintf(`Bearer scope=%q error="insufficient_scope" error_description="the token does not have a required scope"`,
				strings.Join(rt.Scopes, " ")),
		}
	}
	jwtDesc := &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: flattenClaims(claims)}
	// API Gateway fills scopes only on routes that declare authorization scopes;
	// elsewhere handlers must read the scope claim.
	if len(rt.Scopes) > 0 {
		jwtDesc.Scopes = scopes
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: jwtDesc}, nil
}

// bearerToken reads the identity source $request.header.Authorization. Like API
// Gateway it takes the raw token as well as "Bearer <token>", and joins repeated
// headers, which then fail verification.
func bearerToken(h http.Header) string {
	v := strings.TrimSpace(strings.Join(h.Values("Authorization"), ","))
	if hasPrefixFold(v, "Bearer ") {
		v = strings.TrimSpace(v[len("Bearer "):])
	}
	return v
}

func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token does not have a valid issuer"
	case errors.Is(err, errBadAudience):
		return errBadAudience.Error()
	default:
		return "the token is invalid"
	}
}

// tokenScopes reads the scope claim (space-separated) or, failing that, scp (a list
// or a string), the two claims API Gateway checks.
func tokenScopes(c jwt.MapClaims) []string {
	if s, ok := c["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch scp := c["scp"].(type) {
	case string:
		return strings.Fields(scp)
	case []any:
		var out []string
		for _, v := range scp {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// flattenClaims renders claims as API Gateway does in authorizer.jwt.claims.
func flattenClaims(c jwt.MapClaims) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		if s, ok := claimText(v); ok {
			out[k] = s
		}
	}
	return out
}

// claimText renders one claim: strings as is, numbers in plain decimal, booleans as
// true/false, arrays as "[a b c]" and objects as JSON. Null claims are left out.
func claimText(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return numberText(v), true
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := claimText(e); ok {
				parts = append(parts, s)
			}
		}
		return "[" + strings.Join(parts, " ") + "]", true
	default:
		b, err := json.Marshal(v)
		return string(b), err == nil
	}
}

// numberText writes integers without an exponent (1767225600, not 1.7672256e+09).
func numberText(n json.Number) string {
	if i, err := n.Int64(); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if f, err := n.Float64(); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return n.String()
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
