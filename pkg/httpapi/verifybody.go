package httpapi

import (
	"encoding/json"
	"strconv"

	"github.com/mfa-service/mfa/pkg/api"
)

// Every sign-in's verification reads a small body and answers a small one. Both are handled
// here without encoding/json's reflection when they are in the plain form json.Marshal gives
// them — no whitespace, strings of printable ASCII without escapes — and by encoding/json
// otherwise, so the result is always encoding/json's (verifybody_test.go holds them to it).

// plainBody is a decoding target that reads the plain form of its JSON itself (decodeBody
// tries it after its checks of the body, before the decoder). readPlain reports false, having
// changed nothing, for anything else.
type plainBody interface {
	readPlain(raw []byte) bool
}

// verifyBody is the body of POST …/verifications: api.VerifyRequest, read by hand when plain.
type verifyBody api.VerifyRequest

// plainString reports whether s needs no escaping in JSON, as encoding/json writes it.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// bodyScanner reads the plain form of a flat JSON object; ok turns false at the first thing it
// does not read.
type bodyScanner struct {
	raw []byte
	i   int
	ok  bool
}

func (s *bodyScanner) next(b byte) bool {
	if s.ok && s.i < len(s.raw) && s.raw[s.i] == b {
		s.i++
		return true
	}
	return false
}

func (s *bodyScanner) string() string {
	if !s.next('"') {
		s.ok = false
		return ""
	}
	start := s.i
	for ; s.i < len(s.raw); s.i++ {
		switch c := s.raw[s.i]; {
		case c == '"':
			s.i++
			return string(s.raw[start : s.i-1])
		case c < 0x20 || c >= 0x7f || c == '\\':
			s.ok = false
			return ""
		}
	}
	s.ok = false
	return ""
}

func (s *bodyScanner) bool() bool {
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

func (b *verifyBody) readPlain(raw []byte) bool {
	var v verifyBody
	s := bodyScanner{raw: raw, ok: true}
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return false // {} is left to the decoder
	}
	for s.ok {
		name := s.string()
		if !s.next(':') {
			return false
		}
		switch name {
		case "type":
			v.Type = s.string()
		case "factorId":
			v.FactorID = s.string()
		case "code":
			v.Code = s.string()
		case "rememberDevice":
			v.RememberDevice = s.bool()
		default: // credential (raw JSON), and names the decoder matches or refuses
			return false
		}
		if s.next(',') {
			continue
		}
		if !s.next('}') {
			return false
		}
		break
	}
	if !s.ok || s.i != len(raw) {
		return false
	}
	*b = v
	return true
}

// verificationJSON is the answer to a successful verification, as json.Marshal writes it.
func verificationJSON(v api.Verification) json.RawMessage {
	if !plainString(v.MFAToken) || !plainString(v.Factor.ID) || !plainString(v.Factor.Type) || !plainString(v.DeviceToken) {
		raw, _ := json.Marshal(v) // cannot fail: strings, bools and an int
		return raw
	}
	b := make([]byte, 0, 128+len(v.MFAToken)+len(v.DeviceToken))
	b = append(b, `{"verified":`...)
	b = strconv.AppendBool(b, v.Verified)
	b = append(b, `,"mfaToken":"`...)
	b = append(b, v.MFAToken...)
	b = append(b, `","factor":{"id":"`...)
	b = append(b, v.Factor.ID...)
	b = append(b, `","type":"`...)
	b = append(b, v.Factor.Type...)
	b = append(b, `"}`...)
	if v.DeviceToken != "" {
		b = append(b, `,"deviceToken":"`...)
		b = append(b, v.DeviceToken...)
		b = append(b, '"')
	}
	if v.BackupCodesRemaining != nil {
		b = append(b, `,"backupCodesRemaining":`...)
		b = strconv.AppendInt(b, int64(*v.BackupCodesRemaining), 10)
	}
	b = append(b, `,"enrollmentRequired":`...)
	b = strconv.AppendBool(b, v.EnrollmentRequired)
	return append(b, '}')
}
