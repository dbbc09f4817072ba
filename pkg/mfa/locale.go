package mfa

import (
	"time"

	"github.com/mfa-service/mfa/pkg/locale"
)

// The language of the messages a user receives (DESIGN §4): an explicit locale on the
// request, else the token's locale claim, else Accept-Language, else the locale stored with
// the factor at enrollment, else the deployment default (the notifier's). Each is matched
// against the translated locales (RFC 4647); one that matches none gives way to the next.

// explicitLocale checks a request's locale field: a well-formed BCP 47 tag, or nothing.
// It returns the translated locale it matches ("" for one the service does not have).
func explicitLocale(s string) (string, error) {
	l, err := locale.Parse(s)
	if err != nil {
		return "", Invalid(CodeInvalidRequest, "locale", "locale must be a language tag such as de or pt-BR")
	}
	return l, nil
}

// requestLocale is the language the request asks for: its explicit locale, else the caller's
// token claim and Accept-Language. An admin's own language preferences say nothing about
// the user's, so for admins only an explicit locale counts. "" when nothing matches.
func requestLocale(c Caller, explicit string) string {
	if explicit != "" {
		return explicit
	}
	if c.Kind == CallerAdmin {
		return ""
	}
	for _, candidate := range []string{c.Locale, c.AcceptLanguage} {
		if l, ok := locale.Match(candidate); ok {
			return l
		}
	}
	return ""
}

// firstLocale is the first non-empty locale.
func firstLocale(ls ...string) string {
	for _, l := range ls {
		if l != "" {
			return l
		}
	}
	return ""
}

// newestLocale is the locale of the user's most recently bound factor that has one.
func newestLocale(factors []Factor) string {
	lang, at := "", time.Time{}
	for _, f := range factors {
		if f.Locale != "" && !f.CreatedAt.Before(at) {
			lang, at = f.Locale, f.CreatedAt
		}
	}
	return lang
}
