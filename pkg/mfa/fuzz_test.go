package mfa

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mfa-service/mfa/pkg/seal"
)

// Fuzz targets of the code and label normalisation: pure functions that every typed or pasted
// code and every label goes through. `go test` runs the seeds in testdata/fuzz/<FuzzName>;
// `make fuzz` explores further.

// otpSeparators are what normalizeOTP forgives between digits.
var otpSeparators = []string{"", " ", "-", " - ", "--"}

// FuzzNormalizeOTP: any input either normalises to exactly six ASCII digits (the input
// without its spaces and dashes) or is refused; normalising again changes nothing; and
// spaces and dashes anywhere in a valid code do not change what it normalises to.
func FuzzNormalizeOTP(f *testing.F) {
	f.Add("123456", []byte{0, 1, 2, 0, 0, 0, 0})
	f.Add("123 456", []byte{})
	f.Add("12-34-56", []byte{2, 0, 2, 0, 2, 0, 0})
	f.Add(" 000000 ", []byte{1, 1, 1, 1, 1, 1, 1})
	f.Add("١٢٣٤٥٦", []byte{}) // Arabic-Indic digits are not ASCII digits
	f.Add("１２３４５６", []byte{})
	f.Add("12345", []byte{})
	f.Add("1234567", []byte{})
	f.Add("12345\x00", []byte{})
	f.Add("12\t3456", []byte{})
	f.Fuzz(func(t *testing.T, in string, seps []byte) {
		out, ok := normalizeOTP(in, int(totpDigits))
		stripped := strings.NewReplacer(" ", "", "-", "").Replace(in)
		if ok != (len(stripped) == 6 && isASCIIDigits(stripped)) {
			t.Fatalf("normalizeOTP(%q) ok=%v, stripped %q", in, ok, stripped)
		}
		if !ok {
			if out != "" {
				t.Fatalf("normalizeOTP(%q) refused but returned %q", in, out)
			}
		} else {
			if out != stripped {
				t.Fatalf("normalizeOTP(%q) = %q, want %q", in, out, stripped)
			}
			if again, ok2 := normalizeOTP(out, int(totpDigits)); !ok2 || again != out {
				t.Fatalf("not idempotent: %q → %q → %q %v", in, out, again, ok2)
			}
		}

		// A valid code made from the input's bytes, with separators placed by seps.
		var code strings.Builder
		for i := range 6 {
			b := byte(i)
			if i < len(in) {
				b = in[i]
			}
			code.WriteByte('0' + b%10)
		}
		var typed strings.Builder
		typed.WriteString(otpSeparators[at(seps, 0)%len(otpSeparators)])
		for i, d := range code.String() {
			typed.WriteRune(d)
			typed.WriteString(otpSeparators[at(seps, i+1)%len(otpSeparators)])
		}
		if got, ok := normalizeOTP(typed.String(), int(totpDigits)); !ok || got != code.String() {
			t.Fatalf("normalizeOTP(%q) = %q %v, want %q", typed.String(), got, ok, code.String())
		}
	})
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func at(b []byte, i int) int {
	if i < len(b) {
		return int(b[i])
	}
	return 0
}

// backupSeparators are what normalizeBackupCode forgives between characters.
var backupSeparators = []string{"", "", "-", " ", "_", ".", " - "}

// lookalikes are what a person may type for a Crockford digit.
var lookalikes = map[byte][]string{'0': {"0", "o", "O"}, '1': {"1", "i", "I", "l", "L"}}

// FuzzNormalizeBackupCode: any input either normalises to 16 Crockford base32 characters or is
// refused; normalising again changes nothing; and a code the service generated normalises to
// the same value however it is typed (upper or lower case, any of the separators, O for 0 and
// I or L for 1).
func FuzzNormalizeBackupCode(f *testing.F) {
	f.Add("abcd-efgh-jkmn-pqrs", []byte("0123456789abcdef"), []byte{})
	f.Add("ABCD EFGH JKMN PQRS", []byte("fedcba9876543210"), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add("0o1i-l000-0000-0000", []byte{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, []byte{0xff, 0xfe, 0xfd})
	f.Add("abcd_efgh.jkmn pqrs", []byte{}, []byte{})
	f.Add("abcd-efgh-jkmn-pqru", []byte{}, []byte{}) // u is not Crockford
	f.Add("abcd-efgh-jkmn-pqr", []byte{}, []byte{})
	f.Add("abcd-efgh-jkmn-pqrst", []byte{}, []byte{})
	f.Add("\u212aaaa-aaaa-aaaa-aaaa", []byte{}, []byte{}) // KELVIN SIGN lowercases to k
	f.Add("İbcd-efgh-jkmn-pqrs", []byte{}, []byte{})
	f.Add("abcd\x00efgh-jkmn-pqrs", []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, in string, random, variant []byte) {
		out, ok := normalizeBackupCode(in)
		if ok {
			if len(out) != backupCodeChars || strings.Trim(out, crockford) != "" {
				t.Fatalf("normalizeBackupCode(%q) = %q: not %d Crockford characters", in, out, backupCodeChars)
			}
			if again, ok2 := normalizeBackupCode(out); !ok2 || again != out {
				t.Fatalf("not idempotent: %q → %q → %q %v", in, out, again, ok2)
			}
		} else if out != "" {
			t.Fatalf("normalizeBackupCode(%q) refused but returned %q", in, out)
		}

		// A code as the service generates it, from the fuzzer's random bytes.
		s := &Core{Random: bytes.NewReader(append(append([]byte{}, random...), make([]byte, 16*backupCodeCount+16)...)), Hasher: fuzzHasher, Now: time.Now}
		set, codes, err := s.newBackupSet("user")
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != backupCodeCount || len(set.BackupCodes) != backupCodeCount {
			t.Fatalf("%d codes, %d hashes", len(codes), len(set.BackupCodes))
		}
		i := len(variant) % backupCodeCount
		shown := codes[i]
		canonical, ok := normalizeBackupCode(shown)
		if !ok || canonical != strings.ReplaceAll(shown, "-", "") {
			t.Fatalf("generated code %q normalises to %q %v", shown, canonical, ok)
		}
		if set.BackupCodes[i] != s.backupHash("user", set.ID, canonical) {
			t.Fatalf("stored hash is not the hash of the normalised code")
		}
		// The same code as a person might type it.
		var typed strings.Builder
		k := 0
		next := func() int { k++; return at(variant, k-1) }
		typed.WriteString(backupSeparators[next()%len(backupSeparators)])
		for i := 0; i < len(canonical); i++ {
			c := canonical[i]
			v := next()
			switch alts := lookalikes[c]; {
			case alts != nil:
				typed.WriteString(alts[v%len(alts)])
			case v%2 == 1:
				typed.WriteByte(byte(unicode.ToUpper(rune(c))))
			default:
				typed.WriteByte(c)
			}
			typed.WriteString(backupSeparators[next()%len(backupSeparators)])
		}
		if got, ok := normalizeBackupCode(typed.String()); !ok || got != canonical {
			t.Fatalf("%q typed as %q normalises to %q %v", shown, typed.String(), got, ok)
		}
	})
}

var fuzzHasher = func() Hasher {
	k, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return k
}()

// FuzzCleanLabel: a label is either refused with a 400 on the label field, or comes back
// trimmed, valid UTF-8, at most 64 characters, without control characters, unchanged by a
// second cleaning; a blank label takes the fallback.
func FuzzCleanLabel(f *testing.F) {
	f.Add("My phone")
	f.Add("  YubiKey 5 NFC  ")
	f.Add("")
	f.Add(" \t\n ")
	f.Add("tab\there")
	f.Add("\u0085nel\u0085")
	f.Add("\u00a0nbsp\u00a0")
	f.Add("emoji 👩‍💻 label")
	f.Add("\xff\xfe")
	f.Add(strings.Repeat("é", 64))
	f.Add(strings.Repeat("é", 65))
	f.Add("rtl \u202eenohp ym")
	f.Fuzz(func(t *testing.T, label string) {
		const fallback = "Authenticator app"
		out, err := cleanLabel(label, fallback)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != "label" || e.Code != CodeInvalidRequest {
				t.Fatalf("cleanLabel(%q) error %#v, want an invalid_request on label", label, err)
			}
			if out != "" {
				t.Fatalf("cleanLabel(%q) refused but returned %q", label, out)
			}
			return
		}
		trimmed := strings.TrimSpace(label)
		if trimmed == "" {
			if out != fallback {
				t.Fatalf("cleanLabel(%q) = %q, want the fallback", label, out)
			}
			return
		}
		if out != trimmed {
			t.Fatalf("cleanLabel(%q) = %q, want it trimmed", label, out)
		}
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > maxLabelRunes {
			t.Fatalf("cleanLabel(%q) = %q: invalid UTF-8 or too long", label, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) {
				t.Fatalf("cleanLabel(%q) = %q keeps control character %U", label, out, r)
			}
		}
		if again, err := cleanLabel(out, fallback); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q %v", label, out, again, err)
		}
	})
}
