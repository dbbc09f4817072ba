package contact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/contact"
)

func TestParseEmailValid(t *testing.T) {
	tests := []struct {
		in                         string
		address, normalized, ascii string
	}{
		{"ann@example.com", "ann@example.com", "ann@example.com", "ann@example.com"},
		{"  ann@example.com\n", "ann@example.com", "ann@example.com", "ann@example.com"},
		{"Ann.Lee@Example.COM", "Ann.Lee@Example.COM", "ann.lee@example.com", "Ann.Lee@example.com"},
		{"ann+mfa@example.com", "ann+mfa@example.com", "ann+mfa@example.com", "ann+mfa@example.com"},
		{"o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"},
		{"a_b-c!#$%&*/=?^`{|}~@ex-ample.io", "a_b-c!#$%&*/=?^`{|}~@ex-ample.io", "a_b-c!#$%&*/=?^`{|}~@ex-ample.io", "a_b-c!#$%&*/=?^`{|}~@ex-ample.io"},
		// An internationalised domain is kept as given, compared in lower-case Unicode and
		// sent in Punycode.
		{"ann@bücher.de", "ann@bücher.de", "ann@bücher.de", "ann@xn--bcher-kva.de"},
		{"Ann@Bücher.DE", "Ann@Bücher.DE", "ann@bücher.de", "Ann@xn--bcher-kva.de"},
		{"ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de", "ann@bücher.de", "ann@xn--bcher-kva.de"},
		{"user@例え.テスト", "user@例え.テスト", "user@例え.テスト", "user@xn--r8jz45g.xn--zckzah"},
		{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := contact.ParseEmail(tt.in)
			if err != nil {
				t.Fatalf("ParseEmail(%q): %v", tt.in, err)
			}
			if e.Address != tt.address || e.Normalized != tt.normalized || e.ASCII != tt.ascii {
				t.Errorf("ParseEmail(%q) = %+v, want Address %q, Normalized %q, ASCII %q", tt.in, e, tt.address, tt.normalized, tt.ascii)
			}
		})
	}
}

func TestParseEmailSameMailboxNormalisesEqual(t *testing.T) {
	var got []string
	for _, in := range []string{"ANN@BÜCHER.DE", "ann@bücher.de", " Ann@xn--bcher-kva.de "} {
		e, err := contact.ParseEmail(in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Normalized)
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Errorf("normalised forms differ: %q", got)
	}
}

func TestParseEmailInvalid(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	tests := map[string]string{
		"empty":                 "",
		"only spaces":           "   ",
		"no at":                 "ann.example.com",
		"two ats":               "ann@bob@example.com",
		"nothing before at":     "@example.com",
		"nothing after at":      "ann@",
		"no dot in domain":      "ann@localhost",
		"trailing dot":          "ann@example.com.",
		"double dot in domain":  "ann@example..com",
		"leading dot in local":  ".ann@example.com",
		"trailing dot in local": "ann.@example.com",
		"double dot in local":   "an..n@example.com",
		"display name":          "Ann <ann@example.com>",
		"angle brackets":        "<ann@example.com>",
		"comment":               "ann(comment)@example.com",
		"quoted local":          `"ann"@example.com`,
		"quoted local with at":  `"a@b"@example.com`,
		"space inside":          "an n@example.com",
		"tab inside":            "ann\t@example.com",
		"newline inside":        "ann@example.com\nBcc: eve@example.com",
		"nul":                   "ann\x00@example.com",
		"zero width space":      "ann\u200b@example.com",
		"bidi override":         "ann\u202e@example.com",
		"non-ascii local":       "josé@example.com",
		"comma list":            "ann@example.com,bob@example.com",
		"semicolon":             "ann;bob@example.com",
		"ip literal":            "ann@[192.0.2.1]",
		"numeric tld":           "ann@192.0.2.1",
		"one-letter tld":        "ann@example.c",
		"underscore in domain":  "ann@ex_ample.com",
		"hyphen leads label":    "ann@-example.com",
		"hyphen ends label":     "ann@example-.com",
		"bad punycode":          "ann@xn--zz.com",
		"label over 63":         "ann@" + strings.Repeat("x", 64) + ".com",
		"local over 64":         strings.Repeat("a", 65) + "@example.com",
		"over 254":              long,
		"invalid utf-8":         "ann@exa\xffmple.com",
		"backslash":             `an\n@example.com`,
		"domain with port":      "ann@example.com:25",
		"domain with path":      "ann@example.com/x",
		"mailto prefix":         "mailto:ann@example.com",
	}
	if len(long) <= 254 {
		t.Fatalf("test address is only %d characters", len(long))
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := contact.ParseEmail(in)
			if err == nil {
				t.Fatalf("ParseEmail(%q) = %+v, want an error", in, e)
			}
			if !errors.Is(err, contact.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if e != (contact.Email{}) {
				t.Errorf("ParseEmail(%q) returned %+v with its error", in, e)
			}
			assertNoEcho(t, err, in)
		})
	}
}

func TestMasked(t *testing.T) {
	emails := map[string]string{
		"ann@example.com":     "a•••@example.com",
		"a@example.com":       "a•••@example.com",
		"Ann.Lee@Example.COM": "A•••e@Example.COM",
		"ann+mfa@bücher.de":   "a•••a@bücher.de",
		"anna@example.com":    "a•••a@example.com",
		"bill@example.com":    "b•••l@example.com",
		"bob@example.com":     "b•••@example.com",
	}
	for in, want := range emails {
		e, err := contact.ParseEmail(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Masked(); got != want {
			t.Errorf("%q masked = %q, want %q", in, got, want)
		}
	}

	if got := (contact.Email{}).Masked(); got != "•••" {
		t.Errorf("zero Email masked = %q", got)
	}
}

// assertNoEcho fails if the error repeats the input: errors go back to clients and into logs.
func assertNoEcho(t *testing.T, err error, in string) {
	t.Helper()
	if s := strings.TrimSpace(in); len(s) > 3 && strings.Contains(err.Error(), s) {
		t.Errorf("error %q repeats the input", err)
	}
}

func TestLogValueIsMasked(t *testing.T) {
	e, _ := contact.ParseEmail("ann@example.com")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("send", "email", e)
	out := buf.String()
	if strings.Contains(out, "ann@") || !strings.Contains(out, `"email":"a•••@example.com"`) {
		t.Errorf("log: %s", out)
	}
}
