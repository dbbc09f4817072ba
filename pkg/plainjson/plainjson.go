// Package plainjson reads the plain form of small JSON documents — the form json.Marshal
// gives them: no whitespace, strings of printable ASCII without escapes, integers, booleans
// and arrays of such strings — without reflection, for the few that every sign-in reads. A
// Scanner stops at the first thing it does not read (OK turns false); its callers then hand
// the document to encoding/json, so what they get never differs from it.
package plainjson

import "strconv"

// Scanner reads one document from its first byte.
type Scanner struct {
	raw []byte
	i   int
	ok  bool
}

// New starts reading raw.
func New(raw []byte) *Scanner { return &Scanner{raw: raw, ok: true} }

// OK reports whether everything so far was read.
func (s *Scanner) OK() bool { return s.ok }

// Done reports whether the whole document was read.
func (s *Scanner) Done() bool { return s.ok && s.i == len(s.raw) }

// Fail stops the reading: something was not in the plain form the caller reads.
func (s *Scanner) Fail() { s.ok = false }

// Next reads the byte b, which must come next.
func (s *Scanner) Next(b byte) {
	if !s.Skip(b) {
		s.ok = false
	}
}

// Skip reads the byte b if it comes next, and reports whether it did.
func (s *Scanner) Skip(b byte) bool {
	if s.ok && s.i < len(s.raw) && s.raw[s.i] == b {
		s.i++
		return true
	}
	return false
}

// String reads a string of printable ASCII without escapes.
func (s *Scanner) String() string {
	s.Next('"')
	start := s.i
	for s.ok && s.i < len(s.raw) {
		switch c := s.raw[s.i]; {
		case c == '"':
			s.i++
			return string(s.raw[start : s.i-1])
		case c < 0x20 || c >= 0x7f || c == '\\':
			s.ok = false
		default:
			s.i++
		}
	}
	s.ok = false
	return ""
}

// Int reads an integer, -?(0|[1-9][0-9]*), within int64.
func (s *Scanner) Int() int64 {
	if !s.ok {
		return 0
	}
	start := s.i
	s.Skip('-')
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

// Bool reads true or false.
func (s *Scanner) Bool() bool {
	if !s.ok {
		return false
	}
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

// Strings reads an array of strings; an empty one is an empty slice, as json.Unmarshal
// makes it.
func (s *Scanner) Strings() []string {
	s.Next('[')
	out := []string{}
	if s.Skip(']') {
		return out
	}
	for s.ok {
		out = append(out, s.String())
		if s.Skip(',') {
			continue
		}
		s.Next(']')
		break
	}
	return out
}

// Fields reads an object, calling field with each member's name; field reads the member's
// value (or calls Fail). An empty object calls it never.
func (s *Scanner) Fields(field func(name string)) {
	s.Next('{')
	if s.Skip('}') {
		return
	}
	for s.ok {
		name := s.String()
		s.Next(':')
		if !s.ok {
			return
		}
		field(name)
		if s.Skip(',') {
			continue
		}
		s.Next('}')
		return
	}
}
