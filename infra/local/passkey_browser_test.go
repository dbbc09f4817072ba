package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/mfa-service/mfa/pkg/browsertest"
	"github.com/mfa-service/mfa/pkg/policy"
)

type signInResult struct {
	Challenge struct {
		ChallengeID     string `json:"challengeId"`
		MFARequired     bool   `json:"mfaRequired"`
		DefaultFactorID string `json:"defaultFactorId"`
		Factors         []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"factors"`
	} `json:"challenge"`
	Verification struct {
		MFAToken string `json:"mfaToken"`
		Factor   struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"factor"`
	} `json:"verification"`
}

// problemOf runs a page call expected to fail and returns the problem's code.
func problemOf(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	var code string
	err := browsertest.Eval(ctx, `(async () => { try { await `+js+`; return "no error"; } catch (e) { return (e.problem && e.problem.code) || String(e); } })()`, &code)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestPasskeyInTheBrowser registers a passkey from a page of the local stack with Chrome's
// virtual authenticator, signs in with it, and checks what must be refused.
func TestPasskeyInTheBrowser(t *testing.T) {
	s := newStack(t)
	ctx := browsertest.Start(t)
	auth, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.DefaultAuthenticatorOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/local/passkeys")); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Eval(ctx, `devToken("alice")`, nil); err != nil {
		t.Fatal(err)
	}

	// Register: the page calls the real API and navigator.credentials.create.
	var enrolled struct {
		Factor struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"factor"`
		BackupCodes []string `json:"backupCodes"`
	}
	if err := browsertest.Eval(ctx, `enrollPasskey("Laptop")`, &enrolled); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if enrolled.Factor.Type != "webauthn" || len(enrolled.BackupCodes) != 10 {
		t.Fatalf("enrolled %+v", enrolled)
	}
	if err := browsertest.Screenshot(ctx, t.TempDir()+"/passkeys.png"); err != nil {
		t.Fatal(err)
	}

	// Sign in: the passkey is offered first, and the mfaToken verifies with the JWKS.
	var res signInResult
	if err := browsertest.Eval(ctx, `signIn()`, &res); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if !res.Challenge.MFARequired || res.Challenge.DefaultFactorID != enrolled.Factor.ID || res.Challenge.Factors[0].Type != "webauthn" {
		t.Fatalf("challenge %+v", res.Challenge)
	}
	claims := verifyWithJWKS(t, s, res.Verification.MFAToken)
	if claims.Sub != "alice" || claims.ACR != "phishing_resistant" || !contains(claims.AMR, "hwk") || !contains(claims.AMR, "user") {
		t.Fatalf("mfaToken claims %+v", claims)
	}

	// A replayed assertion: on its own challenge (answered) and on a new one (other challenge).
	if err := browsertest.Eval(ctx, `(async () => {
		var ch = await call("POST", "/v1/users/me/challenges", {});
		window.lastAssertion = await getAssertion(ch.webauthn);
		window.lastChallenge = ch.challengeId;
		await call("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", {type: "webauthn", credential: window.lastAssertion});
	})()`, nil); err != nil {
		t.Fatal(err)
	}
	if code := problemOf(t, ctx, `call("POST", "/v1/users/me/challenges/" + window.lastChallenge + "/verifications", {type: "webauthn", credential: window.lastAssertion})`); code != "challenge_closed" {
		t.Fatalf("replay on the same challenge: %s", code)
	}
	if code := problemOf(t, ctx, `call("POST", "/v1/users/me/challenges", {}).then(ch => call("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", {type: "webauthn", credential: window.lastAssertion}))`); code != "verification_failed" {
		t.Fatalf("replay on a new challenge: %s", code)
	}

	// Alice's assertion on bob's challenge: one user's credential never verifies another's.
	if err := browsertest.Eval(ctx, `(async () => {
		var ch = await call("POST", "/v1/users/me/challenges", {});
		window.aliceAssertion = await getAssertion(ch.webauthn);
		await devToken("bob");
		await enrollPasskey("Bob's key");
	})()`, nil); err != nil {
		t.Fatal(err)
	}
	if code := problemOf(t, ctx, `call("POST", "/v1/users/me/challenges", {}).then(ch => call("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", {type: "webauthn", credential: window.aliceAssertion}))`); code != "verification_failed" {
		t.Fatalf("alice's assertion for bob: %s", code)
	}

	// Sign-count regression (a cloned authenticator): refused and audited.
	creds, err := browsertest.Credentials(ctx, auth)
	if err != nil || len(creds) == 0 {
		t.Fatalf("credentials: %v", err)
	}
	if err := browsertest.Eval(ctx, `devToken("alice")`, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		if err := browsertest.SetSignCount(ctx, auth, c.CredentialID, 0); err != nil {
			t.Fatal(err)
		}
	}
	if code := problemOf(t, ctx, `signIn()`); code != "verification_failed" {
		t.Fatalf("sign count regression: %s", code)
	}
	admin := s.client(t, "auditor", "mfa/admin")
	_, evs, _ := admin.call("GET", "/v1/admin/users/alice/events?limit=5", nil)
	if !strings.Contains(mustJSON(evs), "sign_count_regression") {
		t.Fatalf("sign-count regression not audited: %v", evs)
	}

	// User verification required by policy, and an authenticator that did not verify.
	s.App.Core.Policy = func(context.Context, string) (policy.Policy, error) {
		p := policy.Default()
		p.UserVerification = "required"
		return p, nil
	}
	for _, c := range creds {
		_ = browsertest.SetSignCount(ctx, auth, c.CredentialID, 1000)
	}
	if err := browsertest.SetUserVerified(ctx, auth, false); err != nil {
		t.Fatal(err)
	}
	if code := problemOf(t, ctx, `signIn()`); code == "no error" {
		t.Fatal("a passkey without user verification passed a policy that requires it")
	}
}

type mfaClaims struct {
	Sub string   `json:"sub"`
	ACR string   `json:"acr"`
	AMR []string `json:"amr"`
}

func verifyWithJWKS(t *testing.T, s *stack, raw string) mfaClaims {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatal("signing key not published")
	}
	var std josejwt.Claims
	var c mfaClaims
	if err := tok.Claims(keys[0].Key, &std, &c); err != nil {
		t.Fatal(err)
	}
	if err := std.Validate(josejwt.Expected{Issuer: s.App.Config.MFATokenIssuer, AnyAudience: []string{s.App.Config.MFATokenAudience}, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return c
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
