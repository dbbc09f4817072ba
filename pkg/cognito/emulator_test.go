package cognito_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/cognito"
)

// userPool emulates Amazon Cognito's custom authentication flow as its documentation
// describes it: InitiateAuth(CUSTOM_AUTH) with SRP_A puts an SRP_A step in the session, which
// Cognito checks itself; then, at every step, Cognito calls DefineAuthChallenge with the
// session so far; for CUSTOM_CHALLENGE it calls CreateAuthChallenge (public parameters go to
// the client, private ones and the metadata stay with Cognito); the client's answer goes to
// VerifyAuthChallengeResponse with the private parameters, and the result joins the session
// with the round's challengeMetadata. ClientMetadata of each call reaches the triggers it runs.
// Tokens exist only when Define says IssueTokens; FailAuthentication ends the flow.
type userPool struct {
	t        *testing.T
	triggers *cognito.Triggers
	users    map[string]poolUser
}

type poolUser struct {
	sub      string
	password string
	attrs    map[string]string // further user attributes, e.g. locale
}

type authFlow struct {
	pool      *userPool
	user      poolUser
	session   []*events.CognitoEventUserPoolsChallengeResult
	challenge string
	public    map[string]string
	private   map[string]string
	metadata  string
	tokens    bool
	failed    bool
}

func (p *userPool) header(name string) events.CognitoEventUserPoolsHeader {
	return events.CognitoEventUserPoolsHeader{Version: "1", TriggerSource: name, Region: "us-east-1", UserPoolID: "us-east-1_test", UserName: "user"}
}

// initiateAuth starts CUSTOM_AUTH with SRP_A for a username.
func (p *userPool) initiateAuth(username string, meta map[string]string) *authFlow {
	p.t.Helper()
	u := p.users[username]
	f := &authFlow{pool: p, user: u, session: []*events.CognitoEventUserPoolsChallengeResult{{ChallengeName: "SRP_A", ChallengeResult: true}}}
	f.next(meta)
	return f
}

func (f *authFlow) attrs() map[string]string {
	a := map[string]string{"sub": f.user.sub}
	for k, v := range f.user.attrs {
		a[k] = v
	}
	return a
}

// next runs Define and, for a custom challenge, Create.
func (f *authFlow) next(meta map[string]string) {
	t := f.pool.t
	t.Helper()
	d, err := f.pool.triggers.Define(context.Background(), events.CognitoEventUserPoolsDefineAuthChallenge{
		CognitoEventUserPoolsHeader: f.pool.header("DefineAuthChallenge_Authentication"),
		Request:                     events.CognitoEventUserPoolsDefineAuthChallengeRequest{UserAttributes: f.attrs(), Session: f.session, ClientMetadata: meta},
	})
	if err != nil {
		t.Fatalf("define: %v", err)
	}
	r := d.Response
	switch {
	case r.IssueTokens && r.FailAuthentication:
		t.Fatal("define both issues tokens and fails")
	case r.FailAuthentication:
		f.failed, f.challenge = true, ""
		return
	case r.IssueTokens:
		f.tokens, f.challenge = true, ""
		return
	}
	f.challenge = r.ChallengeName
	if f.challenge != "CUSTOM_CHALLENGE" {
		return
	}
	c, err := f.pool.triggers.Create(context.Background(), events.CognitoEventUserPoolsCreateAuthChallenge{
		CognitoEventUserPoolsHeader: f.pool.header("CreateAuthChallenge_Authentication"),
		Request:                     events.CognitoEventUserPoolsCreateAuthChallengeRequest{UserAttributes: f.attrs(), ChallengeName: f.challenge, Session: f.session, ClientMetadata: meta},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	f.public, f.private, f.metadata = c.Response.PublicChallengeParameters, c.Response.PrivateChallengeParameters, c.Response.ChallengeMetadata
}

// respondPassword answers PASSWORD_VERIFIER; Cognito checks the password itself. The
// call's ClientMetadata (at most one) reaches the triggers it runs.
func (f *authFlow) respondPassword(pw string, meta ...map[string]string) {
	f.pool.t.Helper()
	if f.challenge != "PASSWORD_VERIFIER" {
		f.pool.t.Fatalf("respondPassword during %q", f.challenge)
	}
	f.session = append(f.session, &events.CognitoEventUserPoolsChallengeResult{ChallengeName: "PASSWORD_VERIFIER", ChallengeResult: pw == f.user.password})
	var m map[string]string
	if len(meta) > 0 {
		m = meta[0]
	}
	f.next(m)
}

// respond answers a CUSTOM_CHALLENGE.
func (f *authFlow) respond(answer string, meta map[string]string) {
	t := f.pool.t
	t.Helper()
	if f.challenge != "CUSTOM_CHALLENGE" {
		t.Fatalf("respond during %q", f.challenge)
	}
	v, err := f.pool.triggers.Verify(context.Background(), events.CognitoEventUserPoolsVerifyAuthChallenge{
		CognitoEventUserPoolsHeader: f.pool.header("VerifyAuthChallengeResponse_Authentication"),
		Request: events.CognitoEventUserPoolsVerifyAuthChallengeRequest{
			UserAttributes: f.attrs(), PrivateChallengeParameters: f.private, ChallengeAnswer: answer, ClientMetadata: meta,
		},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	f.session = append(f.session, &events.CognitoEventUserPoolsChallengeResult{ChallengeName: "CUSTOM_CHALLENGE", ChallengeResult: v.Response.AnswerCorrect, ChallengeMetadata: f.metadata})
	f.next(meta)
}
