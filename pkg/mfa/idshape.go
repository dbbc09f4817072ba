package mfa

// idShape is an id format of one set of ASCII characters and a length range: what
// ^[chars]{min,max}$ says, checked without a regular expression. A counted repetition such as
// {1,128} compiles to 128 copies of its class (0.4 ms and 120 KB per pattern at every cold
// start) and is walked on every request; this is a table lookup per byte.
type idShape struct {
	allowed  [256]bool
	min, max int
}

// newIDShape allows the characters of chars, where "a-z" is a range, between min and max bytes.
func newIDShape(chars string, min, max int) *idShape {
	s := &idShape{min: min, max: max}
	for i := 0; i < len(chars); i++ {
		if i+2 < len(chars) && chars[i+1] == '-' {
			for c := int(chars[i]); c <= int(chars[i+2]); c++ {
				s.allowed[c] = true
			}
			i += 2
			continue
		}
		s.allowed[chars[i]] = true
	}
	return s
}

// MatchString reports whether v has the shape.
func (s *idShape) MatchString(v string) bool {
	if len(v) < s.min || len(v) > s.max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !s.allowed[v[i]] {
			return false
		}
	}
	return true
}
