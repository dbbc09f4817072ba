package token

import (
	"strconv"
	"unicode/utf8"
)

// appendJSON appends the claims as encoding/json would marshal them, byte for byte (the
// fields in order, omitempty honoured, strings escaped alike: claims_internal_test.go holds
// it to json.Marshal), without reflection: every successful verification signs one.
func (c *mfaClaims) appendJSON(b []byte) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"aud":`...)
	b = appendJSONString(b, c.Audience)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.NotBefore, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expires, 10)
	b = append(b, `,"auth_time":`...)
	b = strconv.AppendInt(b, c.AuthTime, 10)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"amr":`...)
	if c.AMR == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range c.AMR {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	b = append(b, `,"acr":`...)
	b = appendJSONString(b, c.ACR)
	b = append(b, `,"factor_type":`...)
	b = appendJSONString(b, c.FactorType)
	b = append(b, `,"factor_id":`...)
	b = appendJSONString(b, c.FactorID)
	b = append(b, `,"token_use":`...)
	b = appendJSONString(b, c.TokenUse)
	if c.Org != "" {
		b = append(b, `,"org":`...)
		b = appendJSONString(b, c.Org)
	}
	if c.ChallengeID != "" {
		b = append(b, `,"cid":`...)
		b = appendJSONString(b, c.ChallengeID)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string the way encoding/json writes it: HTML-safe
// (<, >, & as \u003c…), control characters escaped, invalid UTF-8 as \ufffd, and U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
