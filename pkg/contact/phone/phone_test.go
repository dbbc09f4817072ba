package phone_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/mfa-service/mfa/pkg/contact"
	phone "github.com/mfa-service/mfa/pkg/contact/phone"
)

func TestParsePhoneValid(t *testing.T) {
	tests := []struct{ in, e164, region string }{
		{"+44 20 7946 0958", "+442079460958", "GB"},
		{"+442079460958", "+442079460958", "GB"},
		{"+1 650-253-0000", "+16502530000", "US"},
		{"+1 (650) 253-0000", "+16502530000", "US"},
		{"+1.650.253.0000", "+16502530000", "US"},
		{"  +49 30 901820 ", "+4930901820", "DE"},
		{"+33 1 23 45 67 89", "+33123456789", "FR"},
		{"+39 02 8901 2345", "+390289012345", "IT"}, // Italy keeps its leading 0
		{"+61 2 9374 4000", "+61293744000", "AU"},
		{"+1 684 733 1234", "+16847331234", "AS"}, // NANP, but American Samoa
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := phone.Parse(tt.in)
			if err != nil {
				t.Fatalf("ParsePhone(%q): %v", tt.in, err)
			}
			if p.E164 != tt.e164 || p.Region != tt.region {
				t.Errorf("ParsePhone(%q) = %+v, want E164 %q, Region %q", tt.in, p, tt.e164, tt.region)
			}
		})
	}
}

func TestParsePhoneInvalid(t *testing.T) {
	tests := map[string]string{
		"empty":                "",
		"no plus":              "12025550100",
		"national format":      "020 7946 0958",
		"double zero prefix":   "0044 20 7946 0958",
		"letters":              "+1 800 FLOWERS",
		"letter o for zero":    "+44 2O 7946 0958",
		"extension":            "+1 650 253 0000 ext 12",
		"extension rfc3966":    "+16502530000;ext=12",
		"hash":                 "+16502530000#",
		"too short for US":     "+1 202-555-010",
		"too long for US":      "+1 202-555-01000",
		"US area code 1xx":     "+1 123-456-7890",
		"too short for GB":     "+44 20 7946 095",
		"no such country code": "+999 1234 5678",
		"country code only":    "+44",
		"plus only":            "+",
		"non-geographic +800":  "+800 1234 5678",
		"non-ascii digits":     "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨",
		"two numbers":          "+44 20 7946 0958, +44 20 7946 0959",
		"padding to the limit": "+4" + strings.Repeat(" ", 40) + "4 20 7946 0958",
		"newline":              "+44 20 7946\n0958",
		"slash":                "+44/20/7946/0958",
		"leading junk":         "tel:+442079460958",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := phone.Parse(in)
			if err == nil {
				t.Fatalf("ParsePhone(%q) = %+v, want an error", in, p)
			}
			if !errors.Is(err, contact.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if p != (phone.Phone{}) {
				t.Errorf("ParsePhone(%q) returned %+v with its error", in, p)
			}
			assertNoEcho(t, err, in)
		})
	}
}

func TestMasked(t *testing.T) {
	// One • per hidden digit: a NANP number has 10 national digits, 6 of them hidden.
	phones := map[string]string{
		"+1 202-555-0100":   "+1••••••0100",
		"+44 20 7946 0958":  "+44••••••0958",
		"+49 30 901820":     "+49••••1820",
		"+39 02 8901 2345":  "+39••••••2345",
		"+33 1 23 45 67 89": "+33•••••6789",
	}
	for in, want := range phones {
		p, err := phone.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Masked(); got != want {
			t.Errorf("%q masked = %q, want %q", in, got, want)
		}
	}

	// Short national numbers (Niue has four digits) keep two hidden; values that never came
	// from a parser reveal nothing beyond the last digits.
	for p, want := range map[phone.Phone]string{
		{E164: "+6834002", Region: "NU"}: "+683••02",
		{}:                               "+",
		{E164: "+12"}:                    "+••",
	} {
		if got := p.Masked(); got != want {
			t.Errorf("%+v masked = %q, want %q", p, got, want)
		}
	}
}

func TestLogValueIsMasked(t *testing.T) {
	p, _ := phone.Parse("+44 20 7946 0958")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("send", "phone", p)
	if out := buf.String(); strings.Contains(out, "79460958") || !strings.Contains(out, `"phone":"+44••••••0958"`) {
		t.Errorf("log: %s", out)
	}
}

// assertNoEcho fails if the error repeats the input: errors go back to clients and into logs.
func assertNoEcho(t *testing.T, err error, in string) {
	t.Helper()
	if s := strings.TrimSpace(in); len(s) > 3 && strings.Contains(err.Error(), s) {
		t.Errorf("error %q repeats the input", err)
	}
}
