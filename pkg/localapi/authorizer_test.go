package localapi

import (
	"crypto/x509"
	"encoding/pem"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAuthorizer(t *testing.T) {
	t.Parallel()
	with := func(change func(jwt.MapClaims)) func(*testing.T, *testStack) []string {
		return func(t *testing.T, s *testStack) []string {
			c := s.claims()
			change(c)
			return bearer(s.signDev(t, c))
		}
	}
	publicDER := func(s *testStack) []byte {
		der, err := x509.MarshalPKIXPublicKey(&s.g.issuer.key.PublicKey)
		if err != nil {
			panic(err)
		}
		return der
	}
	hs256 := func(secret func(*testStack) []byte) func(*testing.T, *testStack) []string {
		return func(t *testing.T, s *testStack) []string {
			return bearer(sign(t, jwt.SigningMethodHS256, secret(s), s.g.issuer.kid, s.claims()))
		}
	}
	tests := []struct {
		name   string
		path   string
		header func(*testing.T, *testStack) []string
		want   int
	}{
		// Refusals: the handler must never run.
		{"no token", "", func(*testing.T, *testStack) []string { return nil }, 401},
		{"empty bearer", "", func(*testing.T, *testStack) []string { return []string{"Authorization", "Bearer "} }, 401},
		{"garbage", "", func(*testing.T, *testStack) []string { return bearer("not.a.jwt") }, 401},
		{"wrong key same kid", "", func(t *testing.T, s *testStack) []string {
			return bearer(sign(t, jwt.SigningMethodES256, otherKey(t), s.g.issuer.kid, s.claims()))
		}, 401},
		{"unknown kid", "", func(t *testing.T, s *testStack) []string {
			return bearer(sign(t, jwt.SigningMethodES256, s.g.issuer.key, "other", s.claims()))
		}, 401},
		{"no kid", "", func(t *testing.T, s *testStack) []string {
			return bearer(sign(t, jwt.SigningMethodES256, s.g.issuer.key, "", s.claims()))
		}, 401},
		{"wrong iss", "", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), 401},
		{"missing iss", "", with(func(c jwt.MapClaims) { delete(c, "iss") }), 401},
		{"wrong aud", "", with(func(c jwt.MapClaims) { c["aud"] = "someone-else" }), 401},
		{"aud list without ours", "", with(func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} }), 401},
		{"client_id ignored when aud present", "", with(func(c jwt.MapClaims) { c["aud"] = "x"; c["client_id"] = testAudience }), 401},
		{"expired", "", with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Minute).Unix() }), 401},
		{"no exp", "", with(func(c jwt.MapClaims) { delete(c, "exp") }), 401},
		{"nbf in future", "", with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() }), 401},
		{"iat in future", "", with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(time.Minute).Unix() }), 401},
		{"alg none", "", func(t *testing.T, s *testStack) []string {
			return bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.g.issuer.kid, s.claims()))
		}, 401},
		{"HS256 keyed with public key DER", "", hs256(publicDER), 401},
		{"HS256 keyed with public key PEM", "", hs256(func(s *testStack) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER(s)})
		}), 401},
		{"HS256 keyed with the JWKS", "", hs256(func(s *testStack) []byte { return s.g.issuer.jwks }), 401},
		{"two authorization headers", "", func(t *testing.T, s *testStack) []string {
			tok := s.signDev(t, s.claims())
			return []string{"Authorization", "Bearer " + tok, "Authorization", "Bearer " + tok}
		}, 401},
		{"scoped route, no scope", "/v1/admin/users/u1", with(func(jwt.MapClaims) {}), 403},
		{"scoped route, other scope", "/v1/admin/users/u1", with(func(c jwt.MapClaims) { c["scope"] = "mfa/service openid" }), 403},
		{"scoped route, scope as substring", "/v1/admin/users/u1", with(func(c jwt.MapClaims) { c["scope"] = "mfa/administrator" }), 403},

		// Acceptances.
		{"valid", "", with(func(jwt.MapClaims) {}), 200},
		{"raw token without Bearer", "", func(t *testing.T, s *testStack) []string {
			return []string{"Authorization", s.signDev(t, s.claims())}
		}, 200},
		{"lower-case bearer", "", func(t *testing.T, s *testStack) []string {
			return []string{"Authorization", "bearer " + s.signDev(t, s.claims())}
		}, 200},
		{"aud list with ours", "", with(func(c jwt.MapClaims) { c["aud"] = []string{"x", testAudience} }), 200},
		{"client_id when aud absent", "", with(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = testAudience }), 200},
		{"expired within clock skew", "", with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-2 * time.Second).Unix() }), 200},
		{"scoped route, one of the scopes", "/v1/admin/users/u1", with(func(c jwt.MapClaims) { c["scope"] = "openid mfa/support" }), 200},
		{"scoped route, scp list", "/v1/admin/users/u1", with(func(c jwt.MapClaims) { c["scp"] = []string{"mfa/admin"} }), 200},
		{"dev token from IssueToken", "/v1/admin/users/u1", func(t *testing.T, s *testStack) []string {
			return bearer(s.token(t, TokenRequest{Sub: "admin-1", Scope: "mfa/admin"}))
		}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			path, fn := "/v1/users/u1/factors/f1", s.funcs["Factor"]
			if tc.path != "" {
				path, fn = tc.path, s.funcs["Admin"]
			}
			rec := s.do(newRequest(http.MethodGet, path, nil, tc.header(t, s)...))

			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusOK {
				fn.only(t)
				return
			}
			if fn.calls() != 0 {
				t.Fatal("handler was called for a refused request")
			}
			wantBody := `{"message":"Unauthorized"}`
			if tc.want == http.StatusForbidden {
				wantBody = `{"message":"Forbidden"}`
			}
			if rec.Body.String() != wantBody || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("body = %s (%s), want %s", rec.Body, rec.Header().Get("Content-Type"), wantBody)
			}
			if !strings.HasPrefix(rec.Header().Get("Www-Authenticate"), "Bearer") {
				t.Errorf("www-authenticate = %q", rec.Header().Get("Www-Authenticate"))
			}
		})
	}
}

func TestNoAuthRouteNeedsNoToken(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	rec := s.do(newRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if ev := s.funcs["Jwks"].only(t); ev.RequestContext.Authorizer != nil {
		t.Errorf("authorizer = %+v, want none on a public route", ev.RequestContext.Authorizer)
	}
}

func TestClaimsFlattening(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c := s.claims()
	c["email_verified"] = true
	c["admin"] = false
	c["groups"] = []string{"a", "b", "c"}
	c["ratio"] = 1.5
	c["big"] = 1.7672256e9
	c["org"] = map[string]any{"id": "o1"}
	c["nothing"] = nil
	s.do(newRequest(http.MethodGet, "/v1/users/u1/factors/f1", nil, bearer(s.signDev(t, c))...))

	got := s.funcs["Factor"].only(t).RequestContext.Authorizer.JWT.Claims
	want := map[string]string{
		"iss":            testIssuer,
		"sub":            "user-1",
		"aud":            testAudience,
		"iat":            "1767222000",
		"nbf":            "1767222000",
		"exp":            "1767225600",
		"email_verified": "true",
		"admin":          "false",
		"groups":         "[a b c]",
		"ratio":          "1.5",
		"big":            "1767225600",
		"org":            `{"id":"o1"}`,
	}
	if !maps.Equal(got, want) {
		t.Errorf("claims =\n%v\nwant\n%v", got, want)
	}
}

func TestScopesInEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		fn     string
		claims func(jwt.MapClaims)
		want   []string
	}{
		{"scope claim on a scoped route", "/v1/admin/users/u1", "Admin", func(c jwt.MapClaims) { c["scope"] = "mfa/admin  openid" }, []string{"mfa/admin", "openid"}},
		{"scp claim on a scoped route", "/v1/admin/users/u1", "Admin", func(c jwt.MapClaims) { c["scp"] = []string{"mfa/support", "x"} }, []string{"mfa/support", "x"}},
		// API Gateway leaves scopes null where the route declares none.
		{"unscoped route", "/v1/users/u1/factors/f1", "Factor", func(c jwt.MapClaims) { c["scope"] = "mfa/service" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c := s.claims()
			tc.claims(c)
			s.do(newRequest(http.MethodGet, tc.path, nil, bearer(s.signDev(t, c))...))
			jwtDesc := s.funcs[tc.fn].only(t).RequestContext.Authorizer.JWT
			if !slices.Equal(jwtDesc.Scopes, tc.want) {
				t.Errorf("scopes = %q, want %q", jwtDesc.Scopes, tc.want)
			}
			if v, ok := c["scope"].(string); ok && jwtDesc.Claims["scope"] != v {
				t.Errorf("scope claim = %q, want %q", jwtDesc.Claims["scope"], v)
			}
		})
	}
}

func TestIssueTokenRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	if _, err := s.g.IssueToken(TokenRequest{Sub: " "}, time.Hour); err == nil {
		t.Error("blank sub: want an error")
	}
	if _, err := s.g.IssueToken(TokenRequest{Sub: "u"}, 0); err == nil {
		t.Error("zero ttl: want an error")
	}
}

func TestIssueTokenClaims(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	yes := true
	tok := s.token(t, TokenRequest{Sub: "u1", Scope: "mfa/service", Email: "a@example.com", EmailVerified: &yes})
	claims, err := s.g.issuer.verify(tok, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got := flattenClaims(claims)
	if got["jti"] == "" {
		t.Error("no jti")
	}
	delete(got, "jti")
	want := map[string]string{
		"iss": testIssuer, "sub": "u1", "aud": testAudience,
		"iat": "1767222000", "nbf": "1767222000", "exp": "1767225600",
		"token_use": "access", "scope": "mfa/service",
		"email": "a@example.com", "email_verified": "true",
	}
	if !maps.Equal(got, want) {
		t.Errorf("claims = %v, want %v", got, want)
	}

	plain, err := s.g.issuer.verify(s.token(t, TokenRequest{Sub: "u2"}), testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scope", "email", "email_verified"} {
		if _, ok := plain[k]; ok {
			t.Errorf("claim %q present though not asked for", k)
		}
	}
}
