// Package brand holds how the service presents itself to users: the product name, the
// support address, the logo of the pages and their accent color. Every setting is checked at
// cold start, so a bad one fails the deployment rather than a user's sign-in.
package brand

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mfa-service/mfa/pkg/locale"
)

// Brand is the app's look in emails, texts and pages.
type Brand struct {
	// ProductName names the service in every message and page (env PRODUCT_NAME).
	ProductName string
	// SupportURL is where users get help (env SUPPORT_URL): https, or mailto.
	SupportURL string
	// LogoURL is the pages' logo (env LOGO_URL): a path on the pages' own origin ("/brand/logo.svg")
	// or a data: URI of a PNG, JPEG, GIF, WebP or SVG image. Never a remote image: the pages
	// load nothing from another origin, and emails show no image at all.
	LogoURL string
	// AccentColor is the color of buttons and links (env ACCENT_COLOR), "#rrggbb" or "#rgb".
	AccentColor string
	// DefaultLocale is the language when a request, its token and its Accept-Language say
	// nothing the service has (env DEFAULT_LOCALE).
	DefaultLocale string
}

// DefaultProductName is the ProductName when none is configured.
const DefaultProductName = "MFA Service"

const (
	maxProductName = 40
	maxURL         = 2048
	maxLogo        = 32 << 10 // a data: URI logo is sent in every page
)

// FromEnv reads a Brand from the environment variables named on its fields and checks it.
func FromEnv(getenv func(string) string) (Brand, error) {
	return Brand{
		ProductName:   getenv("PRODUCT_NAME"),
		SupportURL:    getenv("SUPPORT_URL"),
		LogoURL:       getenv("LOGO_URL"),
		AccentColor:   getenv("ACCENT_COLOR"),
		DefaultLocale: getenv("DEFAULT_LOCALE"),
	}.Normalize()
}

// Normalize fills the defaults and checks every field.
func (b Brand) Normalize() (Brand, error) {
	b.ProductName = strings.TrimSpace(b.ProductName)
	if b.ProductName == "" {
		b.ProductName = DefaultProductName
	}
	if utf8.RuneCountInString(b.ProductName) > maxProductName || strings.ContainsFunc(b.ProductName, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}) {
		return Brand{}, fmt.Errorf("brand: PRODUCT_NAME must be at most %d characters of plain text", maxProductName)
	}
	b.SupportURL = strings.TrimSpace(b.SupportURL)
	if b.SupportURL != "" {
		u, err := url.Parse(b.SupportURL)
		ok := err == nil && len(b.SupportURL) <= maxURL && !strings.ContainsAny(b.SupportURL, " \"'<>\\") &&
			((u.Scheme == "https" && u.Host != "" && u.User == nil) || (u.Scheme == "mailto" && strings.Contains(u.Opaque, "@")))
		if !ok {
			return Brand{}, errors.New("brand: SUPPORT_URL must be an https:// or mailto: URL")
		}
	}
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	if b.LogoURL != "" {
		if err := checkLogo(b.LogoURL); err != nil {
			return Brand{}, err
		}
	}
	b.AccentColor = strings.ToLower(strings.TrimSpace(b.AccentColor))
	if b.AccentColor != "" {
		if _, err := parseColor(b.AccentColor); err != nil {
			return Brand{}, err
		}
	}
	if strings.TrimSpace(b.DefaultLocale) == "" {
		b.DefaultLocale = locale.Default
	} else {
		l, err := locale.Parse(b.DefaultLocale)
		if err != nil || l == "" {
			return Brand{}, fmt.Errorf("brand: DEFAULT_LOCALE must be one of %s", strings.Join(locale.Supported, ", "))
		}
		b.DefaultLocale = l
	}
	return b, nil
}

var logoTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}

// checkLogo accepts a same-origin path or a base64 data: URI of an image.
func checkLogo(s string) error {
	if len(s) > maxLogo {
		return fmt.Errorf("brand: LOGO_URL must be at most %d bytes", maxLogo)
	}
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		typ, data, ok := strings.Cut(rest, ";base64,")
		valid := false
		for _, t := range logoTypes {
			valid = valid || typ == t
		}
		if !ok || !valid {
			return errors.New("brand: a data: LOGO_URL must be a base64 PNG, JPEG, GIF, WebP or SVG image (data:image/png;base64,…)")
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return errors.New("brand: LOGO_URL: the data: URI is not valid base64")
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || u.Scheme != "" || u.Host != "" ||
		strings.ContainsAny(s, " \"'<>\\") {
		return errors.New("brand: LOGO_URL must be a path on the pages' own origin (/brand/logo.svg) or a data: URI; remote images are not loaded")
	}
	return nil
}

// rgb is a color with channels in 0..1.
type rgb struct{ r, g, b float64 }

func parseColor(s string) (rgb, error) {
	hex, ok := strings.CutPrefix(s, "#")
	if ok && len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	if !ok || len(hex) != 6 {
		return rgb{}, errors.New("brand: ACCENT_COLOR must be a hex color such as #2753c9")
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return rgb{}, errors.New("brand: ACCENT_COLOR must be a hex color such as #2753c9")
	}
	return rgb{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}, nil
}

// luminance is the WCAG 2 relative luminance.
func (c rgb) luminance() float64 {
	lin := func(v float64) float64 {
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// Contrast is the WCAG 2 contrast ratio of two hex colors (1 to 21); 0 if either is not one.
func Contrast(a, b string) float64 {
	ca, err1 := parseColor(a)
	cb, err2 := parseColor(b)
	if err1 != nil || err2 != nil {
		return 0
	}
	la, lb := ca.luminance(), cb.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// OnAccent is the text color for text on the accent color: white or black, whichever
// reads better. Any color reaches at least 4.5:1 with one of them (WCAG AA).
func OnAccent(accent string) string {
	if Contrast(accent, "#ffffff") >= Contrast(accent, "#000000") {
		return "#ffffff"
	}
	return "#000000"
}
