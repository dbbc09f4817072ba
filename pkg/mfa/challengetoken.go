package mfa

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// A challenge is stateless: its challengeId is a token that carries what the challenge fixed
// when it opened (the factors it offers, its purpose, organization, default factor, expiry,
// locale and the sign-in context), protected by a MAC under the service's keyed hash, which
// the challenge and verify functions (and the Cognito triggers) already hold. Opening a
// challenge therefore writes nothing: a sign-in pays for DynamoDB writes only when it is
// answered. What must be remembered about a challenge once it is answered — how many wrong
// answers it took, and that it was used — is kept on the user's state item, keyed by the
// token's random id (Challenge.ID), by the same conditional write that counts the answer.
// A challenge that offers passkeys also stores its WebAuthn session server-side (DESIGN §6.6),
// under the same id.
//
// Wire form: "c" + base64url(JSON claims) + "." + base64url(first 16 bytes of
// HMAC-SHA-256(user id, claims)). The user id is bound by the MAC, not carried.

// maxChallengeIDLen bounds a challenge id: an id longer than any this service issues is
// malformed, before any work is done on it.
const maxChallengeIDLen = 2048

// A challenge id's two parts: its claims, at least 16 base64url characters, and its MAC, 22
// (16 bytes). The id is what ^c[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{22}$ says, checked without a
// regular expression on every verification: the MAC's alphabet has no ".", so the dot is the
// 23rd byte from the end.
var (
	challengePayloadShape = newIDShape("A-Za-z0-9_-", 16, maxChallengeIDLen)
	challengeMACShape     = newIDShape("A-Za-z0-9_-", 22, 22)
)

// ValidChallengeID reports whether s has the shape of a challenge id this service issues.
func ValidChallengeID(s string) bool {
	const mac = 22
	if len(s) > maxChallengeIDLen || len(s) < 1+16+1+mac || s[0] != 'c' || s[len(s)-mac-1] != '.' {
		return false
	}
	return challengePayloadShape.MatchString(s[1:len(s)-mac-1]) && challengeMACShape.MatchString(s[len(s)-mac:])
}

// challengeClaims is the JSON inside a challenge id; short names keep ids short.
type challengeClaims struct {
	ID       string   `json:"r"`           // 128 random bits: the key of what is stored about it
	Purpose  string   `json:"p,omitempty"` // "" is sign_in
	Org      string   `json:"o,omitempty"`
	Offered  []string `json:"f,omitempty"` // "<type letter><factor id>"
	Default  string   `json:"d,omitempty"`
	Created  int64    `json:"c"`
	Expires  int64    `json:"e"`
	Locale   string   `json:"l,omitempty"`
	IP       string   `json:"i,omitempty"`
	Device   string   `json:"v,omitempty"`
	Passkeys bool     `json:"k,omitempty"` // a WebAuthn session is stored under ID
}

var typeLetters = map[FactorType]string{TypeTOTP: "t", TypeWebAuthn: "w", TypeEmail: "e", TypeSMS: "s", TypeBackupCodes: "b"}

// typeOfLetter is the inverse of typeLetters (TestTypeOfLetterInvertsTypeLetters).
func typeOfLetter(l string) (FactorType, bool) {
	switch l {
	case "t":
		return TypeTOTP, true
	case "w":
		return TypeWebAuthn, true
	case "e":
		return TypeEmail, true
	case "s":
		return TypeSMS, true
	case "b":
		return TypeBackupCodes, true
	}
	return "", false
}

func (s *Core) challengeMAC(userID, payload string) []byte {
	return s.Hasher.Hash("challenge-id", []byte(userID+"\x00"+payload))[:16]
}

// challengeToken is the wire id of a challenge.
func (s *Core) challengeToken(ch Challenge) (string, error) {
	c := challengeClaims{
		ID: ch.ID, Org: ch.OrganizationID, Default: ch.DefaultFactorID,
		Created: ch.CreatedAt.UnixMilli(), Expires: ch.ExpiresAt.UnixMilli(),
		Locale: ch.Locale, IP: ch.ContextIP, Device: ch.ContextDevice, Passkeys: len(ch.PasskeySession) > 0,
	}
	if ch.Purpose != PurposeSignIn {
		c.Purpose = ch.Purpose
	}
	for _, o := range ch.Offered {
		c.Offered = append(c.Offered, typeLetters[o.Type]+o.ID)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return "c" + payload + "." + base64.RawURLEncoding.EncodeToString(s.challengeMAC(ch.UserID, payload)), nil
}

// parseChallenge checks a challenge id's shape (a malformed id is bad input) and its MAC for
// this user (an id this service did not issue to this user is no challenge: not found), and
// returns the challenge it fixes, open and unanswered as far as the id can tell.
func (s *Core) parseChallenge(userID, id string) (Challenge, error) {
	if !ValidChallengeID(id) {
		return Challenge{}, Invalid(CodeInvalidRequest, "challengeId", "challengeId is malformed")
	}
	payload, mac, _ := strings.Cut(id[1:], ".")
	var got [16]byte // the shape checked: 22 base64url characters, 16 bytes
	n, err := base64.RawURLEncoding.Decode(got[:], []byte(mac))
	if err != nil || !hmac.Equal(got[:n], s.challengeMAC(userID, payload)) {
		return Challenge{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Challenge{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	c, err := decodeChallengeClaims(raw)
	if err != nil || !ValidID(c.ID) {
		return Challenge{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	ch := Challenge{
		ID: c.ID, UserID: userID, Purpose: c.Purpose, OrganizationID: c.Org, DefaultFactorID: c.Default,
		Status: ChallengeOpen, CreatedAt: time.UnixMilli(c.Created).UTC(), ExpiresAt: time.UnixMilli(c.Expires).UTC(),
		Locale: c.Locale, ContextIP: c.IP, ContextDevice: c.Device, HasPasskeySession: c.Passkeys,
	}
	if ch.Purpose == "" {
		ch.Purpose = PurposeSignIn
	}
	for _, o := range c.Offered {
		t, ok := typeOfLetter(o[:min(1, len(o))])
		if !ok || !ValidID(o[1:]) {
			return Challenge{}, notFound(CodeChallengeNotFound, "no such challenge")
		}
		ch.Offered = append(ch.Offered, OfferedFactor{ID: o[1:], Type: t})
	}
	return ch, nil
}

// tally returns the state's tally of challenge id (zero when it was never answered).
func (st UserState) tally(id string) Tally {
	for _, t := range st.Tallies {
		if t.ChallengeID == id {
			return t
		}
	}
	return Tally{ChallengeID: id}
}

// use is the challenge an answer counts on, with the expired tallies the write removes.
func (st UserState) use(ch Challenge, now time.Time) ChallengeUse {
	moves := st.ListedAt.IsZero() || ch.CreatedAt.Sub(st.ListedAt) >= DirectoryActivityStep
	return ChallengeUse{ID: ch.ID, CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt,
		MovesInDirectory: moves, Settled: !moves && !st.FirstSeenAt.IsZero(),
		Expired: st.expired(ch.ID, now)}
}

// expired lists the challenges, other than except, whose tallies (and codes) have expired:
// the next write of the state removes them.
func (st UserState) expired(except string, now time.Time) []string {
	var out []string
	for _, t := range st.Tallies {
		if t.ChallengeID != except && !now.Before(t.ExpiresAt) {
			out = append(out, t.ChallengeID)
		}
	}
	return out
}

// withTally is ch as its tally on the user's state leaves it.
func withTally(ch Challenge, st UserState) Challenge {
	t := st.tally(ch.ID)
	ch.Failures = t.Failures
	if t.Used {
		ch.Status = ChallengeVerified
	}
	return ch
}
