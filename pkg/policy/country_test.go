package policy

import (
	"regexp"
	"testing"
)

// isCountryCode accepts exactly what ^[A-Z]{2}$ accepts.
func TestIsCountryCodeAgreesWithItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Z]{2}$`)
	inputs := []string{"", "U", "US", "us", "Us", "USA", "U1", "@A", "[A", "A[", "AZ", "ZA", " US", "US\n", "ÄB"}
	for a := 0; a < 256; a++ {
		inputs = append(inputs, string([]byte{byte(a), 'Q'}), string([]byte{'Q', byte(a)}))
	}
	for _, in := range inputs {
		if got, want := isCountryCode(in), re.MatchString(in); got != want {
			t.Errorf("%q: isCountryCode %v, pattern %v", in, got, want)
		}
	}
}
