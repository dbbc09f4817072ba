package phone

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/mfa-service/mfa/pkg/contact/phone/internal/phonegen"
)

// libraryParse is what Parse did with the whole library linked: the reference the generated
// number plan must agree with.
func libraryParse(s string) (Phone, bool) {
	num, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return Phone{}, false
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if len(region) != 2 || region == "ZZ" {
		return Phone{}, false
	}
	return Phone{E164: phonenumbers.Format(num, phonenumbers.E164), Region: region}, true
}

// libraryTestNumbers are the library's own example numbers, of every type of every region and
// non-geographic entity, in E.164 form.
func libraryTestNumbers(t *testing.T) []*phonenumbers.PhoneNumber {
	t.Helper()
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL,
	}
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out []*phonenumbers.PhoneNumber
	for _, r := range regions {
		for _, typ := range types {
			if n := phonenumbers.GetExampleNumberForType(r, typ); n != nil {
				out = append(out, n)
			}
		}
	}
	var nonGeo []int
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		nonGeo = append(nonGeo, cc)
	}
	sort.Ints(nonGeo)
	for _, cc := range nonGeo {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			out = append(out, n)
		}
	}
	if len(out) < 1000 {
		t.Fatalf("only %d example numbers: the library's metadata did not load", len(out))
	}
	return out
}

// TestAgreesWithLibphonenumber checks Parse against the library on the library's example
// numbers, written as people write them (international and with the national prefix kept
// after the country code), and on near misses of each: one digit changed, dropped or added.
// Valid or not, E.164 form and region must be the same.
func TestAgreesWithLibphonenumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	var inputs []string
	for _, n := range libraryTestNumbers(t) {
		e164 := phonenumbers.Format(n, phonenumbers.E164)
		cc := strconv.Itoa(int(n.GetCountryCode()))
		national := phonenumbers.NormalizeDigitsOnly(phonenumbers.Format(n, phonenumbers.NATIONAL))
		inputs = append(inputs,
			e164,
			phonenumbers.Format(n, phonenumbers.INTERNATIONAL),
			"+"+cc+" "+national, // "+44 020 7946 0958": national prefix kept
		)
		digits := e164[1:]
		for i := 0; i < 6; i++ {
			p := len(cc) + rng.IntN(len(digits)-len(cc))
			d := byte('0' + rng.IntN(10))
			inputs = append(inputs,
				"+"+digits[:p]+string(d)+digits[p+1:], // changed
				"+"+digits[:p]+digits[p+1:],           // dropped
				"+"+digits[:p]+string(d)+digits[p:],   // added
			)
		}
	}
	var valid, disagree int
	for _, in := range inputs {
		want, wantOK := libraryParse(in)
		got, err := Parse(in)
		if wantOK {
			valid++
		}
		if (err == nil) != wantOK || got != want {
			disagree++
			if disagree <= 20 {
				t.Errorf("Parse(%q) = %+v, %v; the library says %+v, valid %v", in, got, err, want, wantOK)
			}
		}
	}
	t.Logf("%d inputs, %d valid by the library, %d disagreements", len(inputs), valid, disagree)
	if valid < len(inputs)/10 || valid == len(inputs) {
		t.Fatalf("%d of %d valid: the inputs do not test both sides", valid, len(inputs))
	}
}

// TestGeneratedPlanIsCurrent fails when metadata_gen.go is not what go generate writes from
// the library version in go.mod (after a library upgrade, run go generate ./pkg/contact/phone).
func TestGeneratedPlanIsCurrent(t *testing.T) {
	want, err := phonegen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("metadata_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("metadata_gen.go is stale: run go generate ./pkg/contact/phone")
	}
}

// The plan is compiled region by region, on first use.
func TestPlanCompilesEveryRegion(t *testing.T) {
	n := 0
	for _, regions := range plan() {
		for _, r := range regions {
			r.compile()
			n++
		}
	}
	if n < 240 {
		t.Fatalf("%d regions", n)
	}
}
