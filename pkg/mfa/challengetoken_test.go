package mfa

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

type keyedHash []byte

func (k keyedHash) Hash(purpose string, value []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(purpose + "\x00"))
	m.Write(value)
	return m.Sum(nil)
}

// TestChallengeIDCarriesTheChallengeUnforgeably: a challenge id gives back exactly the
// challenge it was issued for, to the user it was issued to; any change to it, another user,
// or another key makes it no challenge (404), and an id of the wrong shape is bad input (400).
func TestChallengeIDCarriesTheChallengeUnforgeably(t *testing.T) {
	s := &Core{Hasher: keyedHash("k1")}
	now := time.UnixMilli(1_796_000_000_123).UTC()
	ch := Challenge{
		ID: "abcdefghijklmnopqrstuvwxyz", UserID: "alice", Purpose: PurposeStepUp, OrganizationID: "acme",
		Offered:         []OfferedFactor{{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Type: TypeTOTP}, {ID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", Type: TypeEmail}, {ID: "cccccccccccccccccccccccccc", Type: TypeBackupCodes}},
		DefaultFactorID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Status: ChallengeOpen, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
		Locale: "de", ContextIP: "198.51.100.7", ContextDevice: "dev-1", PasskeySession: []byte("session"),
	}
	id, err := s.challengeToken(ch)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidChallengeID(id) || len(id) > 600 {
		t.Fatalf("id %q (%d chars)", id, len(id))
	}
	got, err := s.parseChallenge("alice", id)
	if err != nil {
		t.Fatal(err)
	}
	want := ch
	want.PasskeySession, want.HasPasskeySession = nil, true
	if got.ID != want.ID || got.UserID != "alice" || got.Purpose != want.Purpose || got.OrganizationID != want.OrganizationID ||
		got.DefaultFactorID != want.DefaultFactorID || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.Locale != "de" || got.ContextIP != want.ContextIP || got.ContextDevice != want.ContextDevice || !got.HasPasskeySession ||
		len(got.Offered) != 3 || got.Offered[1] != want.Offered[1] || got.Offered[2] != want.Offered[2] || got.Status != ChallengeOpen {
		t.Fatalf("parsed %+v\nwant   %+v", got, want)
	}

	notFound := func(name, uid, id string, s *Core) {
		t.Helper()
		_, err := s.parseChallenge(uid, id)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeChallengeNotFound {
			t.Errorf("%s: %v, want challenge_not_found", name, err)
		}
	}
	notFound("another user", "bob", id, s)
	notFound("another key", "alice", id, &Core{Hasher: keyedHash("k2")})
	payload, mac, _ := strings.Cut(id[1:], ".")
	for i := 0; i < len(payload); i += 7 {
		flipped := []byte(payload)
		flipped[i] ^= 1
		if flipped[i] == '.' || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(flipped[i])) {
			continue
		}
		notFound("a changed claim", "alice", "c"+string(flipped)+"."+mac, s)
	}
	notFound("a changed MAC", "alice", "c"+payload+"."+strings.Repeat("A", 22), s)

	for _, bad := range []string{"", "abcdefghijklmnopqrstuvwxyz", "c.x", "c" + payload + "." + mac + "=", "c" + payload + ".." + mac, "c" + strings.Repeat("a", 3000) + "." + mac, "c" + payload + "/." + mac} {
		_, err := s.parseChallenge("alice", bad)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidRequest {
			t.Errorf("malformed %.40q: %v, want invalid_request", bad, err)
		}
	}
}

// An answer counts on its challenge's tally and removes the expired ones; it moves the user
// in the admin directory's activity order at most once per DirectoryActivityStep.
func TestChallengeUse(t *testing.T) {
	now := time.Unix(1_796_000_000, 0).UTC()
	ch := Challenge{ID: "c", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute)}
	st := UserState{Tallies: []Tally{
		{ChallengeID: "c", Failures: 2, ExpiresAt: ch.ExpiresAt},
		{ChallengeID: "old", Failures: 1, ExpiresAt: now.Add(-time.Second)},
		{ChallengeID: "live", Used: true, ExpiresAt: now.Add(time.Minute)},
	}}
	u := st.use(ch, now)
	if u.ID != "c" || len(u.Expired) != 1 || u.Expired[0] != "old" || !u.MovesInDirectory {
		t.Fatalf("use %+v", u)
	}
	if got := withTally(ch, st); got.Failures != 2 || got.Status != "" {
		t.Errorf("challenge with its tally: %+v", got)
	}
	if u.Settled {
		t.Error("a user never listed is settled: the answer would not list them")
	}
	st.ListedAt = ch.CreatedAt.Add(-DirectoryActivityStep + time.Second)
	if u := st.use(ch, now); u.MovesInDirectory || u.Settled {
		t.Errorf("moved again within the step, or settled without a first-seen time: %+v", u)
	}
	// Listed, first seen and not moving: the answer's write leaves both alone.
	st.FirstSeenAt = ch.CreatedAt.Add(-48 * time.Hour)
	if u := st.use(ch, now); u.MovesInDirectory || !u.Settled {
		t.Errorf("a listed user within the step: %+v, want settled", u)
	}
	st.ListedAt = ch.CreatedAt.Add(-DirectoryActivityStep)
	if u := st.use(ch, now); !u.MovesInDirectory || u.Settled {
		t.Errorf("not moved after the step: %+v", u)
	}
	st.Tallies[0].Used = true
	if got := withTally(ch, st); got.Status != ChallengeVerified {
		t.Errorf("a used challenge: %+v", got)
	}
}
