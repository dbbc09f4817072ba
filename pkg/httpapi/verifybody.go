package httpapi

import (
	"encoding/json"
	"strconv"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/plainjson"
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

func (b *verifyBody) readPlain(raw []byte) bool {
	var v verifyBody
	s := plainjson.New(raw)
	if string(raw) == "{}" {
		return false // left to the decoder
	}
	s.Fields(func(name string) {
		switch name {
		case "type":
			v.Type = s.String()
		case "factorId":
			v.FactorID = s.String()
		case "code":
			v.Code = s.String()
		case "rememberDevice":
			v.RememberDevice = s.Bool()
		default: // credential (raw JSON), and names the decoder matches or refuses
			s.Fail()
		}
	})
	if !s.Done() {
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
