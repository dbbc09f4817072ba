package locale

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = no match
	}{
		{"de", "de"}, {"de-AT", "de"}, {"en-GB", "en"}, {"fr-CA", "fr"}, {"es-MX", "es"}, {"es-419", "es"},
		{"pt", "pt-BR"}, {"pt-BR", "pt-BR"}, {"ja-JP", "ja"}, {"zh", "zh-Hans"}, {"zh-CN", "zh-Hans"},
		{"zh-Hans-SG", "zh-Hans"},
		// Traditional Chinese is not Simplified: the next source decides.
		{"zh-TW", ""}, {"zh-Hant", ""}, {"ko", ""}, {"", ""}, {"*", ""}, {"not a tag!", ""},
		// Accept-Language: the first language the service has, in the user's order.
		{"ko,ja;q=0.3,en;q=0.2", "ja"}, {"nl-BE, fr;q=0.8, de;q=0.9", "de"}, {"en;q=0, de", "de"},
		{strings.Repeat("de-", 400), ""},
	}
	for _, tt := range tests {
		got, ok := Match(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestPickOrder(t *testing.T) {
	// explicit → claim → Accept-Language → stored → default
	if got := Pick("", "fr", "de,en", "ja"); got != "fr" {
		t.Errorf("claim before Accept-Language: got %q", got)
	}
	if got := Pick("ko", "", "zh-TW,ja;q=0.5", "de"); got != "ja" {
		t.Errorf("an untranslated explicit locale falls through: got %q", got)
	}
	if got := Pick("", "", "", "pt-BR"); got != "pt-BR" {
		t.Errorf("stored locale: got %q", got)
	}
	if got := Pick("", "xx-invalid-!!"); got != Default {
		t.Errorf("nothing matches: got %q", got)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"": "", "de-CH": "de", "ko": "", "zh-Hans": "zh-Hans", "pt-br": "pt-BR"} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"de_DE!", "12", "a-very-long-tag-that-is-not-a-language-at-all", "de,en"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestPluralForm(t *testing.T) {
	tests := []struct {
		l    string
		n    int
		want string
	}{
		{"en", 1, "one"}, {"en", 0, "other"}, {"en", 2, "other"},
		{"fr", 0, "one"}, {"fr", 1, "one"}, {"fr", 2, "other"}, // French: 0 is singular
		{"pt-BR", 0, "one"}, {"de", 1, "one"}, {"ja", 1, "other"}, {"zh-Hans", 1, "other"},
	}
	for _, tt := range tests {
		if got := PluralForm(tt.l, tt.n); got != tt.want {
			t.Errorf("PluralForm(%s, %d) = %s, want %s", tt.l, tt.n, got, tt.want)
		}
	}
}
