package mfa

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// RFC 6238 Appendix B, SHA1 column: secret "12345678901234567890", 8 digits.
var rfc6238SHA1 = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

var rfcSecret = []byte("12345678901234567890")

func TestTOTPMatchesRFC6238Vectors(t *testing.T) {
	for _, v := range rfc6238SHA1 {
		now := time.Unix(v.unix, 0)
		got, err := totpCode(rfcSecret, totpStep(now), otp.DigitsEight)
		if err != nil || got != v.code {
			t.Errorf("T=%d: code %q (%v), want %q", v.unix, got, err, v.code)
		}
		// Six digits are the same HOTP value modulo 10^6: the vector's last six digits.
		step, ok, err := matchTOTP(rfcSecret, v.code[2:], now, 0)
		if err != nil || !ok || step != totpStep(now) {
			t.Errorf("T=%d: 6-digit %q did not match (step %d ok %v err %v)", v.unix, v.code[2:], step, ok, err)
		}
	}
}

func TestTOTPWindowIsOneStepEitherSide(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cur := totpStep(now)
	for _, tc := range []struct {
		offset int64
		ok     bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code, _ := totpCode(rfcSecret, cur+tc.offset, totpDigits)
		step, ok, err := matchTOTP(rfcSecret, code, now, 0)
		if err != nil || ok != tc.ok {
			t.Errorf("offset %+d: ok=%v err=%v, want ok=%v", tc.offset, ok, err, tc.ok)
		}
		if ok && step != cur+tc.offset {
			t.Errorf("offset %+d: matched step %d, want %d", tc.offset, step, cur+tc.offset)
		}
	}
}

func TestTOTPReplayedStepRefused(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cur := totpStep(now)
	code, _ := totpCode(rfcSecret, cur, totpDigits)
	if _, ok, _ := matchTOTP(rfcSecret, code, now, cur); ok {
		t.Fatal("a code whose step was already used must not match")
	}
	if _, ok, _ := matchTOTP(rfcSecret, code, now, cur+1); ok {
		t.Fatal("a code older than the last used step must not match")
	}
	if step, ok, _ := matchTOTP(rfcSecret, code, now, cur-1); !ok || step != cur {
		t.Fatal("a code of a later step than the last used one must match")
	}
}

func TestNormalizeOTP(t *testing.T) {
	for in, want := range map[string]string{"123456": "123456", "123 456": "123456", "123-456": "123456", " 123456 ": "123456"} {
		if got, ok := normalizeOTP(in, 6); !ok || got != want {
			t.Errorf("normalizeOTP(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "12345", "1234567", "12345a", "１２３４５６", "12345\x00"} {
		if _, ok := normalizeOTP(in, 6); ok {
			t.Errorf("normalizeOTP(%q) accepted", in)
		}
	}
}

func TestNewTOTPSecretProvisioning(t *testing.T) {
	random := bytes.NewReader(bytes.Repeat([]byte{7}, 64)) // fixed randomness: deterministic secret
	p, err := newTOTPSecret(random, "Acme MFA", "Work phone")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.raw) != 20 {
		t.Fatalf("secret is %d bytes, want 20 (160 bits)", len(p.raw))
	}
	if !bytes.Equal(p.raw, bytes.Repeat([]byte{7}, 20)) {
		t.Fatal("secret does not come from the injected randomness")
	}
	u, err := url.Parse(p.OTPAuthURI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("uri %q", p.OTPAuthURI)
	}
	q := u.Query()
	if q.Get("secret") != p.Secret || q.Get("issuer") != "Acme MFA" || q.Get("digits") != "6" || q.Get("period") != "30" || !strings.EqualFold(q.Get("algorithm"), "SHA1") {
		t.Errorf("uri parameters %v", q)
	}
}

// The verification's HOTP codes are pquerna/otp's, for secrets of every length around the
// HMAC block size and steps across the range (the RFC vectors above check both against the RFC).
func TestHOTPIsPquernaOTP(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	steps := []int64{0, 1, 59 / 30, 1 << 31, 1<<32 + 5, 1<<62 - 1}
	for i := 0; i < 500; i++ {
		steps = append(steps, rng.Int64N(1<<40))
	}
	for _, n := range []int{1, 10, 20, 32, 63, 64, 65, 100} {
		secret := make([]byte, n)
		for j := range secret {
			secret[j] = byte(rng.IntN(256))
		}
		h := newHOTP(secret)
		for _, s := range steps {
			want, err := totpCode(secret, s, totpDigits)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.code(s); string(got[:]) != want {
				t.Fatalf("secret of %d bytes, step %d: %s, pquerna/otp %s", n, s, got[:], want)
			}
		}
	}
}
