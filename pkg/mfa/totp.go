package mfa

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"hash"
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
	h := newHOTP(secret)
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		want := h.code(s)
		eq := subtle.ConstantTimeCompare(want[:], []byte(code)) == 1
		if eq && s > lastStep {
			matched, found = s, true
		}
	}
	return matched, found, nil
}

// hotpKey computes RFC 4226 codes of one secret (HMAC-SHA1, dynamic truncation, 6 digits), the
// HMAC keyed once for the steps a check compares: what totpCode (pquerna/otp) gives, without
// encoding the secret to base32 and back and keying a new HMAC for every step
// (TestHOTPIsPquernaOTP holds them together).
type hotpKey struct{ mac hash.Hash }

func newHOTP(secret []byte) hotpKey { return hotpKey{hmac.New(sha1.New, secret)} }

func (h hotpKey) code(step int64) [6]byte {
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(step))
	h.mac.Reset()
	h.mac.Write(counter[:])
	var sum [sha1.Size]byte
	mac := h.mac.Sum(sum[:0])
	off := mac[len(mac)-1] & 0x0f
	v := (binary.BigEndian.Uint32(mac[off:off+4]) & 0x7fffffff) % 1_000_000
	var out [6]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
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
