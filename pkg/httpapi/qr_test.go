package httpapi

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// The QR code of a new TOTP secret is rendered here, from the key URI the domain gives
// (moved from pkg/mfa's TestNewTOTPSecretProvisioning with the rendering).
func TestTOTPSecretQRCode(t *testing.T) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: "Acme MFA", AccountName: "Work phone", Period: 30, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64)),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := totpSecret(mfa.TOTPProvisioning{Secret: key.Secret(), OTPAuthURI: key.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Secret != key.Secret() || p.OTPAuthURI != key.URL() {
		t.Errorf("secret/uri changed: %+v", p)
	}
	raw, err := base64.StdEncoding.DecodeString(p.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("qrPng is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != qrSize || b.Dy() != qrSize {
		t.Errorf("qr is %v, want %d×%d", b, qrSize, qrSize)
	}
	// The same image pquerna/otp renders for the key itself: the QR code encodes the URI.
	want, _ := key.Image(qrSize, qrSize)
	var buf bytes.Buffer
	_ = png.Encode(&buf, want)
	if !bytes.Equal(raw, buf.Bytes()) {
		t.Error("the QR code is not the key URI's")
	}
}
