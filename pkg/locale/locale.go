// Package locale chooses the language of messages and pages among the ones the service is
// translated into, with the BCP 47 / RFC 4647 matching of golang.org/x/text/language, and
// picks CLDR plural forms with golang.org/x/text/feature/plural.
//
// The order of preference (DESIGN §4) is the caller's business: an explicit request locale,
// the token's locale claim, Accept-Language, what is stored with the factor, the deployment
// default. Pick takes the candidates in that order and returns the first that matches.
package locale

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// Supported are the locales every message and page exists in, as stored and as catalog
// file names. English first: it is the fallback of the fallback.
var Supported = []string{"en", "de", "fr", "es", "pt-BR", "ja", "zh-Hans"}

// Default is the locale when nothing else says which.
const Default = "en"

// matcher is built on the first match, not at init: most requests carry no locale to match,
// and a cold start pays for every page its initialisers touch.
var matcher = sync.OnceValue(func() language.Matcher {
	tags := make([]language.Tag, len(Supported))
	for i, s := range Supported {
		tags[i] = language.MustParse(s)
	}
	return language.NewMatcher(tags)
})

// maxCandidate bounds what is parsed: an Accept-Language header or a claim is untrusted input.
const maxCandidate = 512

// Match returns the supported locale that best fits one candidate, a single BCP 47 tag
// ("de-AT") or an Accept-Language value ("ja,en;q=0.5"), and whether one fits: same
// language, and for Chinese the same script (zh-TW, Traditional, is not zh-Hans).
func Match(candidate string) (string, bool) {
	candidate = strings.TrimSpace(candidate)
	if candidate == "" || len(candidate) > maxCandidate {
		return "", false
	}
	want, _, err := language.ParseAcceptLanguage(candidate)
	if err != nil || len(want) == 0 {
		return "", false
	}
	for _, w := range want {
		// One tag at a time, in the caller's order of preference: the first the service
		// has wins, rather than a later one that happens to match more exactly.
		_, i, conf := matcher().Match(w)
		if conf >= language.High {
			return Supported[i], true
		}
	}
	return "", false
}

// Pick returns the first candidate that matches a supported locale, else Default. Empty
// candidates are skipped, so callers can pass every source whether or not it is set.
func Pick(candidates ...string) string {
	for _, c := range candidates {
		if l, ok := Match(c); ok {
			return l
		}
	}
	return Default
}

// Parse checks an explicit locale (a request's or a setting's): a well-formed BCP 47 tag.
// It returns the supported locale it matches, or "" when it is valid but not translated
// (the next source of preference then decides).
func Parse(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 35 { // RFC 5646 §4.4.1: 35 characters hold any tag in practice
		return "", fmt.Errorf("locale %q is not a language tag such as de or pt-BR", s)
	}
	t, err := language.Parse(s)
	if err != nil || t == language.Und {
		return "", fmt.Errorf("locale %q is not a language tag such as de or pt-BR", s)
	}
	l, _ := Match(t.String())
	return l, nil
}

// IsSupported reports whether l is exactly one of Supported, as stored.
func IsSupported(l string) bool {
	for _, s := range Supported {
		if s == l {
			return true
		}
	}
	return false
}

// PluralForm returns the CLDR plural category of the count n in locale l: "zero", "one",
// "two", "few", "many" or "other".
func PluralForm(l string, n int) string {
	t, err := language.Parse(l)
	if err != nil {
		t = language.English
	}
	if n < 0 {
		n = -n
	}
	switch plural.Cardinal.MatchPlural(t, n, 0, 0, 0, 0) {
	case plural.Zero:
		return "zero"
	case plural.One:
		return "one"
	case plural.Two:
		return "two"
	case plural.Few:
		return "few"
	case plural.Many:
		return "many"
	}
	return "other"
}
