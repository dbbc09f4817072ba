package locale

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A Catalog holds one locale's messages, read from a JSON data file (<locale>.json): an
// object whose values are either a string, or, for a message that depends on a count, an
// object of CLDR plural forms ({"one": "…{n} minute", "other": "…{n} minutes"}).
// Placeholders are written {name}.
type Catalog struct {
	Locale string
	msgs   map[string]Message
}

// Message is one catalog entry: Text, or Plural forms by CLDR category.
type Message struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON reads a string or an object of plural forms.
func (m *Message) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, &m.Plural)
	}
	return json.Unmarshal(b, &m.Text)
}

// MarshalJSON writes the message as it was read.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Plural != nil {
		return json.Marshal(m.Plural)
	}
	return json.Marshal(m.Text)
}

// LoadCatalogs reads dir/<locale>.json for every supported locale from fsys (an embedded
// directory). A missing or malformed file is an error: every locale has every message.
func LoadCatalogs(fsys fs.FS, dir string) (map[string]*Catalog, error) {
	out := make(map[string]*Catalog, len(Supported))
	for _, l := range Supported {
		c, err := LoadCatalog(fsys, dir, l)
		if err != nil {
			return nil, err
		}
		out[l] = c
	}
	return out, nil
}

// LoadCatalog reads dir/<l>.json alone, for a process that needs one locale at a time.
func LoadCatalog(fsys fs.FS, dir, l string) (*Catalog, error) {
	raw, err := fs.ReadFile(fsys, path.Join(dir, l+".json"))
	if err != nil {
		return nil, fmt.Errorf("locale: catalog %s: %w", l, err)
	}
	c := &Catalog{Locale: l}
	if err := json.Unmarshal(raw, &c.msgs); err != nil {
		return nil, fmt.Errorf("locale: catalog %s: %w", l, err)
	}
	return c, nil
}

// Keys are the catalog's message keys, sorted.
func (c *Catalog) Keys() []string {
	keys := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Message returns one entry.
func (c *Catalog) Message(key string) (Message, bool) {
	m, ok := c.msgs[key]
	return m, ok
}

// T renders the message key with args given as name, value pairs. A missing key renders as
// the key itself, which the catalog tests make impossible for the keys the code uses.
func (c *Catalog) T(key string, args ...string) string {
	m, ok := c.msgs[key]
	if !ok {
		return key
	}
	text := m.Text
	if m.Plural != nil {
		text = m.Plural["other"]
	}
	return Format(text, args...)
}

// N renders the plural message key for the count n, which also fills {n}.
func (c *Catalog) N(key string, n int, args ...string) string {
	m, ok := c.msgs[key]
	if !ok {
		return key
	}
	text, ok := m.Plural[PluralForm(c.Locale, n)]
	if !ok {
		text = m.Plural["other"]
	}
	return Format(text, append(args, "n", strconv.Itoa(n))...)
}

// Format replaces each {name} in text by its value from the name, value pairs.
func Format(text string, args ...string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		name := text[i+1 : i+j]
		b.WriteString(text[:i])
		replaced := false
		for k := 0; k+1 < len(args); k += 2 {
			if args[k] == name {
				b.WriteString(args[k+1])
				replaced = true
				break
			}
		}
		if !replaced {
			b.WriteString(text[i : i+j+1])
		}
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

// Placeholders lists the {names} in text, sorted and without repeats.
func Placeholders(text string) []string {
	var names []string
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		names = append(names, text[i+1:i+j])
		text = text[i+j+1:]
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// CheckCatalogs is the catalogs' test: every locale has exactly the keys of schema, each
// message uses exactly the placeholders schema lists for it (every one of them, and no
// other), a plural message has every form its locale's plural rules can pick and nothing
// else, and no message is empty (but separators, keys ending in _gap or _separator: Japanese
// joins sentences with nothing). It returns every problem found.
func CheckCatalogs(cats map[string]*Catalog, schema map[string][]string) []error {
	var errs []error
	for _, l := range Supported {
		c := cats[l]
		if c == nil {
			errs = append(errs, fmt.Errorf("%s: no catalog", l))
			continue
		}
		for key, want := range schema {
			m, ok := c.msgs[key]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %q is missing", l, key))
				continue
			}
			want = slices.Sorted(slices.Values(want))
			texts := map[string]string{"": m.Text}
			if m.Plural != nil {
				texts = m.Plural
				forms := pluralForms(l)
				for _, f := range forms {
					if _, ok := m.Plural[f]; !ok {
						errs = append(errs, fmt.Errorf("%s: %q has no %q form", l, key, f))
					}
				}
				for f := range m.Plural {
					if !slices.Contains(forms, f) {
						errs = append(errs, fmt.Errorf("%s: %q has a %q form that %s never uses", l, key, f, l))
					}
				}
				want = slices.Sorted(slices.Values(append(slices.Clone(want), "n")))
				want = slices.Compact(want)
			}
			for form, text := range texts {
				if strings.TrimSpace(text) == "" && !strings.HasSuffix(key, "_gap") && !strings.HasSuffix(key, "_separator") {
					errs = append(errs, fmt.Errorf("%s: %q %s is empty", l, key, form))
				}
				if got := Placeholders(text); !slices.Equal(got, want) {
					errs = append(errs, fmt.Errorf("%s: %q %s uses placeholders %v, want %v", l, key, form, got, want))
				}
			}
		}
		for key := range c.msgs {
			if _, ok := schema[key]; !ok {
				errs = append(errs, fmt.Errorf("%s: %q is not a message the code uses", l, key))
			}
		}
	}
	return errs
}

// pluralForms are the CLDR categories PluralForm picks for a locale over the counts a
// message shows.
func pluralForms(l string) []string {
	var forms []string
	for n := 0; n <= 1000; n++ {
		if f := PluralForm(l, n); !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// MarshalJSON writes the catalog as its data file has it: key → text or plural forms. The
// pages hand it to their scripts.
func (c *Catalog) MarshalJSON() ([]byte, error) { return json.Marshal(c.msgs) }
