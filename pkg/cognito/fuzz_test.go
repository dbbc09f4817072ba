package cognito

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// Fuzz targets of the Define trigger's session logic and of the answer classification. Both
// are pure: no store is reached. `go test` runs the seeds in testdata/fuzz/<FuzzName>;
// `make fuzz` explores further.

// A fuzzed session is three bytes a step: the challenge name, the result (low bit), the
// metadata. A name byte of 0xff is a null step. The two strings give a free-form name and
// metadata where the selector picks them.
func fuzzSession(steps []byte, freeName, freeMeta string) []*events.CognitoEventUserPoolsChallengeResult {
	names := []string{srpA, passwordVerifier, password, customChallenge, "DEVICE_SRP_AUTH", "", freeName, "custom_challenge"}
	metas := []string{"", roundPrefix, roundPrefix + "abcdefghijklmnopqrstuvwxyz", roundPrefix + "abcdefghijklmnopqrstuvwxyz" + pickedSuffix, freeMeta, "mfa:x", "MFA", roundPrefix + freeMeta}
	var out []*events.CognitoEventUserPoolsChallengeResult
	for i := 0; i+2 < len(steps); i += 3 {
		if steps[i] == 0xff {
			out = append(out, nil)
			continue
		}
		out = append(out, &events.CognitoEventUserPoolsChallengeResult{
			ChallengeName:     names[int(steps[i])%len(names)],
			ChallengeResult:   steps[i+1]&1 == 1,
			ChallengeMetadata: metas[int(steps[i+2])%len(metas)],
		})
	}
	return out
}

// passwordStep finds the password step where Define expects it (after an optional SRP_A)
// and says whether it succeeded.
func passwordStep(session []*events.CognitoEventUserPoolsChallengeResult) (int, bool) {
	pw := 0
	if len(session) > 0 && session[0] != nil && session[0].ChallengeName == srpA {
		pw = 1
	}
	if pw >= len(session) || session[pw] == nil {
		return pw, false
	}
	s := session[pw]
	return pw, (s.ChallengeName == passwordVerifier || s.ChallengeName == password) && s.ChallengeResult
}

func ourRound(r *events.CognitoEventUserPoolsChallengeResult) bool {
	return r != nil && r.ChallengeName == customChallenge && strings.HasPrefix(r.ChallengeMetadata, roundPrefix)
}

// FuzzDefineSession: for any session and clientMetadata, Define's decision is exactly one of
// fail, tokens, a challenge, or "ask the policy"; tokens only when the password step
// succeeded and every later step is a round of ours, the last one answered correctly; a
// policy decision only right after a successful password step; a further MFA round only
// after a successful password step, and never after too many wrong answers. The handler
// gives the same answer as the pure step wherever it does not need the policy.
func FuzzDefineSession(f *testing.F) {
	// Seeds follow the flows of the emulator tests: SRP_A; SRP_A + password; rounds.
	f.Add([]byte{0, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 0, 0}, "", "", "", "sub-1")
	f.Add([]byte{2, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 1, 2}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 0, 2, 3, 0, 2, 3, 1, 2}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 0, 2, 3, 0, 2, 3, 0, 2, 3, 0, 2, 3, 0, 2}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 0, 2, 3, 0, 3, 3, 0, 3, 3, 0, 3, 3, 0, 3}, "", "", "select", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 0, 2}, "", "", "select", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 6, 1, 1}, "CUSTOM_CHALLENGE", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 1, 4}, "", "MFA:x", "", "sub-1")
	f.Add([]byte{0, 1, 0, 0, 1, 0, 1, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{3, 1, 2}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 0xff, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0xff, 1, 0}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 0xff, 1, 2}, "", "", "", "sub-1")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 1, 2}, "", "", "", "")
	f.Add([]byte{0, 1, 0, 1, 1, 0, 3, 1, 2}, "", "", "", "bad/sub")
	f.Add(make([]byte, 3*(maxRounds+1)), "", "", "", "sub-1")

	maxWrong := mfa.DefaultRegulation.MaxChallengeFailures
	// A service with no store: only its regulation is reached below.
	triggers := &Triggers{Service: Services{Decider: &mfa.Decider{Core: &mfa.Core{Regulation: mfa.DefaultRegulation}}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, steps []byte, freeName, freeMeta, action, sub string) {
		session := fuzzSession(steps, freeName, freeMeta)
		meta := map[string]string{metaAction: action}
		next, why, needsPolicy := defineStep(session, meta, maxWrong)

		outcomes := 0
		for _, b := range []bool{why != "", needsPolicy, next.IssueTokens, next.ChallengeName != ""} {
			if b {
				outcomes++
			}
		}
		if outcomes != 1 || next.FailAuthentication || (next.IssueTokens && next.ChallengeName != "") {
			t.Fatalf("decision %+v why=%q policy=%v: want exactly one outcome", next, why, needsPolicy)
		}
		if (why != "" || needsPolicy) && !reflect.ValueOf(next).IsZero() {
			t.Fatalf("fail or policy decision with a response %+v", next)
		}

		pw, pwOK := passwordStep(session)
		allOurs := true
		for i := pw + 1; i < len(session); i++ {
			allOurs = allOurs && ourRound(session[i])
		}
		switch {
		case next.IssueTokens:
			last := session[len(session)-1]
			if !pwOK || len(session) < pw+2 || !allOurs || !last.ChallengeResult || len(session) > maxRounds {
				t.Fatalf("tokens for session %s", describe(session))
			}
		case needsPolicy:
			if !pwOK || len(session) != pw+1 {
				t.Fatalf("policy asked for session %s", describe(session))
			}
		case next.ChallengeName == passwordVerifier:
			if len(session) != 1 || session[0] == nil || session[0].ChallengeName != srpA {
				t.Fatalf("password verifier asked after %s", describe(session))
			}
		case next.ChallengeName == customChallenge:
			if !pwOK || len(session) < pw+2 || !allOurs || len(session) > maxRounds || session[len(session)-1].ChallengeResult {
				t.Fatalf("another round after %s", describe(session))
			}
			// A failed round counts unless it was a pick: the round after it says so, or, for
			// the last one, this call's clientMetadata.
			wrong := 0
			for i := pw + 1; i < len(session); i++ {
				picked := (i == len(session)-1 && action == "select") || (i+1 < len(session) && strings.HasSuffix(session[i+1].ChallengeMetadata, pickedSuffix))
				if !session[i].ChallengeResult && !picked {
					wrong++
				}
			}
			if wrong >= maxWrong {
				t.Fatalf("another round after %d wrong answers: %s", wrong, describe(session))
			}
		case next.ChallengeName != "":
			t.Fatalf("unknown challenge %q", next.ChallengeName)
		}

		// The handler: the same decision, or a failure for an unknown user.
		if needsPolicy {
			return // the policy needs the store: out of scope here
		}
		ev := events.CognitoEventUserPoolsDefineAuthChallenge{Request: events.CognitoEventUserPoolsDefineAuthChallengeRequest{
			UserAttributes: map[string]string{"sub": sub}, Session: session, ClientMetadata: meta,
		}}
		got, err := triggers.Define(context.Background(), ev)
		if err != nil {
			t.Fatalf("define: %v", err)
		}
		r := got.Response
		if r.IssueTokens && r.FailAuthentication {
			t.Fatal("define both issues tokens and fails")
		}
		want := next
		if why != "" || !validSub(sub) {
			want = events.CognitoEventUserPoolsDefineAuthChallengeResponse{FailAuthentication: true}
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("define answered %+v, want %+v (why %q)", r, want, why)
		}
	})
}

func validSub(sub string) bool {
	_, ok := subOf(map[string]string{"sub": sub})
	return ok
}

func describe(session []*events.CognitoEventUserPoolsChallengeResult) string {
	var b strings.Builder
	for _, s := range session {
		if s == nil {
			b.WriteString("[null]")
			continue
		}
		b.WriteString("[" + s.ChallengeName + " ")
		if s.ChallengeResult {
			b.WriteString("ok ")
		} else {
			b.WriteString("no ")
		}
		b.WriteString(s.ChallengeMetadata + "]")
	}
	return b.String()
}

const crockfordAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// backupTyping are the separators the domain forgives in a backup code (mfa.normalizeBackupCode).
var backupTyping = []string{"", "", "-", " ", "_", ".", " - "}

// FuzzLooksLikeBackupCode: an answer classed as a backup code has 16 ASCII letters and digits
// and only separators besides; no 6-digit code, however typed, is classed as one; and every
// backup code, typed in any case with any separator the domain forgives, is classed as one.
func FuzzLooksLikeBackupCode(f *testing.F) {
	f.Add("abcd-efgh-jkmn-pqrs", []byte("0123456789abcdef"), []byte{})
	f.Add("ABCD EFGH JKMN PQRS", []byte("fedcba9876543210"), []byte{1, 2, 3, 4, 5, 6})
	f.Add("abcd_efgh_jkmn_pqrs", []byte{}, []byte{4, 0, 0, 0, 4})
	f.Add("abcd.efgh.jkmn.pqrs", []byte{}, []byte{5, 0, 0, 0, 5})
	f.Add("123456", []byte{}, []byte{})
	f.Add("123 456", []byte{}, []byte{})
	f.Add("{\"id\":\"abcdefghijklmnop\"}", []byte{}, []byte{})
	f.Add("abcdefghijklmnopq", []byte{}, []byte{})
	f.Add("\u212abcd-efgh-jkmn-pqrs", []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, answer string, random, variant []byte) {
		if looksLikeBackupCode(answer) {
			n := 0
			for i := 0; i < len(answer); i++ {
				c := answer[i]
				switch {
				case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
					n++
				case strings.IndexByte("- _.", c) >= 0:
				default:
					t.Fatalf("%q classed as a backup code: byte %q", answer, c)
				}
			}
			if n != 16 {
				t.Fatalf("%q classed as a backup code with %d letters and digits", answer, n)
			}
		}
		k := 0
		next := func() int { k++; return at(variant, k-1) }

		// A 6-digit code, with spaces or dashes.
		var otp strings.Builder
		for i := range 6 {
			otp.WriteByte('0' + byte(at(random, i)%10))
			otp.WriteString([]string{"", " ", "-"}[next()%3])
		}
		if looksLikeBackupCode(strings.TrimSpace(otp.String())) {
			t.Fatalf("6-digit code %q classed as a backup code", otp.String())
		}

		// A backup code of the service's alphabet, as a person might type it.
		var typed strings.Builder
		typed.WriteString(backupTyping[next()%len(backupTyping)])
		for i := range 16 {
			c := crockfordAlphabet[at(random, i)%32]
			if next()%2 == 1 {
				c = strings.ToUpper(string(c))[0]
			}
			typed.WriteByte(c)
			typed.WriteString(backupTyping[next()%len(backupTyping)])
		}
		// Verify trims the answer before classing it.
		if answer := strings.TrimSpace(typed.String()); !looksLikeBackupCode(answer) {
			t.Fatalf("backup code typed as %q is not classed as one", answer)
		}
	})
}

func at(b []byte, i int) int {
	if i < len(b) {
		return int(b[i])
	}
	return 0
}
