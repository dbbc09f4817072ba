package browsertest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/mfa-service/mfa/pkg/browsertest"
)

// testTimeout bounds each browser test; the ceremonies take well under a second each.
const testTimeout = 20 * time.Second

// TestWebAuthnCeremonies registers and logs in through Chromium's virtual authenticator
// against a real go-webauthn relying party, then checks that go-webauthn refuses forged,
// tampered and cloned assertions.
func TestWebAuthnCeremonies(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts browsertest.AuthenticatorOptions
		uv   protocol.UserVerificationRequirement
	}{
		{"user verified", browsertest.DefaultAuthenticatorOptions(), protocol.VerificationRequired},
		{"security key without UV", browsertest.AuthenticatorOptions{Transport: "usb"}, protocol.VerificationDiscouraged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRelyingParty(t, tc.uv)
			ctx := open(t, rp)
			authID, err := browsertest.AddVirtualAuthenticator(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}

			var reg ceremony
			if err := browsertest.Eval(ctx, `register()`, &reg); err != nil {
				t.Fatalf("register: %v", err)
			}
			if !reg.UserPresent || reg.UserVerified != tc.opts.UserVerified {
				t.Errorf("registration flags UP=%v UV=%v, want UP and UV=%v", reg.UserPresent, reg.UserVerified, tc.opts.UserVerified)
			}
			creds, err := browsertest.Credentials(ctx, authID)
			if err != nil {
				t.Fatal(err)
			}
			if len(creds) != 1 || !bytes.Equal(creds[0].CredentialID, reg.credentialID(t)) {
				t.Fatalf("authenticator holds %d credentials, want the one go-webauthn registered (%s)", len(creds), reg.CredentialID)
			}
			if creds[0].IsResidentCredential != tc.opts.ResidentKey {
				t.Errorf("resident credential = %v, want %v", creds[0].IsResidentCredential, tc.opts.ResidentKey)
			}

			var login ceremony
			if err := browsertest.Eval(ctx, `login()`, &login); err != nil {
				t.Fatalf("login: %v", err)
			}
			if login.CredentialID != reg.CredentialID {
				t.Errorf("login used credential %s, want %s", login.CredentialID, reg.CredentialID)
			}
			if login.SignCount <= reg.SignCount {
				t.Errorf("sign count %d after login, want more than %d", login.SignCount, reg.SignCount)
			}
			if !login.UserPresent || login.UserVerified != tc.opts.UserVerified {
				t.Errorf("assertion flags UP=%v UV=%v, want UP and UV=%v", login.UserPresent, login.UserVerified, tc.opts.UserVerified)
			}
			if creds, err := browsertest.Credentials(ctx, authID); err != nil {
				t.Error(err)
			} else if creds[0].SignCount != float64(login.SignCount) {
				t.Errorf("authenticator's sign count = %v, want %d as go-webauthn saw", creds[0].SignCount, login.SignCount)
			}

			t.Run("registered twice", func(t *testing.T) {
				// excludeCredentials reaches the authenticator, which refuses a second credential.
				err := browsertest.Eval(ctx, `register()`, nil)
				if jsErr, ok := errors.AsType[*browsertest.JSError](err); !ok || !strings.HasPrefix(jsErr.Message, "InvalidStateError") {
					t.Errorf("second registration = %v, want InvalidStateError", err)
				}
			})
			t.Run("challenge not issued", func(t *testing.T) {
				got := refusal(t, rp, browsertest.Eval(ctx, `loginWithForgedChallenge()`, nil))
				if protocolType(got) != protocol.ErrVerification.Type {
					t.Errorf("refused with %v, want go-webauthn's %s", got, protocol.ErrVerification.Type)
				}
			})
			t.Run("tampered clientDataJSON", func(t *testing.T) {
				got := refusal(t, rp, browsertest.Eval(ctx, `loginWithTamperedClientData()`, nil))
				if protocolType(got) != protocol.ErrAssertionSignature.Type {
					t.Errorf("refused with %v, want go-webauthn's %s", got, protocol.ErrAssertionSignature.Type)
				}
			})
			t.Run("sign count regression", func(t *testing.T) {
				// The refused assertions above advanced the authenticator's counter too; this
				// takes it back so that the next assertion repeats the count go-webauthn saw.
				if err := browsertest.SetSignCount(ctx, authID, creds[0].CredentialID, login.SignCount-1); err != nil {
					t.Fatal(err)
				}
				got := refusal(t, rp, browsertest.Eval(ctx, `login()`, nil))
				if !errors.Is(got, errCloned) {
					t.Errorf("refused with %v, want %v", got, errCloned)
				}
			})
		})
	}
}

// TestUVRequiredRefusesAuthenticatorWithoutUV: when the RP requires user verification the
// browser does not even ask an authenticator that cannot verify.
func TestUVRequiredRefusesAuthenticatorWithoutUV(t *testing.T) {
	rp := newRelyingParty(t, protocol.VerificationRequired)
	ctx := open(t, rp)
	if _, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.AuthenticatorOptions{Transport: "usb"}); err != nil {
		t.Fatal(err)
	}
	// The browser would wait for a capable authenticator until the options' timeout.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := browsertest.Eval(ctx, `register()`, nil)
	if jsErr, ok := errors.AsType[*browsertest.JSError](err); !ok || !strings.HasPrefix(jsErr.Message, "NotAllowedError") {
		t.Errorf("registration = %v, want NotAllowedError", err)
	}
	if rp.registered() != 0 {
		t.Errorf("go-webauthn registered %d credentials, want 0", rp.registered())
	}
}

func TestEvalErrors(t *testing.T) {
	ctx := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()

	var sum struct{ N int }
	if err := browsertest.Eval(ctx, `Promise.resolve({N: 1 + 2})`, &sum); err != nil || sum.N != 3 {
		t.Errorf("Eval(promise) = %v, %+v; want {N:3}", err, sum)
	}
	for js, want := range map[string]string{
		`(() => { throw new TypeError("bad input") })()`: "TypeError: bad input",
		`Promise.reject(new RangeError("too far"))`:      "RangeError: too far",
		`(async () => { throw "plain" })()`:              "plain",
	} {
		err := browsertest.Eval(ctx, js, nil)
		jsErr, ok := errors.AsType[*browsertest.JSError](err)
		if !ok || jsErr.Message != want {
			t.Errorf("Eval(%s) = %v, want a JSError %q", js, err, want)
		}
	}
	if err := browsertest.Eval(ctx, `undefined`, &sum); err == nil {
		t.Error("Eval(undefined) into a struct succeeded, want an error")
	}
}

// TestCleanup: the browser and its user data directory are gone once the test's cleanup ran.
func TestCleanup(t *testing.T) {
	var pid int
	var dataDir string
	t.Run("browser", func(t *testing.T) {
		ctx := browsertest.Start(t)
		proc := chromedp.FromContext(ctx).Browser.Process()
		pid = proc.Pid
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		for _, arg := range args {
			if dir, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
				dataDir = dir
			}
		}
		for _, flag := range []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"} {
			if !contains(args, flag) {
				t.Errorf("Chromium runs without %s: %q", flag, args)
			}
		}
		if dataDir == "" {
			t.Fatalf("Chromium runs without --user-data-dir: %q", args)
		}

		shot := filepath.Join(t.TempDir(), "blank.png")
		if err := browsertest.Screenshot(ctx, shot); err != nil {
			t.Fatal(err)
		}
		if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot is not a PNG (%v)", err)
		}
	})
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Chromium (pid %d) still runs after cleanup", pid)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("user data dir %s still exists after cleanup (%v)", dataDir, err)
	}
}

// open starts Chromium, loads the RP's page from http://localhost (a secure context, as
// WebAuthn needs, unlike 127.0.0.1) and returns the tab's context with the test's deadline.
func open(t *testing.T, rp *relyingParty) context.Context {
	t.Helper()
	ctx := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(rp.origin+"/")); err != nil {
		t.Fatalf("loading %s: %v", rp.origin, err)
	}
	return ctx
}

// refusal checks that the page saw the RP answer 400 and returns the RP's reason.
func refusal(t *testing.T, rp *relyingParty, pageErr error) error {
	t.Helper()
	if _, ok := errors.AsType[*browsertest.JSError](pageErr); !ok || !strings.Contains(pageErr.Error(), " 400: ") {
		t.Fatalf("login = %v, want the RP to answer 400", pageErr)
	}
	return rp.lastError()
}

// protocolType is the type of a go-webauthn error, e.g. "verification_error", or "".
func protocolType(err error) string {
	if perr, ok := errors.AsType[*protocol.Error](err); ok {
		return perr.Type
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ceremony is what the test RP answers to a successful finish.
type ceremony struct {
	CredentialID string `json:"credentialId"`
	SignCount    uint32 `json:"signCount"`
	UserPresent  bool   `json:"userPresent"`
	UserVerified bool   `json:"userVerified"`
}

func (c ceremony) credentialID(t *testing.T) []byte {
	id, err := base64.RawURLEncoding.DecodeString(c.CredentialID)
	if err != nil {
		t.Fatalf("credential id %q: %v", c.CredentialID, err)
	}
	return id
}

var errCloned = errors.New("sign count did not advance: the authenticator may be cloned")

// relyingParty is a minimal go-webauthn RP for one in-memory user. Each begin replaces the
// pending ceremony, and each finish consumes it, so a challenge verifies at most once.
type relyingParty struct {
	origin string
	wa     *gowebauthn.WebAuthn
	uv     protocol.UserVerificationRequirement

	mu      sync.Mutex
	user    *user
	reg     *gowebauthn.SessionData
	login   *gowebauthn.SessionData
	lastErr error
}

type user struct {
	id    []byte
	creds []gowebauthn.Credential
}

func (u *user) WebAuthnID() []byte                           { return u.id }
func (u *user) WebAuthnName() string                         { return "ada@example.com" }
func (u *user) WebAuthnDisplayName() string                  { return "Ada" }
func (u *user) WebAuthnCredentials() []gowebauthn.Credential { return u.creds }

func newRelyingParty(t *testing.T, uv protocol.UserVerificationRequirement) *relyingParty {
	t.Helper()
	rp := &relyingParty{uv: uv, user: &user{id: []byte("user-0001")}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>browsertest</title><script>%s</script><script>%s</script>", browsertest.WebAuthnJS, pageJS)
	})
	mux.HandleFunc("POST /register/begin", rp.beginRegistration)
	mux.HandleFunc("POST /register/finish", rp.finishRegistration)
	mux.HandleFunc("POST /login/begin", rp.beginLogin)
	mux.HandleFunc("POST /login/finish", rp.finishLogin)
	srv := httptest.NewServer(mux) // 127.0.0.1 on a free port
	t.Cleanup(srv.Close)

	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	rp.origin = fmt.Sprintf("http://localhost:%d", port)
	rp.wa, err = gowebauthn.New(&gowebauthn.Config{
		RPID:          "localhost",
		RPDisplayName: "browsertest",
		RPOrigins:     []string{rp.origin},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// pageJS drives both ceremonies from the page, as the service's UI will.
const pageJS = `
async function call(path, body) {
  const res = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
  const text = await res.text();
  if (!res.ok) throw new Error(path + " " + res.status + ": " + text);
  return JSON.parse(text);
}
async function register() {
  return call("/register/finish", await createCredential(await call("/register/begin")));
}
async function login() {
  return call("/login/finish", await getAssertion(await call("/login/begin")));
}
async function loginWithForgedChallenge() {
  const options = await call("/login/begin");
  options.publicKey.challenge = bufToB64url(crypto.getRandomValues(new Uint8Array(32)));
  return call("/login/finish", await getAssertion(options));
}
async function loginWithTamperedClientData() {
  const assertion = await getAssertion(await call("/login/begin"));
  const clientData = JSON.parse(new TextDecoder().decode(b64urlToBuf(assertion.response.clientDataJSON)));
  clientData.tampered = true; // type, challenge and origin still match: only the signature can tell
  assertion.response.clientDataJSON = bufToB64url(new TextEncoder().encode(JSON.stringify(clientData)));
  return call("/login/finish", assertion);
}
`

func (rp *relyingParty) beginRegistration(w http.ResponseWriter, _ *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	creation, session, err := rp.wa.BeginRegistration(rp.user,
		gowebauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: rp.uv,
		}),
		gowebauthn.WithExclusions(gowebauthn.Credentials(rp.user.creds).CredentialDescriptors()))
	if err != nil {
		rp.fail(w, err)
		return
	}
	rp.reg = session
	writeJSON(w, creation)
}

func (rp *relyingParty) finishRegistration(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	session := rp.reg
	rp.reg = nil
	if session == nil {
		rp.fail(w, errors.New("no registration in progress"))
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		rp.fail(w, err)
		return
	}
	cred, err := rp.wa.CreateCredential(rp.user, *session, parsed)
	if err != nil {
		rp.fail(w, err)
		return
	}
	rp.user.creds = append(rp.user.creds, *cred)
	writeJSON(w, ceremony{
		CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		SignCount:    cred.Authenticator.SignCount,
		UserPresent:  cred.Flags.UserPresent,
		UserVerified: cred.Flags.UserVerified,
	})
}

func (rp *relyingParty) beginLogin(w http.ResponseWriter, _ *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	assertion, session, err := rp.wa.BeginLogin(rp.user, gowebauthn.WithUserVerification(rp.uv))
	if err != nil {
		rp.fail(w, err)
		return
	}
	rp.login = session
	writeJSON(w, assertion)
}

func (rp *relyingParty) finishLogin(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	session := rp.login
	rp.login = nil
	if session == nil {
		rp.fail(w, errors.New("no login in progress"))
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		rp.fail(w, err)
		return
	}
	cred, err := rp.wa.ValidateLogin(rp.user, *session, parsed)
	if err != nil {
		rp.fail(w, err)
		return
	}
	// go-webauthn only flags a counter that did not advance; refusing it is the RP's call.
	if cred.Authenticator.CloneWarning {
		rp.fail(w, errCloned)
		return
	}
	for i := range rp.user.creds {
		if bytes.Equal(rp.user.creds[i].ID, cred.ID) {
			rp.user.creds[i] = *cred
		}
	}
	flags := parsed.Response.AuthenticatorData.Flags
	writeJSON(w, ceremony{
		CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		SignCount:    cred.Authenticator.SignCount,
		UserPresent:  flags.HasUserPresent(),
		UserVerified: flags.HasUserVerified(),
	})
}

func (rp *relyingParty) registered() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return len(rp.user.creds)
}

func (rp *relyingParty) lastError() error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.lastErr
}

// fail records err for the test and answers 400 with go-webauthn's details.
func (rp *relyingParty) fail(w http.ResponseWriter, err error) {
	rp.lastErr = err
	msg := err.Error()
	if perr, ok := errors.AsType[*protocol.Error](err); ok {
		msg = perr.Type + ": " + perr.Details + " " + perr.DevInfo
	}
	http.Error(w, msg, http.StatusBadRequest)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
