// Command local runs the whole service on this machine without Docker: moto serves DynamoDB,
// KMS, SES v2 and SNS on 127.0.0.1:$MOTO_PORT (default 4566), the table is created from
// template.yaml, and every HttpApi route of the template is served on localhost:$PORT
// (default 3000) by the real handlers, behind an emulated JWT authorizer with a dev issuer.
// Security events take the deployed path too: the table's stream, the event publisher,
// EventBridge (bus mfa-local-events) and a rule to SQS, shown by GET /local/events.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localapi"
	"github.com/mfa-service/mfa/pkg/localaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := httpapi.NewLogger(os.Stderr, httpapi.ParseLevel(os.Getenv("LOG_LEVEL")))
	s, err := startStack(ctx, stackOptions{
		MotoPort: envPort("MOTO_PORT", 4566),
		Port:     envPort("PORT", 3000),
		Names:    localaws.Names{Table: "mfa-local", KeyAlias: "alias/mfa-local", SenderEmail: "mfa@example.com", EventBus: "mfa-local-events"},
		Log:      log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "local stack:", err)
		os.Exit(1)
	}
	links, err := pageLinks(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local stack:", err)
		s.stop()
		os.Exit(1)
	}
	fmt.Print(gettingStarted(s.URL, links))
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "\nstopping (moto too)…")
	case err := <-s.done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "gateway:", err)
		}
	}
	s.stop()
}

func envPort(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if p, err := strconv.Atoi(v); err == nil && p > 0 && p < 65536 {
			return p
		}
		fmt.Fprintf(os.Stderr, "%s=%q is not a port; using %d\n", name, v, def)
	}
	return def
}

// bannerTokenTTL is how long the tokens in the printed page links stay valid.
const bannerTokenTTL = 12 * time.Hour

// pageLinks are the web pages with ready local tokens in their fragment (the pages read the
// token from there), so each link opens a working page.
func pageLinks(s *stack) (string, error) {
	verified := true
	user, err := s.Gateway.IssueToken(localapi.TokenRequest{Sub: "alice", Email: "alice@example.com", EmailVerified: &verified}, bannerTokenTTL)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Pages for the user alice (tokens valid %s):\n", bannerTokenTTL)
	for _, page := range []string{"enroll", "challenge", "security"} {
		fmt.Fprintf(&b, "  %s/ui/%s#token=%s\n", s.URL, page, user)
	}
	fmt.Fprintf(&b, "  %s/local/passkeys   (passkeys by hand; gets its own token)\n", s.URL)
	console, err := adminConsoleURL(s)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "Admin console, as the admin local-admin (README: \"Admin console\"):\n  %s\n", console)
	return b.String(), nil
}

// adminConsoleURL is the admin console opened with a local admin token (sub local-admin).
func adminConsoleURL(s *stack) (string, error) {
	tok, err := s.Gateway.IssueToken(localapi.TokenRequest{Sub: "local-admin", Scope: "mfa/admin"}, bannerTokenTTL)
	if err != nil {
		return "", err
	}
	return s.URL + "/ui/admin#token=" + tok, nil
}

func gettingStarted(url, links string) string {
	return fmt.Sprintf(`
MFA service running locally at %[1]s  (AWS APIs: moto)

  # a user token from the local dev issuer
  TOKEN=$(curl -s -X POST %[1]s/local/token -H 'Content-Type: application/json' -d '{"sub":"alice"}' | jq -r .access_token)
  api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }

  # enroll an authenticator app (scan qrPng or type the secret), then complete with its code
  api -X POST %[1]s/v1/users/me/enrollments -d '{"type":"totp"}'
  api -X POST %[1]s/v1/users/me/enrollments/<enrollmentId>/complete -d '{"code":"123456"}'

  # sign in: open a challenge, answer it, get an mfaToken
  api -X POST %[1]s/v1/users/me/challenges -d '{}'
  api -X POST %[1]s/v1/users/me/challenges/<challengeId>/verifications -d '{"type":"totp","code":"123456"}'

  # keys that verify the mfaToken; emails and SMS the stack sent; security events published
  curl -s %[1]s/.well-known/jwks.json
  curl -s %[1]s/local/outbox
  curl -s %[1]s/local/events

  # an admin token, for /v1/admin/... (bind factors, status, policy)
  curl -s -X POST %[1]s/local/token -H 'Content-Type: application/json' -d '{"sub":"support","scope":"mfa/admin"}'

%[2]s
README.md has the whole walkthrough. Ctrl-C stops the service and moto.
`, url, links)
}
