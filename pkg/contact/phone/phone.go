// Package phone parses, normalises and masks phone numbers with libphonenumber's number plan,
// generated from the library's metadata (plan.go, metadata_gen.go) so that the functions that
// take new numbers do not link the library. It is apart from package contact because the plan
// is large: only those functions link it.
package phone

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/mfa-service/mfa/pkg/contact"
)

// Phone is a parsed phone number.
type Phone struct {
	// E164 is the number in E.164 form, e.g. "+442079460958": what SNS sends to and what
	// two spellings of one number have in common.
	E164 string
	// Region is the number's ISO 3166-1 alpha-2 country, e.g. "GB", for SMS country rules.
	Region string
}

// maxPhoneLen bounds the input before the parser sees it; the longest E.164 number has 15
// digits, which leaves generous room for spaces and punctuation.
const maxPhoneLen = 32

// Parse parses a phone number in international form: "+", the country calling code and
// the number, optionally grouped with spaces, dashes, dots or parentheses ("+44 20 7946 0958").
// The number must be valid for its country by libphonenumber's metadata, and belong to a
// country: non-geographic numbers (+800, +881, ...) cannot receive ordinary SMS. Letters
// (vanity numbers, "ext.") are refused rather than translated, so that what the user typed
// is the number that gets the code.
func Parse(s string) (Phone, error) {
	s = strings.TrimSpace(s)
	bad := func(reason string) (Phone, error) {
		return Phone{}, &invalidError{reason: reason}
	}
	switch {
	case s == "":
		return bad("it is empty")
	case len(s) > maxPhoneLen:
		return bad("it is too long")
	case s[0] != '+':
		return bad("it must start with + and the country calling code, like +44 20 7946 0958")
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9') && strings.IndexByte(" -.()", c) < 0 {
			return bad("it may only contain digits, spaces and - . ( ) after the +")
		}
	}

	var digits strings.Builder
	for i := 1; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			digits.WriteByte(c)
		}
	}
	if _, _, ok := splitCountryCode(digits.String()); !ok {
		return bad("it is not a phone number")
	}
	cc, nsn, region, ok := lookup(digits.String())
	if !ok {
		if regions := plan()[ccOf(digits.String())]; len(regions) == 0 { // "+800", "+881", ...
			return bad("it does not belong to a country")
		}
		return bad("it is not a valid number for its country")
	}
	return Phone{E164: "+" + strconv.Itoa(cc) + nsn, Region: region}, nil
}

// ccOf is the country calling code that digits start with, or 0.
func ccOf(digits string) int {
	cc, _, _ := splitCountryCode(digits)
	return cc
}

// Masked shows the number so its owner recognises it: "+", the country calling code, one "•"
// per hidden digit and the last 4 digits ("+44••••••0958"). Very short national numbers keep
// at least two digits hidden. A Phone that does not hold an E.164 number hides everything
// but its last digits.
func (p Phone) Masked() string {
	digits := strings.TrimPrefix(p.E164, "+")
	cc := ""
	if n, rest, ok := splitCountryCode(digits); ok && len(digits) > minNSN && len(rest) >= minNSN {
		cc = strconv.Itoa(n)
	}
	if !strings.HasPrefix(digits, cc) {
		cc = ""
	}
	rest := digits[len(cc):]
	shown := min(4, max(len(rest)-2, 0))
	return "+" + cc + strings.Repeat(mask, len(rest)-shown) + rest[len(rest)-shown:]
}

// mask stands for each hidden digit, as in contact's masked addresses.
const mask = "•"

// invalidError says why a number was refused, without repeating it; it matches
// contact.ErrInvalid with errors.Is.
type invalidError struct{ reason string }

func (e *invalidError) Error() string        { return "invalid phone number: " + e.reason }
func (e *invalidError) Is(target error) bool { return target == contact.ErrInvalid }

// LogValue makes slog record a masked number: a destination is personal data.
func (p Phone) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// ParseE164 is Parse in the shape the MFA domain's phone port takes: the E.164 number, its
// region and its masked form.
func ParseE164(s string) (e164, region, masked string, err error) {
	p, err := Parse(s)
	if err != nil {
		return "", "", "", err
	}
	return p.E164, p.Region, p.Masked(), nil
}
