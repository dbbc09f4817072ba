package dynamoclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// reader reads an answer's JSON in one pass, into the output's members as it meets them
// (members it does not know, and nulls, are skipped), without reflection.
type reader struct {
	data []byte
	i    int
}

var errSyntax = errors.New("dynamoclient: malformed JSON")

func (r *reader) space() {
	for r.i < len(r.data) {
		switch r.data[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space (0 at the end).
func (r *reader) peek() byte {
	r.space()
	if r.i < len(r.data) {
		return r.data[r.i]
	}
	return 0
}

func (r *reader) expect(c byte) error {
	if r.peek() != c {
		return fmt.Errorf("%w: want %q at offset %d", errSyntax, c, r.i)
	}
	r.i++
	return nil
}

// literal consumes word (true, false, null) if it comes next.
func (r *reader) literal(word string) bool {
	r.space()
	if len(r.data)-r.i >= len(word) && string(r.data[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// null consumes a null if it comes next.
func (r *reader) null() bool { return r.peek() == 'n' && r.literal("null") }

// object reads an object (or a null), calling member for each member with the reader at its
// value, which member must read (or skip).
func (r *reader) object(member func(name string) error) error {
	if r.null() {
		return nil
	}
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.i++
		return nil
	}
	for {
		name, err := r.str()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return fmt.Errorf("%w: want , or } at offset %d", errSyntax, r.i)
		}
	}
}

// array reads an array (or a null), calling element for each element.
func (r *reader) array(element func() error) error {
	if r.null() {
		return nil
	}
	if err := r.expect('['); err != nil {
		return err
	}
	if r.peek() == ']' {
		r.i++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return nil
		default:
			return fmt.Errorf("%w: want , or ] at offset %d", errSyntax, r.i)
		}
	}
}

// str reads a string, unescaping it; invalid UTF-8 reads as U+FFFD, as encoding/json reads it.
func (r *reader) str() (string, error) {
	if err := r.expect('"'); err != nil {
		return "", err
	}
	start := r.i
	for r.i < len(r.data) {
		c := r.data[r.i]
		switch {
		case c == '"':
			s := r.data[start:r.i]
			r.i++
			if !utf8.Valid(s) {
				return string([]rune(string(s))), nil
			}
			return string(s), nil
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return "", fmt.Errorf("%w: control character in a string at offset %d", errSyntax, r.i)
		}
		r.i++
	}
	return "", fmt.Errorf("%w: unterminated string", errSyntax)
}

// escaped reads the rest of a string that has escapes, from start (after its quote).
func (r *reader) escaped(start int) (string, error) {
	b := make([]byte, 0, r.i-start+16)
	b = append(b, r.data[start:r.i]...)
	for r.i < len(r.data) {
		c := r.data[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(b) {
				return string([]rune(string(b))), nil
			}
			return string(b), nil
		case c < 0x20:
			return "", fmt.Errorf("%w: control character in a string at offset %d", errSyntax, r.i)
		case c != '\\':
			b = append(b, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.data) {
			break
		}
		e := r.data[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return "", fmt.Errorf("%w: bad \\u escape at offset %d", errSyntax, r.i)
			}
			rn := rune(c1)
			if utf16.IsSurrogate(rn) {
				rn = utf8.RuneError
				if r.i+1 < len(r.data) && r.data[r.i] == '\\' && r.data[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					if c2, ok := r.hex4(); ok {
						if d := utf16.DecodeRune(rune(c1), rune(c2)); d != utf8.RuneError {
							rn = d
						} else {
							r.i = save
						}
					} else {
						r.i = save
					}
				}
			}
			b = utf8.AppendRune(b, rn)
		default:
			return "", fmt.Errorf("%w: bad escape at offset %d", errSyntax, r.i)
		}
	}
	return "", fmt.Errorf("%w: unterminated string", errSyntax)
}

func (r *reader) hex4() (int, bool) {
	if len(r.data)-r.i < 4 {
		return 0, false
	}
	n := 0
	for _, c := range r.data[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.i += 4
	return n, true
}

// number reads a number's text.
func (r *reader) number() (string, error) {
	r.space()
	start := r.i
	for r.i < len(r.data) {
		c := r.data[r.i]
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			break
		}
		r.i++
	}
	if r.i == start {
		return "", fmt.Errorf("%w: want a number at offset %d", errSyntax, r.i)
	}
	return string(r.data[start:r.i]), nil
}

func (r *reader) int32(v *int32) error {
	if r.null() {
		return nil
	}
	s, err := r.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("dynamoclient: %w", err)
	}
	*v = int32(n)
	return nil
}

func (r *reader) float(v **float64) error {
	if r.null() {
		return nil
	}
	s, err := r.number()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("dynamoclient: %w", err)
	}
	*v = &f
	return nil
}

func (r *reader) boolean() (bool, error) {
	switch {
	case r.literal("true"):
		return true, nil
	case r.literal("false"):
		return false, nil
	}
	return false, fmt.Errorf("%w: want a boolean at offset %d", errSyntax, r.i)
}

func (r *reader) optString(v **string) error {
	if r.null() {
		return nil
	}
	s, err := r.str()
	if err != nil {
		return err
	}
	*v = &s
	return nil
}

func (r *reader) strings() ([]string, error) {
	out := []string{}
	err := r.array(func() error {
		s, err := r.str()
		out = append(out, s)
		return err
	})
	return out, err
}

func (r *reader) bytes() ([]byte, error) {
	s, err := r.str()
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("dynamoclient: binary value: %w", err)
	}
	return b, nil
}

// skip reads past one value of any kind.
func (r *reader) skip() error {
	switch c := r.peek(); {
	case c == '{':
		return r.object(func(string) error { return r.skip() })
	case c == '[':
		return r.array(r.skip)
	case c == '"':
		_, err := r.str()
		return err
	case c == 't' || c == 'f':
		_, err := r.boolean()
		return err
	case c == 'n':
		if r.null() {
			return nil
		}
	case c == '-' || c >= '0' && c <= '9':
		_, err := r.number()
		return err
	}
	return fmt.Errorf("%w: unexpected value at offset %d", errSyntax, r.i)
}

// item reads an item (or key) in DynamoDB's JSON; a null is a nil map.
func (r *reader) item() (map[string]AttributeValue, error) {
	if r.null() {
		return nil, nil
	}
	m := map[string]AttributeValue{}
	err := r.object(func(name string) error {
		v, err := r.value()
		if v != nil {
			m[name] = v
		} else {
			delete(m, name) // a value of a type this client does not know is left out (the last of a repeated name counts)
		}
		return err
	})
	return m, err
}

func (r *reader) items() ([]map[string]AttributeValue, error) {
	out := []map[string]AttributeValue{}
	err := r.array(func() error {
		it, err := r.item()
		out = append(out, it)
		return err
	})
	return out, err
}

// value reads one attribute's value: an object of its one type.
func (r *reader) value() (AttributeValue, error) {
	var v AttributeValue
	err := r.object(func(tag string) error {
		if r.null() {
			return nil
		}
		var err error
		switch tag {
		case "S":
			var s string
			s, err = r.str()
			v = &AttributeValueMemberS{Value: s}
		case "N":
			var s string
			s, err = r.str()
			v = &AttributeValueMemberN{Value: s}
		case "B":
			var b []byte
			b, err = r.bytes()
			v = &AttributeValueMemberB{Value: b}
		case "SS":
			var ss []string
			ss, err = r.strings()
			v = &AttributeValueMemberSS{Value: ss}
		case "NS":
			var ss []string
			ss, err = r.strings()
			v = &AttributeValueMemberNS{Value: ss}
		case "BS":
			bs := [][]byte{}
			err = r.array(func() error {
				b, err := r.bytes()
				bs = append(bs, b)
				return err
			})
			v = &AttributeValueMemberBS{Value: bs}
		case "M":
			var m map[string]AttributeValue
			m, err = r.item()
			v = &AttributeValueMemberM{Value: m}
		case "L":
			l := []AttributeValue{}
			err = r.array(func() error {
				e, err := r.value()
				l = append(l, e)
				return err
			})
			v = &AttributeValueMemberL{Value: l}
		case "NULL":
			var b bool
			b, err = r.boolean()
			v = &AttributeValueMemberNULL{Value: b}
		case "BOOL":
			var b bool
			b, err = r.boolean()
			v = &AttributeValueMemberBOOL{Value: b}
		default:
			err = r.skip() // a type this client does not know
		}
		return err
	})
	return v, err
}

func (r *reader) capacityMembers(name string, c *Capacity) (bool, error) {
	switch name {
	case "CapacityUnits":
		return true, r.float(&c.CapacityUnits)
	case "ReadCapacityUnits":
		return true, r.float(&c.ReadCapacityUnits)
	case "WriteCapacityUnits":
		return true, r.float(&c.WriteCapacityUnits)
	}
	return false, nil
}

func (r *reader) capacity() (Capacity, error) {
	var c Capacity
	err := r.object(func(name string) error {
		if ok, err := r.capacityMembers(name, &c); ok {
			return err
		}
		return r.skip()
	})
	return c, err
}

// byName reads an object whose members are each read by read (a null is a nil map): a
// table's items, an index's capacity, an expression's names.
func byName[V any](r *reader, read func() (V, error)) (map[string]V, error) {
	if r.null() {
		return nil, nil
	}
	m := map[string]V{}
	err := r.object(func(name string) error {
		v, err := read()
		m[name] = v
		return err
	})
	return m, err
}

func (r *reader) consumed() (ConsumedCapacity, error) {
	var c ConsumedCapacity
	err := r.object(func(name string) error {
		var err error
		switch name {
		case "TableName":
			return r.optString(&c.TableName)
		case "CapacityUnits":
			return r.float(&c.CapacityUnits)
		case "ReadCapacityUnits":
			return r.float(&c.ReadCapacityUnits)
		case "WriteCapacityUnits":
			return r.float(&c.WriteCapacityUnits)
		case "Table":
			if r.null() {
				return nil
			}
			var t Capacity
			t, err = r.capacity()
			c.Table = &t
		case "GlobalSecondaryIndexes":
			c.GlobalSecondaryIndexes, err = byName(r, r.capacity)
		case "LocalSecondaryIndexes":
			c.LocalSecondaryIndexes, err = byName(r, r.capacity)
		default:
			err = r.skip()
		}
		return err
	})
	return c, err
}

func (r *reader) consumedOne(v **ConsumedCapacity) error {
	if r.null() {
		return nil
	}
	c, err := r.consumed()
	*v = &c
	return err
}

func (r *reader) consumedMany(v *[]ConsumedCapacity) error {
	if r.null() {
		return nil
	}
	out := []ConsumedCapacity{}
	err := r.array(func() error {
		c, err := r.consumed()
		out = append(out, c)
		return err
	})
	*v = out
	return err
}

func (r *reader) keysAndAttributes() (KeysAndAttributes, error) {
	var ka KeysAndAttributes
	err := r.object(func(name string) error {
		var err error
		switch name {
		case "Keys":
			ka.Keys, err = r.items()
		case "ConsistentRead":
			if r.null() {
				return nil
			}
			var b bool
			b, err = r.boolean()
			ka.ConsistentRead = &b
		case "ProjectionExpression":
			err = r.optString(&ka.ProjectionExpression)
		case "ExpressionAttributeNames":
			ka.ExpressionAttributeNames, err = byName(r, r.str)
		default:
			err = r.skip()
		}
		return err
	})
	return ka, err
}

func (r *reader) writeRequests() ([]WriteRequest, error) {
	out := []WriteRequest{}
	err := r.array(func() error {
		var w WriteRequest
		err := r.object(func(name string) error {
			switch name {
			case "PutRequest":
				if r.null() {
					return nil
				}
				w.PutRequest = &PutRequest{}
				return r.object(func(name string) error {
					if name != "Item" {
						return r.skip()
					}
					var err error
					w.PutRequest.Item, err = r.item()
					return err
				})
			case "DeleteRequest":
				if r.null() {
					return nil
				}
				w.DeleteRequest = &DeleteRequest{}
				return r.object(func(name string) error {
					if name != "Key" {
						return r.skip()
					}
					var err error
					w.DeleteRequest.Key, err = r.item()
					return err
				})
			}
			return r.skip()
		})
		out = append(out, w)
		return err
	})
	return out, err
}

// decode reads a whole answer with member for each of its top-level members.
func decode(data []byte, member func(r *reader, name string) error) error {
	r := &reader{data: data}
	if err := r.object(func(name string) error { return member(r, name) }); err != nil {
		return err
	}
	if r.peek() != 0 {
		return fmt.Errorf("%w: data after the answer at offset %d", errSyntax, r.i)
	}
	return nil
}

// The answers of the operations.

func (o *GetItemOutput) decode(data []byte) error {
	return decode(data, func(r *reader, name string) (err error) {
		switch name {
		case "Item":
			o.Item, err = r.item()
		case "ConsumedCapacity":
			err = r.consumedOne(&o.ConsumedCapacity)
		default:
			err = r.skip()
		}
		return err
	})
}

// attributesOutput reads the answer of PutItem, UpdateItem and DeleteItem.
func attributesOutput(data []byte, attrs *map[string]AttributeValue, consumed **ConsumedCapacity) error {
	return decode(data, func(r *reader, name string) (err error) {
		switch name {
		case "Attributes":
			*attrs, err = r.item()
		case "ConsumedCapacity":
			err = r.consumedOne(consumed)
		default:
			err = r.skip()
		}
		return err
	})
}

func (o *PutItemOutput) decode(data []byte) error {
	return attributesOutput(data, &o.Attributes, &o.ConsumedCapacity)
}

func (o *UpdateItemOutput) decode(data []byte) error {
	return attributesOutput(data, &o.Attributes, &o.ConsumedCapacity)
}

func (o *DeleteItemOutput) decode(data []byte) error {
	return attributesOutput(data, &o.Attributes, &o.ConsumedCapacity)
}

func (o *QueryOutput) decode(data []byte) error {
	return decode(data, func(r *reader, name string) (err error) {
		switch name {
		case "Items":
			o.Items, err = r.items()
		case "Count":
			err = r.int32(&o.Count)
		case "ScannedCount":
			err = r.int32(&o.ScannedCount)
		case "LastEvaluatedKey":
			o.LastEvaluatedKey, err = r.item()
		case "ConsumedCapacity":
			err = r.consumedOne(&o.ConsumedCapacity)
		default:
			err = r.skip()
		}
		return err
	})
}

func (o *BatchGetItemOutput) decode(data []byte) error {
	return decode(data, func(r *reader, name string) (err error) {
		switch name {
		case "Responses":
			o.Responses, err = byName(r, r.items)
		case "UnprocessedKeys":
			o.UnprocessedKeys, err = byName(r, r.keysAndAttributes)
		case "ConsumedCapacity":
			err = r.consumedMany(&o.ConsumedCapacity)
		default:
			err = r.skip()
		}
		return err
	})
}

func (o *BatchWriteItemOutput) decode(data []byte) error {
	return decode(data, func(r *reader, name string) (err error) {
		switch name {
		case "UnprocessedItems":
			o.UnprocessedItems, err = byName(r, r.writeRequests)
		case "ConsumedCapacity":
			err = r.consumedMany(&o.ConsumedCapacity)
		default:
			err = r.skip()
		}
		return err
	})
}

func (o *TransactWriteItemsOutput) decode(data []byte) error {
	return decode(data, func(r *reader, name string) error {
		if name == "ConsumedCapacity" {
			return r.consumedMany(&o.ConsumedCapacity)
		}
		return r.skip()
	})
}
