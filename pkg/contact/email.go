package contact

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Email is a parsed email address.
type Email struct {
	// Address is the address as given, without surrounding white space.
	Address string
	// Normalized is the form to compare and index by: the local part lower-cased and the
	// domain in lower-case Unicode, so "Ann@Bücher.DE" and "ann@xn--bcher-kva.de" are equal.
	// Local parts are case-sensitive in theory, but no mail provider treats them so, and a
	// user who types their address in another case means the same mailbox.
	Normalized string
	// ASCII is the address to send to: the local part as given and the domain in Punycode.
	// SES does not support SMTPUTF8, so an internationalised domain must be sent this way.
	ASCII string
}

const (
	maxEmailLen = 254 // RFC 5321's limit on a forward path, less the angle brackets
	maxLocalLen = 64
)

// idnaProfile validates and converts domains as a resolver would look them up (UTS #46,
// non-transitional, as browsers do), including DNS length limits.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false))

// ParseEmail parses a bare email address ("ann@example.com"). Surrounding white space is
// trimmed. It refuses display names, comments, quoted local parts, address literals, more
// than one @, a domain without a dot, non-ASCII local parts (SES cannot deliver them) and
// anything over 254 characters. Internationalised domains are accepted as given.
func ParseEmail(s string) (Email, error) {
	s = strings.TrimSpace(s)
	bad := func(reason string) (Email, error) {
		return Email{}, &invalidError{what: "email address", reason: reason}
	}
	switch {
	case s == "":
		return bad("it is empty")
	case !utf8.ValidString(s):
		return bad("it is not valid UTF-8")
	case len(s) > maxEmailLen:
		return bad("it is longer than 254 characters")
	case hasInvisible(s):
		return bad("it contains spaces or control characters")
	case strings.Count(s, "@") != 1:
		return bad("it must contain exactly one @")
	}
	local, domain, _ := strings.Cut(s, "@")
	if reason := checkLocal(local); reason != "" {
		return bad(reason)
	}

	if domain == "" {
		return bad("the domain after the @ is missing")
	}
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		// A trailing dot is valid DNS but not something anyone types into a form.
		return bad("the domain must be a host name like example.com")
	}
	asciiDomain, err := idnaProfile.ToASCII(domain)
	if err != nil || !validTLD(asciiDomain) {
		return bad("the domain must be a host name like example.com")
	}
	unicodeDomain, err := idnaProfile.ToUnicode(asciiDomain)
	if err != nil {
		return bad("the domain must be a host name like example.com")
	}
	ascii := local + "@" + asciiDomain
	if len(ascii) > maxEmailLen {
		return bad("it is longer than 254 characters")
	}

	// Belt and braces: the rules above are a subset of RFC 5322's, so net/mail must read the
	// same bare address back. If it does not, something here is too lenient.
	if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
		return bad("it is not a plain address like name@example.com")
	}
	return Email{
		Address:    s,
		Normalized: strings.ToLower(local) + "@" + unicodeDomain,
		ASCII:      ascii,
	}, nil
}

// checkLocal returns why local (the part before the @) is refused, or "".
func checkLocal(local string) string {
	switch {
	case local == "":
		return "the part before the @ is missing"
	case len(local) > maxLocalLen:
		return "the part before the @ is longer than 64 characters"
	case strings.ContainsRune(local, '"'):
		return "quoted names before the @ are not supported"
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "dots before the @ must sit between other characters"
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= utf8.RuneSelf:
			return "the part before the @ may only use ASCII characters"
		case c != '.' && !isAtext(c):
			return "the part before the @ may only use letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ ."
		}
	}
	return ""
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validTLD refuses an all-numeric last label ("a@1.2.3.4" is an IP address, not a host
// name) and one-letter ones, which no top-level domain has.
func validTLD(asciiDomain string) bool {
	tld := asciiDomain[strings.LastIndexByte(asciiDomain, '.')+1:]
	if len(tld) < 2 {
		return false
	}
	return strings.Trim(tld, "0123456789") != ""
}

// Masked shows the address so its owner recognises it and others learn little: the first
// character of the local part, "•••", the last character when the local part is long enough
// to keep at least two hidden, then the domain as given ("a•••e@example.com",
// "bob@…" → "b•••@…"). The last character tells most of one user's addresses apart.
func (e Email) Masked() string {
	local, domain, ok := strings.Cut(e.Address, "@")
	if !ok || local == "" {
		return mask + mask + mask
	}
	runes := []rune(local)
	last := ""
	if len(runes) >= 4 {
		last = string(runes[len(runes)-1])
	}
	return string(runes[0]) + mask + mask + mask + last + "@" + domain
}
