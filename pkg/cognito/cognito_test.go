package cognito_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey/passkeytest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const (
	sender = "mfa@example.com"
	origin = "https://app.example.com"
)

var senderOnce sync.Once

type fixture struct {
	t    *testing.T
	app  *app.App
	pool *userPool
	svc  mfa.Caller
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	senderOnce.Do(func() {
		if _, err := sesv2.NewFromConfig(awstest.Config(t)).CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
			t.Fatal(err)
		}
	})
	cfg := app.Config{
		TableName: awstest.NewTable(t), KMSKeyID: awstest.NewKey(t), MFATokenIssuer: "mfa-test", MFATokenAudience: "app",
		MFATokenTTL: 5 * time.Minute, TOTPIssuer: "Test", AuditRetention: time.Hour, RPID: "example.com", RPName: "Example", Origins: []string{origin},
	}
	a, err := app.New(context.Background(), cfg, append(fullstack.Options(), fullstack.WithNotify(notify.Config{Sender: sender}))...)
	if err != nil {
		t.Fatal(err)
	}
	a.Log = httpapi.NewLogger(io.Discard, 0)
	tr := &cognito.Triggers{Service: cognito.Services{Decider: a.Challenges.Decider, Challenges: a.Challenges, Deliveries: a.Deliveries, Verifications: a.Verifications}, Log: a.Log}
	pool := &userPool{t: t, triggers: tr, users: map[string]poolUser{}}
	return &fixture{t: t, app: a, pool: pool, svc: mfa.Caller{Kind: mfa.CallerService, Subject: "test-backend"}}
}

func (f *fixture) addUser(name string) string {
	sub := fmt.Sprintf("sub-%s-%d", name, time.Now().UnixNano())
	f.pool.users[name] = poolUser{sub: sub, password: "correct horse " + name}
	return sub
}

func totpCode(secret string, at time.Time, steps int64) string {
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	m := hmac.New(sha1.New, raw)
	_ = binary.Write(m, binary.BigEndian, at.Unix()/30+steps)
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

// enrollTOTP binds an authenticator app (through the domain, as the enrollment route would)
// and returns its secret and the backup codes that came with it.
func (f *fixture) enrollTOTP(sub string) (string, []string) {
	f.t.Helper()
	ctx := context.Background()
	e, err := f.app.Enrollments.StartEnrollment(ctx, f.svc, sub, mfa.StartEnrollmentRequest{Type: mfa.TypeTOTP})
	if err != nil {
		f.t.Fatal(err)
	}
	act, err := f.app.Enrollments.CompleteEnrollment(ctx, f.svc, sub, e.EnrollmentID, mfa.CompleteEnrollmentRequest{Code: totpCode(e.TOTP.Secret, time.Now(), -1)})
	if err != nil {
		f.t.Fatal(err)
	}
	return e.TOTP.Secret, act.BackupCodes
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func lastEmailCode(t *testing.T, to string) string {
	t.Helper()
	msgs, err := localaws.Outbox(context.Background(), awstest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, m := range msgs {
		if m.Destination == to {
			if c := sixDigits.FindString(m.Body); c != "" {
				code = c
			}
		}
	}
	if code == "" {
		t.Fatalf("no code emailed to %s", to)
	}
	return code
}

func TestPasswordThenTOTP(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("ann")
	secret, _ := f.enrollTOTP(sub)
	flow := f.pool.initiateAuth("ann", nil)
	if flow.challenge != "PASSWORD_VERIFIER" {
		t.Fatalf("after SRP_A: %q", flow.challenge)
	}
	flow.respondPassword("correct horse ann")
	if flow.challenge != "CUSTOM_CHALLENGE" || flow.public["factorType"] != "totp" || flow.private["challengeId"] == "" {
		t.Fatalf("custom challenge: %+v %+v", flow.public, flow.private)
	}
	for k, v := range flow.public {
		if strings.Contains(v, flow.private["challengeId"]) {
			t.Fatalf("the challenge id is public (%s)", k)
		}
	}
	var factors []map[string]string
	if err := json.Unmarshal([]byte(flow.public["factors"]), &factors); err != nil || len(factors) != 2 || flow.public["defaultFactorId"] != factors[0]["id"] {
		t.Fatalf("published factors: %s", flow.public["factors"])
	}
	flow.respond(totpCode(secret, time.Now(), 0), nil)
	if !flow.tokens {
		t.Fatal("a right TOTP code got no tokens")
	}
}

func TestWrongPasswordNeverReachesMFA(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("ann")
	f.enrollTOTP(sub)
	flow := f.pool.initiateAuth("ann", nil)
	flow.respondPassword("wrong")
	if !flow.failed || flow.tokens {
		t.Fatal("a wrong password did not fail the flow")
	}
}

func TestPasswordThenEmailCode(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("bea")
	f.enrollTOTP(sub)
	bound, err := f.app.Administration.AdminBind(context.Background(), mfa.Caller{Kind: mfa.CallerAdmin, Subject: "root"}, sub, mfa.BindRequest{Type: "EmailVerificationCode", Email: "bea@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	flow := f.pool.initiateAuth("bea", nil)
	flow.respondPassword("correct horse bea")
	if flow.public["factorType"] != "totp" {
		t.Fatalf("default factor: %+v", flow.public)
	}
	// The phone is lost: pick email. Nothing is compared, no failure is counted.
	pick := map[string]string{"mfaAction": "select", "mfaFactorId": bound.Factor.ID}
	flow.respond("select", pick)
	if flow.challenge != "CUSTOM_CHALLENGE" || flow.public["factorType"] != "email" || flow.public["codeSent"] != "true" || flow.public["maskedDestination"] != "b•••@example.com" {
		t.Fatalf("after picking email: %+v", flow.public)
	}
	flow.respond(lastEmailCode(t, "bea@example.com"), nil)
	if !flow.tokens {
		t.Fatal("the emailed code got no tokens")
	}
}

func TestPasswordThenPasskey(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("cat")
	ctx := context.Background()
	auth, err := passkeytest.New()
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.app.Enrollments.StartEnrollment(ctx, f.svc, sub, mfa.StartEnrollmentRequest{Type: mfa.TypeWebAuthn})
	if err != nil {
		t.Fatal(err)
	}
	handle, err := passkeytest.UserHandleOf(e.WebAuthn)
	if err != nil {
		t.Fatal(err)
	}
	att, err := auth.Register(e.WebAuthn, passkeytest.Honest(origin, "example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Enrollments.CompleteEnrollment(ctx, f.svc, sub, e.EnrollmentID, mfa.CompleteEnrollmentRequest{Credential: att}); err != nil {
		t.Fatal(err)
	}
	flow := f.pool.initiateAuth("cat", nil)
	flow.respondPassword("correct horse cat")
	if flow.public["factorType"] != "webauthn" || flow.public["webauthn"] == "" {
		t.Fatalf("passkey round: %+v", flow.public)
	}
	assertion, err := auth.Assert(json.RawMessage(flow.public["webauthn"]), passkeytest.Honest(origin, "example.com"), handle)
	if err != nil {
		t.Fatal(err)
	}
	flow.respond(string(assertion), nil)
	if !flow.tokens {
		t.Fatal("a passkey assertion got no tokens")
	}
}

func TestPasswordThenBackupCode(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("dan")
	_, codes := f.enrollTOTP(sub)
	flow := f.pool.initiateAuth("dan", nil)
	flow.respondPassword("correct horse dan")
	flow.respond(strings.ToUpper(codes[0]), nil)
	if !flow.tokens {
		t.Fatal("a backup code got no tokens")
	}
	// Used once only.
	flow = f.pool.initiateAuth("dan", nil)
	flow.respondPassword("correct horse dan")
	flow.respond(codes[0], nil)
	if flow.tokens {
		t.Fatal("a used backup code got tokens")
	}
}

func TestWrongCodesFailTheFlow(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("eve")
	secret, _ := f.enrollTOTP(sub)
	flow := f.pool.initiateAuth("eve", nil)
	flow.respondPassword("correct horse eve")
	wrong := totpCode(secret, time.Now(), 7)
	for i := 0; i < 5 && !flow.failed; i++ {
		flow.respond(wrong, nil)
		if flow.tokens {
			t.Fatal("a wrong code got tokens")
		}
	}
	if !flow.failed {
		t.Fatal("five wrong answers did not fail the flow")
	}
}

func TestNoMFAUserGetsTokensAfterPassword(t *testing.T) {
	f := newFixture(t)
	f.addUser("fay")
	flow := f.pool.initiateAuth("fay", nil)
	flow.respondPassword("correct horse fay")
	if !flow.tokens {
		t.Fatalf("a user without MFA under optional policy: challenge %q", flow.challenge)
	}
}

func TestForgedSessionsNeverYieldTokens(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("gus")
	f.enrollTOTP(sub)
	step := func(name string, ok bool, meta string) *events.CognitoEventUserPoolsChallengeResult {
		return &events.CognitoEventUserPoolsChallengeResult{ChallengeName: name, ChallengeResult: ok, ChallengeMetadata: meta}
	}
	cases := map[string][]*events.CognitoEventUserPoolsChallengeResult{
		"no password step":           {step("CUSTOM_CHALLENGE", true, "MFA:x")},
		"password failed":            {step("SRP_A", true, ""), step("PASSWORD_VERIFIER", false, ""), step("CUSTOM_CHALLENGE", true, "MFA:x")},
		"password skipped":           {step("SRP_A", true, ""), step("CUSTOM_CHALLENGE", true, "MFA:x")},
		"round not ours":             {step("SRP_A", true, ""), step("PASSWORD_VERIFIER", true, ""), step("CUSTOM_CHALLENGE", true, "")},
		"only the password, MFA due": {step("SRP_A", true, ""), step("PASSWORD_VERIFIER", true, "")},
		"last round failed":          {step("SRP_A", true, ""), step("PASSWORD_VERIFIER", true, ""), step("CUSTOM_CHALLENGE", true, "MFA:x"), step("CUSTOM_CHALLENGE", false, "MFA:x")},
		"empty session":              {},
	}
	for name, session := range cases {
		d, err := f.pool.triggers.Define(context.Background(), events.CognitoEventUserPoolsDefineAuthChallenge{
			Request: events.CognitoEventUserPoolsDefineAuthChallengeRequest{UserAttributes: map[string]string{"sub": sub}, Session: session},
		})
		if err != nil {
			t.Fatal(err)
		}
		if d.Response.IssueTokens {
			t.Errorf("%s: tokens issued", name)
		}
	}
	d, _ := f.pool.triggers.Define(context.Background(), events.CognitoEventUserPoolsDefineAuthChallenge{
		Request: events.CognitoEventUserPoolsDefineAuthChallengeRequest{UserAttributes: map[string]string{"sub": sub}, UserNotFound: true, Session: []*events.CognitoEventUserPoolsChallengeResult{step("SRP_A", true, ""), step("PASSWORD_VERIFIER", true, "")}},
	})
	if !d.Response.FailAuthentication {
		t.Error("an unknown user was not failed")
	}
}

func TestLockoutCountedAcrossHTTPAndCognito(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("hal")
	secret, _ := f.enrollTOTP(sub)
	ctx := context.Background()
	wrong := totpCode(secret, time.Now(), 9)
	// Three wrong answers through the HTTP path (the domain the verify route calls)…
	for i := 0; i < 3; i++ {
		ch, err := f.app.Challenges.CreateChallenge(ctx, f.svc, sub, mfa.ChallengeRequest{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.app.Verifications.Verify(ctx, f.svc, sub, ch.ChallengeID, mfa.VerifyRequest{Type: mfa.TypeTOTP, Code: wrong})
		if mfa.AsError(err).Code != mfa.CodeVerificationFailed {
			t.Fatalf("wrong code over HTTP: %v", err)
		}
	}
	// …and two through Cognito lock the user.
	flow := f.pool.initiateAuth("hal", nil)
	flow.respondPassword("correct horse hal")
	flow.respond(wrong, nil)
	flow.respond(wrong, nil)
	// Now even the right code is refused, on either path.
	flow.respond(totpCode(secret, time.Now(), 0), nil)
	if flow.tokens {
		t.Fatal("Cognito issued tokens to a locked user")
	}
	ch, _ := f.app.Challenges.CreateChallenge(ctx, f.svc, sub, mfa.ChallengeRequest{})
	if _, err := f.app.Verifications.Verify(ctx, f.svc, sub, ch.ChallengeID, mfa.VerifyRequest{Type: mfa.TypeTOTP, Code: totpCode(secret, time.Now(), 1)}); mfa.AsError(err).Code != mfa.CodeTooManyAttempts {
		t.Fatalf("HTTP path after Cognito failures: %v", err)
	}
}

// TestSampleEventsReplay replays events/cognito-*.json (what `sam local invoke -e` uses)
// against the real triggers, for a user without factors.
func TestSampleEventsReplay(t *testing.T) {
	f := newFixture(t)
	read := func(name string, v any) {
		raw, err := os.ReadFile("../../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var d events.CognitoEventUserPoolsDefineAuthChallenge
	read("cognito-define.json", &d)
	out, err := f.pool.triggers.Define(context.Background(), d)
	if err != nil || !out.Response.IssueTokens {
		t.Fatalf("define replay (no factors, optional policy): %+v %v", out.Response, err)
	}
	var c events.CognitoEventUserPoolsCreateAuthChallenge
	read("cognito-create.json", &c)
	cout, err := f.pool.triggers.Create(context.Background(), c)
	if err != nil || cout.Response.PrivateChallengeParameters["challengeId"] == "" || cout.Response.PublicChallengeParameters["factors"] != "[]" {
		t.Fatalf("create replay: %+v %v", cout.Response, err)
	}
	var v events.CognitoEventUserPoolsVerifyAuthChallenge
	read("cognito-verify.json", &v)
	vout, err := f.pool.triggers.Verify(context.Background(), v)
	if err != nil || vout.Response.AnswerCorrect {
		t.Fatalf("verify replay (no such challenge): %+v %v", vout.Response, err)
	}
}
