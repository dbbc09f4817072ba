// Package contact parses, normalises and masks the destinations that one-time codes are sent
// to by email (phone numbers are in package phone). It is pure: no AWS, no HTTP, no I/O.
//
// The parsers are deliberately stricter than the RFCs. An address or number that passes here
// is one SES or SNS can deliver to and a user can recognise when it is shown back masked;
// anything unusual (display names, quoted local parts, vanity letters, extensions) is refused
// rather than guessed at.
package contact

import (
	"errors"
	"log/slog"
	"unicode"
)

// ErrInvalid is wrapped by every error ParseEmail (and phone.Parse) returns. The error's text says
// what is wrong without repeating the input, so it can be shown to a client as is.
var ErrInvalid = errors.New("invalid contact")

// invalidError says why an input was refused. It matches ErrInvalid with errors.Is.
type invalidError struct {
	what   string // "email address" or "phone number"
	reason string
}

func (e *invalidError) Error() string        { return "invalid " + e.what + ": " + e.reason }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// mask stands for each hidden character of a masked destination.
const mask = "•"

// hasInvisible reports whether s holds a space, a control character or an invisible
// formatting character (zero-width space, bidi overrides, ...). Those make two destinations
// that look the same differ, or a masked one misleading.
func hasInvisible(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return true
		}
	}
	return false
}

// LogValue makes slog record a masked address: a destination is personal data, and a log
// line needs no more of it than a support agent would show the user.
func (e Email) LogValue() slog.Value { return slog.StringValue(e.Masked()) }
