package notify

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// isHostname accepts exactly what the expression it replaces accepts.
func TestIsHostnameAgreesWithItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	inputs := []string{
		"", "a", "example.com", "login.acme.example.jp", "a-b.c", "-a.com", "a-.com", "a..b", ".a", "a.", "A.com",
		"xn--bcher-kva.example", "a_b.com", "a b", "1.2.3.4", strings.Repeat("a", 63) + ".com", strings.Repeat("a", 64) + ".com",
		"a." + strings.Repeat("b", 63), "a." + strings.Repeat("b", 64), strings.Repeat("a-", 31) + "a", "é.com", "a\n",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "ab09-.-.A_"
	for i := 0; i < 50000; i++ {
		n := rng.IntN(80)
		if i%10 == 0 {
			n = 55 + rng.IntN(20) // around the 63-byte label limit
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
			if i%3 == 0 && rng.IntN(10) != 0 {
				b[j] = 'a' + byte(rng.IntN(3)) // long labels
			}
		}
		inputs = append(inputs, string(b))
	}
	accepted := 0
	for _, in := range inputs {
		want := re.MatchString(in)
		if got := isHostname(in); got != want {
			t.Errorf("%q: isHostname %v, pattern %v", in, got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < 100 {
		t.Errorf("only %d inputs accepted: the comparison proves little", accepted)
	}
}
