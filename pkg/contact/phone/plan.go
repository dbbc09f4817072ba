package phone

//go:generate go run ./internal/phonegen/cmd

import (
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// This file validates numbers against libphonenumber's number plan (metadata_gen.go, written
// by go generate from the library's metadata) the way the library does, without linking the
// library: see internal/phonegen for why. TestAgreesWithLibphonenumber holds the two together.

// plan is the number plan by country calling code (metadata_gen.go), built the first time a
// number is parsed: only enrollment and admin requests that take a new number need it.
var plan = sync.OnceValue(buildPlan)

// region is one country's (or territory's) numbering plan.
type region struct {
	id                      string // ISO 3166-1 alpha-2
	leadingDigits           string // picks this region among those sharing a calling code
	nationalPrefix          string // national prefix (and carrier code) pattern, for parsing
	nationalPrefixTransform string // replacement for nationalPrefix's match, if any
	general                 desc   // every valid national number matches it
	localOnly               []int8 // lengths only dialable locally
	types                   []desc // a valid national number also matches one of these

	once sync.Once
	re   compiled
}

// desc is a national-number pattern with the lengths it allows (nil: any).
type desc struct {
	pattern string
	lengths []int8
	re      *regexp.Regexp
}

type compiled struct {
	leadingDigits, nationalPrefix *regexp.Regexp
}

// compile builds the region's expressions on first use: a process compiles only the few
// regions it meets, which keeps them out of the cold start.
func (r *region) compile() {
	r.once.Do(func() {
		if r.leadingDigits != "" {
			r.re.leadingDigits = regexp.MustCompile("^(?:" + r.leadingDigits + ")")
		}
		if r.nationalPrefix != "" {
			r.re.nationalPrefix = regexp.MustCompile("^(?:" + r.nationalPrefix + ")")
		}
		r.general.re = regexp.MustCompile("^(?:" + r.general.pattern + ")$")
		for i := range r.types {
			r.types[i].re = regexp.MustCompile("^(?:" + r.types[i].pattern + ")$")
		}
	})
}

func (d *desc) matches(nsn string) bool {
	if d.lengths != nil && !slices.Contains(d.lengths, int8(len(nsn))) {
		return false
	}
	return d.re.MatchString(nsn)
}

// valid reports whether nsn is a valid national significant number of r: it matches the
// general description and one number type.
func (r *region) valid(nsn string) bool {
	r.compile()
	if !r.general.matches(nsn) {
		return false
	}
	for i := range r.types {
		if r.types[i].matches(nsn) {
			return true
		}
	}
	return false
}

// Bounds of libphonenumber's parser.
const (
	minNSN         = 2
	maxNSN         = 17
	maxCountryCode = 3
)

// splitCountryCode splits the digits after the "+" into a known country calling code and
// the rest. Calling codes are prefix-free, so the first match is the only one.
func splitCountryCode(digits string) (cc int, rest string, ok bool) {
	if digits == "" || digits[0] == '0' {
		return 0, "", false
	}
	for i := 1; i <= maxCountryCode && i <= len(digits); i++ {
		n, _ := strconv.Atoi(digits[:i])
		if _, known := plan()[n]; known {
			return n, digits[i:], true
		}
	}
	return 0, "", false
}

// lookup validates the digits after the "+" (no separators) as libphonenumber's Parse,
// IsValidNumber and GetRegionCodeForNumber do, and returns the country calling code, the
// national significant number and the region.
func lookup(digits string) (cc int, nsn, regionID string, ok bool) {
	if len(digits) <= minNSN {
		return 0, "", "", false
	}
	cc, national, ok := splitCountryCode(digits)
	if !ok {
		return 0, "", "", false
	}
	regions := plan()[cc]
	if len(regions) == 0 { // a non-geographic entity
		return 0, "", "", false
	}
	if len(national) < minNSN {
		return 0, "", "", false
	}
	nsn = stripNationalPrefix(national, regions[0])
	if len(nsn) < minNSN || len(nsn) > maxNSN {
		return 0, "", "", false
	}
	r := regionOf(nsn, regions)
	if r == nil || !r.valid(nsn) {
		return 0, "", "", false
	}
	return cc, nsn, r.id, true
}

// regionOf picks the region of a calling code shared by several (+1, +7, +44, ...): the first
// whose leading digits match, or, for a region without them, whose plan the number fits.
func regionOf(nsn string, regions []*region) *region {
	if len(regions) == 1 {
		return regions[0]
	}
	for _, r := range regions {
		r.compile()
		if r.re.leadingDigits != nil {
			if r.re.leadingDigits.MatchString(nsn) {
				return r
			}
		} else if r.valid(nsn) {
			return r
		}
	}
	return nil
}

// stripNationalPrefix drops a national prefix written after the country code ("+44 020 ...")
// when what remains is still of a possible length, as libphonenumber's parser does.
func stripNationalPrefix(national string, main *region) string {
	main.compile()
	stripped, ok := stripPrefix(national, main)
	if !ok {
		return national
	}
	switch lengthCheck(stripped, main) {
	case tooShort, localOnly, invalidLength:
		return national
	}
	return stripped
}

// stripPrefix is libphonenumber's maybeStripNationalPrefixAndCarrierCode.
func stripPrefix(number string, r *region) (string, bool) {
	if number == "" || r.re.nationalPrefix == nil {
		return number, false
	}
	groups := r.re.nationalPrefix.FindStringSubmatchIndex(number)
	if groups == nil {
		return number, false
	}
	viable := r.general.re.MatchString(number)
	numGroups := len(groups)/2 - 1
	if r.nationalPrefixTransform == "" || groups[numGroups*2] < 0 {
		if viable && !r.general.re.MatchString(number[groups[1]:]) {
			return number, false
		}
		return number[groups[1]:], true
	}
	transformed := r.re.nationalPrefix.ReplaceAllString(number, r.nationalPrefixTransform)
	if viable && !r.general.re.MatchString(transformed) {
		return number, false
	}
	return transformed, true
}

type lengthResult int

const (
	possible lengthResult = iota
	localOnly
	tooShort
	tooLong
	invalidLength
)

// lengthCheck is libphonenumber's testNumberLength for the general description.
func lengthCheck(number string, r *region) lengthResult {
	ls := r.general.lengths
	if len(ls) == 0 || ls[0] == -1 {
		return invalidLength
	}
	n := int8(min(len(number), 127))
	switch {
	case slices.Contains(r.localOnly, n):
		return localOnly
	case n == ls[0]:
		return possible
	case n < ls[0]:
		return tooShort
	case n > ls[len(ls)-1]:
		return tooLong
	case slices.Contains(ls[1:], n):
		return possible
	}
	return invalidLength
}
