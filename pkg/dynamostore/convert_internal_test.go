package dynamostore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// fill gives every field of the struct v points to a distinct non-zero value, embedded
// structs included, so that a reader that forgets a field (one added to the struct later, say)
// reads a different value than attributevalue does.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		*n++
		switch f.Kind() {
		case reflect.Struct:
			fill(t, f, n)
		case reflect.String:
			f.SetString(fmt.Sprintf("s%d", *n))
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1_000_000_000_000 + *n))
		case reflect.Uint32:
			f.SetUint(uint64(4_000_000_000 + *n))
		case reflect.Slice:
			switch f.Type().Elem().Kind() {
			case reflect.Uint8:
				f.SetBytes([]byte{byte(*n), 1, 2, 3})
			case reflect.String:
				f.Set(reflect.ValueOf([]string{fmt.Sprintf("a%d", *n), fmt.Sprintf("b%d", *n)}))
			default:
				t.Fatalf("field %s: no filler for %s", v.Type().Field(i).Name, f.Type())
			}
		default:
			t.Fatalf("field %s: no filler for %s", v.Type().Field(i).Name, f.Type())
		}
	}
}

// The hand-written readers read what attributevalue.UnmarshalMap reads: from a full item,
// with each attribute missing, NULL, of another type or out of range, and among unknown
// attributes. Lists they refuse (no writer makes one in these items).
func TestItemReadersAgreeWithAttributeValue(t *testing.T) {
	readers := []struct {
		name string
		typ  reflect.Type
		read func(map[string]types.AttributeValue) (any, error)
	}{
		{"state", reflect.TypeFor[stateItem](), func(m map[string]types.AttributeValue) (any, error) { return readStateItem(m) }},
		{"code entry", reflect.TypeFor[codeEntry](), func(m map[string]types.AttributeValue) (any, error) { return readCodeEntry(m) }},
		{"factor", reflect.TypeFor[factorItem](), func(m map[string]types.AttributeValue) (any, error) { return readFactorItem(m) }},
		{"seen", reflect.TypeFor[seenItem](), func(m map[string]types.AttributeValue) (any, error) { return readSeenItem(m) }},
		{"device", reflect.TypeFor[deviceItem](), func(m map[string]types.AttributeValue) (any, error) { return readDeviceItem(m) }},
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			full := reflect.New(r.typ)
			n := 0
			fill(t, full.Elem(), &n)
			item, err := attributevalue.MarshalMap(full.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.read(item); err != nil || !reflect.DeepEqual(got, full.Elem().Interface()) {
				t.Fatalf("full item: read %+v, %v\nwant %+v", got, err, full.Elem().Interface())
			}
			agree := func(what string, item map[string]types.AttributeValue) {
				t.Helper()
				want := reflect.New(r.typ)
				wantErr := attributevalue.UnmarshalMap(item, want.Interface())
				got, err := r.read(item)
				switch {
				case (err != nil) != (wantErr != nil):
					t.Errorf("%s: error %v, attributevalue's %v", what, err, wantErr)
				case err == nil && !reflect.DeepEqual(got, want.Elem().Interface()):
					t.Errorf("%s: read %+v\nattributevalue %+v", what, got, want.Elem().Interface())
				}
			}
			with := func(name string, v types.AttributeValue) map[string]types.AttributeValue {
				out := map[string]types.AttributeValue{}
				for k, x := range item {
					out[k] = x
				}
				if v == nil {
					delete(out, name)
				} else {
					out[name] = v
				}
				return out
			}
			agree("unknown attributes", with("t_abc", &types.AttributeValueMemberN{Value: "7"}))
			errors := 0
			for name := range item {
				agree(name+" missing", with(name, nil))
				agree(name+" NULL", with(name, &types.AttributeValueMemberNULL{Value: true}))
				for _, other := range []types.AttributeValue{
					&types.AttributeValueMemberBOOL{Value: true},
					&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
					&types.AttributeValueMemberS{Value: "12"},
					&types.AttributeValueMemberN{Value: "12"},
					&types.AttributeValueMemberN{Value: "1.5"},
					&types.AttributeValueMemberN{Value: "-3"},
					&types.AttributeValueMemberN{Value: "4294967296"},
					&types.AttributeValueMemberN{Value: "99999999999999999999"},
					&types.AttributeValueMemberB{Value: []byte("x")},
					&types.AttributeValueMemberSS{Value: []string{"x"}},
					&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}}},
					&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1"}}},
				} {
					_, err := r.read(with(name, other))
					if err != nil {
						errors++
					}
					if _, list := other.(*types.AttributeValueMemberL); list {
						// Stricter than attributevalue, which reads lists of numbers as bytes
						// or strings: no writer makes a list here.
						if err == nil {
							t.Errorf("%s as a list: read without error", name)
						}
						continue
					}
					agree(fmt.Sprintf("%s as %#v", name, other), with(name, other))
				}
			}
			if errors == 0 {
				t.Error("no ill-typed attribute was refused: the comparison proves little")
			}
		})
	}
}

// isActivitySort accepts exactly what the regular expression it replaces accepts.
func TestIsActivitySortAgreesWithItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[0-9]{13}#`)
	inputs := []string{"", "#", "1796000000000#", "1796000000000#alice", "179600000000#alice", "17960000000000#alice",
		"1796000000000", "1796000000000x", "179600000000a#", " 796000000000#", "1796000000000#\n"}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		b := []byte("1796000000000#" + strings.Repeat("u", rng.IntN(4)))
		for k := rng.IntN(3); k > 0; k-- {
			b[rng.IntN(len(b))] = "0123456789#a \xff"[rng.IntN(14)]
		}
		inputs = append(inputs, string(b[:rng.IntN(len(b)+1)]))
	}
	accepted := 0
	for _, in := range inputs {
		want := re.MatchString(in)
		if got := isActivitySort(in); got != want {
			t.Errorf("%q: isActivitySort says %v, the pattern says %v", in, got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < 100 {
		t.Errorf("only %d inputs accepted: the comparison proves little", accepted)
	}
}

// The audit item's hand-written attributes are what attributevalue.MarshalMap makes of it:
// with every field set, with each one empty in turn (omitempty), and with all empty.
func TestAuditItemAttributesAgreeWithAttributeValue(t *testing.T) {
	var full auditItem
	n := 0
	fill(t, reflect.ValueOf(&full).Elem(), &n)
	items := []auditItem{full, {}}
	for i := 0; i < reflect.TypeFor[auditItem]().NumField(); i++ {
		it := full
		f := reflect.ValueOf(&it).Elem().Field(i)
		f.Set(reflect.Zero(f.Type()))
		items = append(items, it)
	}
	for _, it := range items {
		want, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		if got := it.attributes(); !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\n got %v\nwant %v", it, got, want)
		}
	}
}

// Each factor-type counter of the state counts its own type; zero counts are left out.
func TestTypeCountsNameEachCounter(t *testing.T) {
	got := directoryFields{TOTP: 1, WebAuthn: 2, Email: 3, SMS: 4, BackupCode: 5}.typeCounts()
	want := map[mfa.FactorType]int{mfa.TypeTOTP: 1, mfa.TypeWebAuthn: 2, mfa.TypeEmail: 3, mfa.TypeSMS: 4, mfa.TypeBackupCodes: 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := (directoryFields{SMS: 2}).typeCounts(); !reflect.DeepEqual(got, map[mfa.FactorType]int{mfa.TypeSMS: 2}) {
		t.Errorf("only SMS: got %v", got)
	}
}

// A user's factors come primary ones first, oldest first, then by id; backup codes last.
func TestFactorOrder(t *testing.T) {
	t0 := time.UnixMilli(1_796_000_000_000)
	factors := []mfa.Factor{
		{ID: "backup", Type: mfa.TypeBackupCodes, CreatedAt: t0},
		{ID: "b", Type: mfa.TypeTOTP, CreatedAt: t0.Add(time.Minute)},
		{ID: "c", Type: mfa.TypeEmail, CreatedAt: t0.Add(2 * time.Minute)},
		{ID: "a", Type: mfa.TypeWebAuthn, CreatedAt: t0.Add(time.Minute)},
		{ID: "z", Type: mfa.TypeSMS, CreatedAt: t0},
	}
	slices.SortStableFunc(factors, factorOrder)
	var got []string
	for _, f := range factors {
		got = append(got, f.ID)
	}
	if want := []string{"z", "a", "b", "c", "backup"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// The sort keys' milliseconds are written as %013d writes them, on either side of its range.
func TestAppendMillis13IsSprintf(t *testing.T) {
	for _, ms := range []int64{0, 1, 42, 1_796_000_000_123, 9_999_999_999_999, 10_000_000_000_000, -1, -1_796_000_000_123, 1 << 62} {
		if got, want := string(appendMillis13([]byte("x"), ms)), "x"+fmt.Sprintf("%013d", ms); got != want {
			t.Errorf("%d: %s, want %s", ms, got, want)
		}
	}
	at := time.UnixMilli(1_796_000_000_123)
	if got := activityKey("alice", at); got != "1796000000123#alice" {
		t.Errorf("activity key %s", got)
	}
}
