package mfa

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The id shapes accept exactly what the regular expressions they replace accept.
func TestIDShapesAgreeWithTheirPatterns(t *testing.T) {
	shapes := []struct {
		name  string
		shape *idShape
		re    *regexp.Regexp
	}{
		{"user id", userIDPattern, regexp.MustCompile(`^[A-Za-z0-9._~@|:+\-]{1,128}$`)},
		{"id", idPattern, regexp.MustCompile(`^[a-z2-7]{26}$`)},
		{"device id", deviceIDPattern, regexp.MustCompile(`^[A-Za-z0-9._~:-]{1,128}$`)},
	}
	fixed := []string{
		"", "a", "alice", "bench-user", "user@example.com", "a|b", "a+b", "a:b", "a~b", "a_b.c",
		"a b", "a/b", "a#b", "a\nb", "alice\n", "\nalice", "ä", "a\x00", "abcdefghijklmnopqrstuvwxyz",
		"abcdefghijklmnopqrstuvwxy2", "abcdefghijklmnopqrstuvwxy8", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"abcdefghijklmnopqrstuvwxyz7", strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129),
		"-", "--", "a-", "[", "]", "^", "\\", "\xff",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		inputs := append([]string(nil), fixed...)
		for i := 0; i < 20000; i++ {
			n := rng.IntN(140)
			if i%2 == 0 {
				n = 20 + rng.IntN(10) // around 26, the generated ids' length
			}
			b := make([]byte, n)
			for j := range b {
				if rng.IntN(20) == 0 {
					b[j] = byte(rng.IntN(256)) // any byte, now and then
				} else {
					b[j] = byte(32 + rng.IntN(95)) // printable ASCII
				}
			}
			inputs = append(inputs, string(b))
		}
		accepted := 0
		for _, in := range inputs {
			want := s.re.MatchString(in)
			if got := s.shape.MatchString(in); got != want {
				t.Errorf("%s: %q: shape says %v, pattern says %v", s.name, in, got, want)
			}
			if want {
				accepted++
			}
		}
		if accepted == 0 {
			t.Errorf("%s: no input was accepted: the comparison proves nothing", s.name)
		}
	}
}

// ValidChallengeID accepts exactly what the regular expression it replaces accepts, within
// the length limit: mutations of real ids (a byte changed, inserted or dropped, around the
// dot and the length bounds) and random strings.
func TestValidChallengeIDAgreesWithItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^c[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{22}$`)
	oracle := func(s string) bool { return len(s) <= maxChallengeIDLen && re.MatchString(s) }
	s := &Core{Hasher: keyedHash("k1")}
	real, err := s.challengeToken(Challenge{ID: "abcdefghijklmnopqrstuvwxyz", UserID: "alice", Purpose: PurposeSignIn})
	if err != nil {
		t.Fatal(err)
	}
	mac := strings.Repeat("A", 22)
	inputs := []string{
		"", "c", "c.", real, "c" + strings.Repeat("a", 16) + "." + mac, "c" + strings.Repeat("a", 15) + "." + mac,
		"c" + strings.Repeat("a", 16) + "." + mac[:21], "c" + strings.Repeat("a", 16) + "." + mac + "A",
		"c" + strings.Repeat("a", 16) + ".." + mac, "c" + strings.Repeat("a", 16) + "." + mac[:10] + "." + mac[11:],
		"d" + strings.Repeat("a", 16) + "." + mac, "C" + strings.Repeat("a", 16) + "." + mac,
		"c" + strings.Repeat("a", maxChallengeIDLen-24) + "." + mac, "c" + strings.Repeat("a", maxChallengeIDLen-23) + "." + mac,
		"c" + strings.Repeat("a", 16) + "." + mac + "\n", "c" + strings.Repeat("a", 16) + "=." + mac,
		"c" + strings.Repeat("a", 16) + "." + strings.Repeat("+", 22), "c" + strings.Repeat("/", 16) + "." + mac,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "abcXYZ019_-.+/=c \n\xff"
	for i := 0; i < 20000; i++ {
		b := []byte(real)
		switch rng.IntN(4) {
		case 0: // change a byte
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		case 1: // insert a byte
			j := rng.IntN(len(b) + 1)
			b = append(b[:j], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[j:]...)...)
		case 2: // drop a byte
			j := rng.IntN(len(b))
			b = append(b[:j], b[j+1:]...)
		default: // a random string around the shortest id's length
			b = make([]byte, 30+rng.IntN(20))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		inputs = append(inputs, string(b))
	}
	accepted, refused := 0, 0
	for _, in := range inputs {
		want := oracle(in)
		if got := ValidChallengeID(in); got != want {
			t.Errorf("%q: ValidChallengeID says %v, the pattern says %v", in, got, want)
		}
		if want {
			accepted++
		} else {
			refused++
		}
	}
	if accepted < 100 || refused < 100 {
		t.Errorf("%d accepted, %d refused: the comparison proves little", accepted, refused)
	}
}
