package notify

// isHostname reports whether d is a lower-case DNS host name: labels of 1 to 63 letters,
// digits and hyphens, neither starting nor ending with a hyphen, joined by single dots. It
// says what ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$
// says, without compiling that expression (two counted repetitions of 61) at every cold
// start of every function that sends.
func isHostname(d string) bool {
	if d == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			c := d[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		label := d[start:i]
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}
