// Package cognito makes this service the second factor of an Amazon Cognito user pool through
// its custom-auth triggers. The three handlers use the same policy, factors, counters and
// audit as the HTTP routes, with the Cognito sub as user id.
//
// The protocol an app follows (README "Cognito"):
//
//	InitiateAuth(CUSTOM_AUTH, USERNAME, SRP_A)        → PASSWORD_VERIFIER
//	RespondToAuthChallenge(PASSWORD_VERIFIER, …)      → tokens, or CUSTOM_CHALLENGE
//	RespondToAuthChallenge(CUSTOM_CHALLENGE, ANSWER)  → tokens, or another CUSTOM_CHALLENGE
//
// A CUSTOM_CHALLENGE's public parameters list the user's factors, the factor of this round,
// the passkey assertion options and whether a code was sent. The ANSWER is a 6-digit code, a
// backup code, or the WebAuthn assertion JSON. To pick another factor, the app answers
// "select" with clientMetadata {"mfaAction": "select", "mfaFactorId": "<id>"}: the next round
// uses that factor (and sends its code) without counting a failure.
package cognito

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/locale"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// Challenge names Cognito uses.
const (
	srpA             = "SRP_A"
	passwordVerifier = "PASSWORD_VERIFIER"
	password         = "PASSWORD"
	customChallenge  = "CUSTOM_CHALLENGE"
)

// clientMetadata keys the app may send.
const (
	metaAction      = "mfaAction"      // "select": this answer picks a factor
	metaFactorID    = "mfaFactorId"    // the factor picked
	metaDeviceToken = "mfaDeviceToken" // a trusted-device token
	metaOrg         = "organizationId"
	metaLocale      = "locale"  // the language of the code (BCP 47), like a request's locale
	roundPrefix     = "MFA:"    // challengeMetadata of a round: MFA:<factorId>[:picked]
	pickedSuffix    = ":picked" // the round was opened by a pick of factor
)

// maxRounds bounds one Cognito session. How many wrong answers it takes is the regulator's
// limit per challenge (mfa.Core.MaxWrongAnswers): a sign-in is to Cognito what a challenge
// is to the HTTP routes.
const maxRounds = 12

// cognitoCaller is who acts in the domain for the triggers: Cognito, on behalf of the user.
var cognitoCaller = mfa.Caller{Kind: mfa.CallerService, Subject: "cognito"}

// Triggers holds the three handlers. Each trigger is its own function, built with the
// services its handler calls: ForDefine, ForCreate, ForVerify.
type Triggers struct {
	Service Services
	Log     *slog.Logger
}

// Services are the domain's use cases behind the triggers.
type Services struct {
	*mfa.Decider       // Define
	*mfa.Challenges    // Create
	*mfa.Deliveries    // Create
	*mfa.Verifications // Verify
}

// The triggers' handler types, as the functions hand them to the Lambda runtime.
type (
	DefineHandler = func(context.Context, events.CognitoEventUserPoolsDefineAuthChallenge) (events.CognitoEventUserPoolsDefineAuthChallenge, error)
	CreateHandler = func(context.Context, events.CognitoEventUserPoolsCreateAuthChallenge) (events.CognitoEventUserPoolsCreateAuthChallenge, error)
	VerifyHandler = func(context.Context, events.CognitoEventUserPoolsVerifyAuthChallenge) (events.CognitoEventUserPoolsVerifyAuthChallenge, error)
)

// ForDefine is the DefineAuthChallenge trigger (serve its Define): the policy's decision,
// nothing stored.
func ForDefine(d *mfa.Decider, log *slog.Logger) *Triggers {
	return &Triggers{Service: Services{Decider: d}, Log: log}
}

// ForCreate is the CreateAuthChallenge trigger (serve its Create): challenges and their codes.
func ForCreate(c *mfa.Challenges, d *mfa.Deliveries, log *slog.Logger) *Triggers {
	return &Triggers{Service: Services{Decider: c.Decider, Challenges: c, Deliveries: d}, Log: log}
}

// ForVerify is the VerifyAuthChallengeResponse trigger (serve its Verify).
func ForVerify(v *mfa.Verifications, log *slog.Logger) *Triggers {
	return &Triggers{Service: Services{Verifications: v}, Log: log}
}

func subOf(attrs map[string]string) (string, bool) {
	sub := attrs["sub"]
	return sub, mfa.ValidUserID(sub)
}

// Define decides the next step: password first, then MFA when the policy says so, tokens
// only when the password step and the last MFA round both succeeded.
func (t *Triggers) Define(ctx context.Context, ev events.CognitoEventUserPoolsDefineAuthChallenge) (events.CognitoEventUserPoolsDefineAuthChallenge, error) {
	fail := func(why string) (events.CognitoEventUserPoolsDefineAuthChallenge, error) {
		t.Log.Info("cognito define: fail", slog.String("why", why))
		ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{FailAuthentication: true}
		return ev, nil
	}
	sub, ok := subOf(ev.Request.UserAttributes)
	if ev.Request.UserNotFound || !ok {
		return fail("user not found")
	}
	next, why, needsPolicy := defineStep(ev.Request.Session, ev.Request.ClientMetadata, t.Service.Decider.MaxWrongAnswers())
	if why != "" {
		return fail(why)
	}
	if needsPolicy {
		res, err := t.Service.Preview(ctx, cognitoCaller, sub, mfa.ChallengeRequest{
			Purpose: mfa.PurposeSignIn, OrganizationID: ev.Request.ClientMetadata[metaOrg], DeviceToken: ev.Request.ClientMetadata[metaDeviceToken],
		})
		if err != nil {
			// Fail closed: when the decision cannot be made, nobody gets tokens.
			t.Log.Error("cognito define: decision", slog.String("error", err.Error()))
			return fail("decision unavailable")
		}
		if !res.MFARequired {
			ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{IssueTokens: true}
			return ev, nil
		}
		ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{ChallengeName: customChallenge}
		return ev, nil
	}
	ev.Response = next
	return ev, nil
}

// defineStep is Define's decision from the session alone: the next challenge, tokens, or a
// reason to fail (why). needsPolicy says the password step succeeded and no MFA round ran
// yet: then the policy decides between tokens and a first round, and next is empty. The
// session fails after maxWrong wrong answers.
func defineStep(session []*events.CognitoEventUserPoolsChallengeResult, clientMetadata map[string]string, maxWrong int) (next events.CognitoEventUserPoolsDefineAuthChallengeResponse, why string, needsPolicy bool) {
	if len(session) > maxRounds {
		return next, "too many rounds", false
	}
	for _, s := range session {
		if s == nil {
			return next, "null step in the session", false
		}
	}
	// The password step: SRP (SRP_A, then PASSWORD_VERIFIER) or a plain password step.
	if len(session) == 0 {
		return next, "no password step: start CUSTOM_AUTH with SRP_A", false
	}
	if len(session) == 1 && session[0].ChallengeName == srpA {
		return events.CognitoEventUserPoolsDefineAuthChallengeResponse{ChallengeName: passwordVerifier}, "", false
	}
	pw := 0
	if session[0].ChallengeName == srpA {
		pw = 1
	}
	if pw >= len(session) || (session[pw].ChallengeName != passwordVerifier && session[pw].ChallengeName != password) || !session[pw].ChallengeResult {
		return next, "password step missing or failed", false
	}
	rounds := session[pw+1:]
	for _, r := range rounds {
		if r.ChallengeName != customChallenge || !strings.HasPrefix(r.ChallengeMetadata, roundPrefix) {
			return next, "unexpected step " + r.ChallengeName, false
		}
	}
	if len(rounds) == 0 {
		return next, "", true
	}
	last := rounds[len(rounds)-1]
	if last.ChallengeResult {
		return events.CognitoEventUserPoolsDefineAuthChallengeResponse{IssueTokens: true}, "", false
	}
	// A round answered with a pick of factor is no wrong answer: the round after it says
	// so in its metadata, and the last round by the current call's clientMetadata.
	wrong := 0
	for i, r := range rounds {
		selection := (i == len(rounds)-1 && clientMetadata[metaAction] == "select") ||
			(i+1 < len(rounds) && strings.HasSuffix(rounds[i+1].ChallengeMetadata, pickedSuffix))
		if !r.ChallengeResult && !selection {
			wrong++
		}
	}
	if wrong >= maxWrong {
		return next, "too many wrong answers", false
	}
	return events.CognitoEventUserPoolsDefineAuthChallengeResponse{ChallengeName: customChallenge}, "", false
}

// Create opens a challenge for the round: its factors and default are published, the
// challenge id stays private, and an email or SMS code goes out when that is the round's
// factor.
func (t *Triggers) Create(ctx context.Context, ev events.CognitoEventUserPoolsCreateAuthChallenge) (events.CognitoEventUserPoolsCreateAuthChallenge, error) {
	if ev.Request.ChallengeName != customChallenge {
		return ev, nil
	}
	sub, ok := subOf(ev.Request.UserAttributes)
	if ev.Request.UserNotFound || !ok {
		return ev, errors.New("cognito create: no such user")
	}
	meta := ev.Request.ClientMetadata
	res, err := t.Service.CreateChallenge(ctx, cognitoCaller, sub, mfa.ChallengeRequest{
		Purpose: mfa.PurposeSignIn, OrganizationID: meta[metaOrg], DeviceToken: meta[metaDeviceToken],
	})
	if err != nil {
		return ev, fmt.Errorf("cognito create: %w", err)
	}
	// The round's factor: picked now, else the one of the previous round, else the default.
	factorID := res.DefaultFactorID
	if prev := previousFactor(ev.Request.Session); prev != "" {
		factorID = prev
	}
	if picked := meta[metaFactorID]; picked != "" {
		factorID = picked
	}
	var round *mfa.Factor
	factors := make([]map[string]string, 0, len(res.Factors))
	for i, f := range res.Factors {
		factors = append(factors, map[string]string{"id": f.ID, "type": string(f.Type), "label": f.Label, "maskedDestination": mfa.MaskedDestination(f)})
		if f.ID == factorID {
			round = &res.Factors[i]
		}
	}
	if round == nil && len(res.Factors) > 0 {
		round = &res.Factors[0]
	}
	list, _ := json.Marshal(factors)
	public := map[string]string{"factors": string(list), "defaultFactorId": res.DefaultFactorID, "codeSent": "false"}
	private := map[string]string{"challengeId": res.ChallengeID}
	if res.WebAuthn != nil {
		public["webauthn"] = string(res.WebAuthn)
	}
	if round != nil {
		public["factorId"], public["factorType"] = round.ID, string(round.Type)
		private["factorId"], private["factorType"] = round.ID, string(round.Type)
		if round.Type == mfa.TypeEmail || round.Type == mfa.TypeSMS {
			// The language: the app's clientMetadata locale, else the user's Cognito locale
			// attribute (as a token's locale claim), else the one stored with the factor.
			caller := cognitoCaller
			caller.Locale = strings.ReplaceAll(ev.Request.UserAttributes["locale"], "_", "-")
			lang := meta[metaLocale]
			if _, err := locale.Parse(lang); err != nil {
				lang = "" // a malformed tag from the app must not cost the user their code
			}
			d, err := t.Service.SendOpenedCode(ctx, caller, res, mfa.DeliveryRequest{FactorID: round.ID, Locale: lang})
			if err == nil {
				public["codeSent"], public["maskedDestination"] = "true", d.MaskedDestination
			} else {
				// The round still stands (another factor can answer); the app sees codeSent=false.
				public["codeError"] = mfa.AsError(err).Code
			}
		}
		ev.Response.ChallengeMetadata = roundPrefix + round.ID
		if meta[metaAction] == "select" {
			ev.Response.ChallengeMetadata += pickedSuffix
		}
	} else {
		ev.Response.ChallengeMetadata = roundPrefix
	}
	ev.Response.PublicChallengeParameters, ev.Response.PrivateChallengeParameters = public, private
	return ev, nil
}

func previousFactor(session []*events.CognitoEventUserPoolsChallengeResult) string {
	for i := len(session) - 1; i >= 0; i-- {
		if session[i] == nil {
			continue
		}
		if id, ok := strings.CutPrefix(session[i].ChallengeMetadata, roundPrefix); ok && id != "" {
			return strings.TrimSuffix(id, pickedSuffix)
		}
	}
	return ""
}

// Verify checks the answer with exactly the rules and counters of the HTTP verify route.
func (t *Triggers) Verify(ctx context.Context, ev events.CognitoEventUserPoolsVerifyAuthChallenge) (events.CognitoEventUserPoolsVerifyAuthChallenge, error) {
	ev.Response.AnswerCorrect = false
	sub, ok := subOf(ev.Request.UserAttributes)
	if ev.Request.UserNotFound || !ok {
		return ev, nil
	}
	if ev.Request.ClientMetadata[metaAction] == "select" {
		return ev, nil // a pick of factor, not an answer: nothing is compared, nothing counted
	}
	answer, _ := ev.Request.ChallengeAnswer.(string)
	answer = strings.TrimSpace(answer)
	priv := ev.Request.PrivateChallengeParameters
	req := mfa.VerifyRequest{FactorID: priv["factorId"], Type: mfa.FactorType(priv["factorType"]), Code: answer}
	switch {
	case strings.HasPrefix(answer, "{"):
		req = mfa.VerifyRequest{Type: mfa.TypeWebAuthn, Credential: []byte(answer)}
	case looksLikeBackupCode(answer):
		req = mfa.VerifyRequest{Type: mfa.TypeBackupCodes, Code: answer}
	}
	if _, err := t.Service.Verify(ctx, cognitoCaller, sub, priv["challengeId"], req); err != nil {
		t.Log.Info("cognito verify: refused", slog.String("code", mfa.AsError(err).Code))
		return ev, nil
	}
	ev.Response.AnswerCorrect = true
	return ev, nil
}

// looksLikeBackupCode tells a backup code (16 letters and digits, any grouping) from a 6-digit
// code. The separators are those the domain forgives in a backup code (mfa.normalizeBackupCode).
func looksLikeBackupCode(s string) bool {
	n := 0
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '_' || r == '.':
		case (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			n++
		default:
			return false
		}
	}
	return n == 16
}
