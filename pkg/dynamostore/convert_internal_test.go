package dynamostore

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient/dynamoclienttest"

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
		{"state", reflect.TypeFor[stateItem](), func(m map[string]types.AttributeValue) (any, error) { return readStateItem(dynamoclienttest.Item(m)) }},
		{"code entry", reflect.TypeFor[codeEntry](), func(m map[string]types.AttributeValue) (any, error) { return readCodeEntry(dynamoclienttest.Item(m)) }},
		{"factor", reflect.TypeFor[factorItem](), func(m map[string]types.AttributeValue) (any, error) { return readFactorItem(dynamoclienttest.Item(m)) }},
		{"seen", reflect.TypeFor[seenItem](), func(m map[string]types.AttributeValue) (any, error) { return readSeenItem(dynamoclienttest.Item(m)) }},
		{"device", reflect.TypeFor[deviceItem](), func(m map[string]types.AttributeValue) (any, error) { return readDeviceItem(dynamoclienttest.Item(m)) }},
		{"data key", reflect.TypeFor[dataKeyItem](), func(m map[string]types.AttributeValue) (any, error) { return readDataKeyItem(dynamoclienttest.Item(m)) }},
		{"challenge", reflect.TypeFor[challengeItem](), func(m map[string]types.AttributeValue) (any, error) {
			return readChallengeItem(dynamoclienttest.Item(m))
		}},
		{"policy", reflect.TypeFor[policyItem](), func(m map[string]types.AttributeValue) (any, error) { return readPolicyItem(dynamoclienttest.Item(m)) }},
		{"audit", reflect.TypeFor[auditItem](), func(m map[string]types.AttributeValue) (any, error) { return readAuditItem(dynamoclienttest.Item(m)) }},
		{"enrollment", reflect.TypeFor[enrollmentItem](), func(m map[string]types.AttributeValue) (any, error) {
			return readEnrollmentItem(dynamoclienttest.Item(m))
		}},
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

// Each item's hand-written attributes are what attributevalue.MarshalMap makes of it: with
// every field set, with all empty, with each one empty in turn (omitempty) and, for slices,
// empty but not nil.
func TestItemWritersAgreeWithAttributeValue(t *testing.T) {
	writers := []struct {
		name  string
		typ   reflect.Type
		write func(any) map[string]types.AttributeValue
	}{
		{"factor", reflect.TypeFor[factorItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(factorItem).attributes())
		}},
		{"data key", reflect.TypeFor[dataKeyItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(dataKeyItem).attributes())
		}},
		{"signing key", reflect.TypeFor[signKeyItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(signKeyItem).attributes())
		}},
		{"challenge", reflect.TypeFor[challengeItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(challengeItem).attributes())
		}},
		{"code entry", reflect.TypeFor[codeEntry](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(codeEntry).attributes())
		}},
		{"seen", reflect.TypeFor[seenItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(seenItem).attributes())
		}},
		{"device", reflect.TypeFor[deviceItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(deviceItem).attributes())
		}},
		{"step-up", reflect.TypeFor[stepUpItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(stepUpItem).attributes())
		}},
		{"enrollment", reflect.TypeFor[enrollmentItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(enrollmentItem).attributes())
		}},
		{"audit", reflect.TypeFor[auditItem](), func(v any) map[string]types.AttributeValue {
			return dynamoclienttest.SDKItem(v.(auditItem).attributes())
		}},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			full := reflect.New(w.typ).Elem()
			n := 0
			fill(t, full, &n)
			items := []reflect.Value{full, reflect.New(w.typ).Elem()}
			for i := 0; i < w.typ.NumField(); i++ {
				zeroed := reflect.New(w.typ).Elem()
				zeroed.Set(full)
				f := zeroed.Field(i)
				f.Set(reflect.Zero(f.Type()))
				items = append(items, zeroed)
				if f.Kind() == reflect.Slice {
					empty := reflect.New(w.typ).Elem()
					empty.Set(full)
					empty.Field(i).Set(reflect.MakeSlice(f.Type(), 0, 0))
					items = append(items, empty)
				}
			}
			for _, it := range items {
				want, err := attributevalue.MarshalMap(it.Interface())
				if err != nil {
					t.Fatal(err)
				}
				if got := w.write(it.Interface()); !reflect.DeepEqual(got, want) {
					t.Errorf("%+v:\n got %v\nwant %v", it.Interface(), got, want)
				}
			}
		})
	}
}

// Every item struct of the store (a struct with dynamodbav tags) has its writer or reader
// held to attributevalue above: an item added later cannot slip by.
func TestEveryItemHasItsConverters(t *testing.T) {
	covered := map[string]bool{
		// read and written
		"factorItem": true, "dataKeyItem": true, "challengeItem": true, "codeEntry": true, "seenItem": true,
		"deviceItem": true, "enrollmentItem": true, "auditItem": true,
		// only written
		"signKeyItem": true, "stepUpItem": true,
		// only read (written attribute by attribute in update expressions)
		"stateItem": true, "policyItem": true,
		// embedded in stateItem
		"directoryFields": true,
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Tag != nil && strings.Contains(field.Tag.Value, "dynamodbav:") {
					found++
					if !covered[spec.Name.Name] {
						t.Errorf("%s: %s has dynamodbav tags but no converter test", name, spec.Name.Name)
					}
					break
				}
			}
			return true
		})
	}
	if found != len(covered) {
		t.Errorf("%d item structs found, %d listed: the list is out of date", found, len(covered))
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
