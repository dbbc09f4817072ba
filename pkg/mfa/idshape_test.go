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
