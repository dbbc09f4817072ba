package mfa

import (
	"encoding/json"

	"github.com/mfa-service/mfa/pkg/plainjson"
)

// decodeChallengeClaims reads a challenge id's claims (already checked by their MAC: JSON
// that challengeToken wrote). Every verification reads one, so the form json.Marshal gives
// plain claims — no whitespace, ASCII strings without escapes, integers, booleans, arrays of
// strings, the known names — is read by hand, without reflection; anything else (an escape,
// a non-ASCII byte, null, an unknown name) is left to json.Unmarshal, so the result is always
// what json.Unmarshal gives (TestDecodeChallengeClaimsIsJSONUnmarshal).
func decodeChallengeClaims(raw []byte) (challengeClaims, error) {
	if c, ok := scanChallengeClaims(raw); ok {
		return c, nil
	}
	var c challengeClaims
	err := json.Unmarshal(raw, &c)
	return c, err
}

func scanChallengeClaims(raw []byte) (challengeClaims, bool) {
	var c challengeClaims
	s := plainjson.New(raw)
	s.Fields(func(name string) {
		switch name {
		case "r":
			c.ID = s.String()
		case "p":
			c.Purpose = s.String()
		case "o":
			c.Org = s.String()
		case "f":
			c.Offered = s.Strings()
		case "d":
			c.Default = s.String()
		case "c":
			c.Created = s.Int()
		case "e":
			c.Expires = s.Int()
		case "l":
			c.Locale = s.String()
		case "i":
			c.IP = s.String()
		case "v":
			c.Device = s.String()
		case "k":
			c.Passkeys = s.Bool()
		default:
			s.Fail()
		}
	})
	return c, s.Done()
}
