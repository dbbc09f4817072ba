package cognito_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/mfa"
)

func lastEmailTo(t *testing.T, to string) localaws.SentMessage {
	t.Helper()
	msgs, err := localaws.Outbox(context.Background(), awstest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	var last *localaws.SentMessage
	for i := range msgs {
		if msgs[i].Destination == to {
			last = &msgs[i]
		}
	}
	if last == nil {
		t.Fatalf("nothing emailed to %s", to)
	}
	return *last
}

// The language a user chose when enrolling (here by their browser's Accept-Language) is
// stored with the factor, so the code a Cognito sign-in sends, where no request carries a
// language, is in it; the user's Cognito locale attribute and the app's clientMetadata
// locale take precedence, as a token's claim and a request's locale do over HTTP.
func TestLocaleSurvivesACognitoSignIn(t *testing.T) {
	f := newFixture(t)
	sub := f.addUser("lia")
	addr := strings.ToLower(sub) + "@example.com"
	ctx := context.Background()
	browser := mfa.Caller{Kind: mfa.CallerUser, Subject: sub, AcceptLanguage: "pt-BR,pt;q=0.9,en;q=0.5"}
	e, err := f.app.Enrollments.StartEnrollment(ctx, browser, sub, mfa.StartEnrollmentRequest{Type: mfa.TypeEmail, Email: addr})
	if err != nil {
		t.Fatal(err)
	}
	if m := lastEmailTo(t, addr); m.Subject != "Seu código de verificação do MFA Service" {
		t.Fatalf("enrollment email subject %q", m.Subject)
	}
	if _, err := f.app.Enrollments.CompleteEnrollment(ctx, browser, sub, e.EnrollmentID, mfa.CompleteEnrollmentRequest{Code: lastEmailCode(t, addr)}); err != nil {
		t.Fatal(err)
	}

	signIn := func(meta map[string]string) localaws.SentMessage {
		t.Helper()
		flow := f.pool.initiateAuth("lia", meta)
		flow.respondPassword("correct horse lia", meta)
		if flow.public["factorType"] != "email" || flow.public["codeSent"] != "true" {
			t.Fatalf("round: %+v", flow.public)
		}
		m := lastEmailTo(t, addr)
		flow.respond(lastEmailCode(t, addr), meta)
		if !flow.tokens {
			t.Fatal("the emailed code got no tokens")
		}
		return m
	}

	m := signIn(nil)
	if m.Subject != "Seu código de verificação do MFA Service" || !strings.Contains(m.Body, "Digite-o para concluir o login.") {
		t.Errorf("Cognito sign-in email not in the stored pt-BR:\n%s\n%s", m.Subject, m.Body)
	}

	u := f.pool.users["lia"]
	u.attrs = map[string]string{"locale": "de_DE"}
	f.pool.users["lia"] = u
	if m := signIn(nil); m.Subject != "Ihr Bestätigungscode für MFA Service" {
		t.Errorf("the Cognito locale attribute was not used: %q", m.Subject)
	}
	if m := signIn(map[string]string{"locale": "ja-JP"}); m.Subject != "MFA Service の確認コード" {
		t.Errorf("clientMetadata locale was not used: %q", m.Subject)
	}
	// A malformed clientMetadata locale costs the user nothing: the next source decides.
	if m := signIn(map[string]string{"locale": "not a tag!"}); m.Subject != "Ihr Bestätigungscode für MFA Service" {
		t.Errorf("a malformed clientMetadata locale: %q", m.Subject)
	}
}
