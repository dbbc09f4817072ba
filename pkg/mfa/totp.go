package mfa

import (
	"crypto/subtle"
	"encoding/base32"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters fixed by DESIGN §6.1: the ones every authenticator app supports.
const (
	totpPeriod     = 30
	totpSecretSize = 20 // 160 bits
	totpSkew       = 1  // steps either side of now
	totpDigits     = otp.DigitsSix
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPProvisioning is what the user needs once to set up an authenticator app. How it is
// shown (a QR code of the URI) is the transport's choice.
type TOTPProvisioning struct {
	Secret     string // base32, for manual entry
	OTPAuthURI string // otpauth://totp/… key URI
	raw        []byte
}

// newTOTPSecret generates a 160-bit secret and its provisioning data.
func newTOTPSecret(random io.Reader, issuer, account string) (TOTPProvisioning, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        random,
	})
	if err != nil {
		return TOTPProvisioning{}, err
	}
	return provisioningFor(key)
}

// totpProvisioningFromSecret builds provisioning data for a secret given in base32.
func provisioningFor(key *otp.Key) (TOTPProvisioning, error) {
	raw, err := b32.DecodeString(strings.TrimRight(key.Secret(), "="))
	if err != nil {
		return TOTPProvisioning{}, err
	}
	return TOTPProvisioning{
		Secret:     key.Secret(),
		OTPAuthURI: key.URL(),
		raw:        raw,
	}, nil
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpCode computes the code of one step.
func totpCode(secret []byte, step int64, digits otp.Digits) (string, error) {
	return hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), hotp.ValidateOpts{
		Digits:    digits,
		Algorithm: otp.AlgorithmSHA1,
	})
}

// matchTOTP checks code against the steps now-1..now+1 and returns the newest matching step
// that is later than lastStep. Every candidate is compared, in constant time, so the time
// taken does not say which step matched.
func matchTOTP(secret []byte, code string, now time.Time, lastStep int64) (int64, bool, error) {
	current := totpStep(now)
	var matched int64
	found := false
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		want, err := totpCode(secret, s, totpDigits)
		if err != nil {
			return 0, false, err
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
		if eq && s > lastStep {
			matched, found = s, true
		}
	}
	return matched, found, nil
}

// normalizeOTP strips the spaces and dashes people type or paste and checks the shape.
func normalizeOTP(code string, digits int) (string, bool) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != digits {
		return "", false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return code, true
}
