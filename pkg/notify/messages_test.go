package notify

import (
	"strings"
	"testing"
)

func TestGSM7Len(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		gsm7 bool
	}{
		{"123456 is your code.", 20, true},
		{"@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", 42, true},
		{"[EU] €5 {x} ~|^\\", 25, true}, // 16 characters, 9 from the extension table: two each
		{"line\nbreak", 10, true},
		{"Acme™", 0, false},
		{"café", 4, true},
		{"naïve", 0, false},
		{"emoji 🔐", 0, false},
		{"`backtick`", 0, false},
	}
	for _, tt := range tests {
		n, ok := gsm7Len(tt.in)
		if n != tt.n || ok != tt.gsm7 {
			t.Errorf("gsm7Len(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.gsm7)
		}
	}
}

func TestCleanLabel(t *testing.T) {
	tests := map[string]string{
		"Work phone":               "Work phone",
		"  two\n\nlines\t here ":   "two lines here",
		"bidi\u202eoverride\u200b": "bidioverride",
		"nul\x00byte":              "nulbyte",
		strings.Repeat("é", 80):    strings.Repeat("é", 63) + "…",
	}
	for in, want := range tests {
		if got := cleanLabel(in); got != want {
			t.Errorf("cleanLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
