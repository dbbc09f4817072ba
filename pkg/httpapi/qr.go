package httpapi

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"

	"github.com/pquerna/otp"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// qrSize is the side of the QR code image, in pixels.
const qrSize = 256

// totpSecret presents a new TOTP secret: the domain gives its secret and key URI, the answer
// adds the URI as a QR code for authenticator apps to scan.
func totpSecret(p mfa.TOTPProvisioning) (*api.TOTPSecret, error) {
	qr, err := qrPNG(p.OTPAuthURI)
	if err != nil {
		return nil, err
	}
	return &api.TOTPSecret{Secret: p.Secret, OTPAuthURI: p.OTPAuthURI, QRPNG: qr}, nil
}

// qrPNG renders an otpauth:// URI as a QR code: a qrSize×qrSize PNG, base64 (standard,
// padded).
func qrPNG(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("qr png: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
