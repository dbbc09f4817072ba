package mfa

import (
	"encoding/json"
	"strconv"
)

// decodeChallengeClaims reads a challenge id's claims (already checked by their MAC: JSON
// that challengeToken wrote). Every verification reads one, so the form json.Marshal gives
// plain claims — no whitespace, ASCII strings without escapes, integers, booleans, arrays of
// strings, the known names — is read by hand, without reflection; anything else (an escape,
// a non-ASCII byte, null, an unknown name) is left to json.Unmarshal, so the result is always
// what json.Unmarshal gives (TestDecodeChallengeClaimsIsJSONUnmarshal).
func decodeChallengeClaims(raw []byte) (challengeClaims, error) {
	if c, ok := scanChallengeClaims(raw); ok {
		return c, nil
	}
	var c challengeClaims
	err := json.Unmarshal(raw, &c)
	return c, err
}

// claimsScanner reads the plain form of the claims; ok turns false at the first thing it
// does not read (the caller then hands the claims to json.Unmarshal).
type claimsScanner struct {
	raw []byte
	i   int
	ok  bool
}

func (s *claimsScanner) next(b byte) {
	if s.ok && s.i < len(s.raw) && s.raw[s.i] == b {
		s.i++
		return
	}
	s.ok = false
}

// string reads an ASCII string without escapes or control characters.
func (s *claimsScanner) string() string {
	s.next('"')
	start := s.i
	for s.ok && s.i < len(s.raw) {
		switch c := s.raw[s.i]; {
		case c == '"':
			s.i++
			return string(s.raw[start : s.i-1])
		case c < 0x20 || c == '\\' || c >= 0x80:
			s.ok = false
		default:
			s.i++
		}
	}
	s.ok = false
	return ""
}

// int reads an integer: -?(0|[1-9][0-9]*), within int64.
func (s *claimsScanner) int() int64 {
	start := s.i
	if s.i < len(s.raw) && s.raw[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.raw) && s.raw[s.i] >= '0' && s.raw[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.raw[digits] == '0' && s.i > digits+1) {
		s.ok = false
		return 0
	}
	n, err := strconv.ParseInt(string(s.raw[start:s.i]), 10, 64)
	if err != nil {
		s.ok = false
	}
	return n
}

func (s *claimsScanner) bool() bool {
	rest := s.raw[s.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.i += 4
		return true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.i += 5
		return false
	}
	s.ok = false
	return false
}

func (s *claimsScanner) strings() []string {
	s.next('[')
	out := []string{} // json.Unmarshal makes an empty array an empty slice, not nil
	if s.ok && s.i < len(s.raw) && s.raw[s.i] == ']' {
		s.i++
		return out
	}
	for s.ok {
		out = append(out, s.string())
		if s.ok && s.i < len(s.raw) && s.raw[s.i] == ',' {
			s.i++
			continue
		}
		s.next(']')
		break
	}
	return out
}

func scanChallengeClaims(raw []byte) (challengeClaims, bool) {
	var c challengeClaims
	s := claimsScanner{raw: raw, ok: true}
	s.next('{')
	if s.ok && s.i < len(raw) && raw[s.i] == '}' {
		s.i++
		return c, s.i == len(raw)
	}
	for s.ok {
		name := s.string()
		s.next(':')
		if !s.ok {
			break
		}
		switch name {
		case "r":
			c.ID = s.string()
		case "p":
			c.Purpose = s.string()
		case "o":
			c.Org = s.string()
		case "f":
			c.Offered = s.strings()
		case "d":
			c.Default = s.string()
		case "c":
			c.Created = s.int()
		case "e":
			c.Expires = s.int()
		case "l":
			c.Locale = s.string()
		case "i":
			c.IP = s.string()
		case "v":
			c.Device = s.string()
		case "k":
			c.Passkeys = s.bool()
		default:
			s.ok = false
		}
		if s.ok && s.i < len(raw) && raw[s.i] == ',' {
			s.i++
			continue
		}
		s.next('}')
		break
	}
	return c, s.ok && s.i == len(raw)
}
