package dynamoclient

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// writer appends a request's JSON: an object's members, each after a comma but the first.
// Members go out as the SDK's serializers send them: a nil pointer, an empty enum or a nil
// map or slice is left out (an empty non-nil one is sent empty).
type writer struct {
	b     []byte
	first bool // no member written yet in the object being written
}

func (w *writer) open() { w.b = append(w.b, '{'); w.first = true }

func (w *writer) close() { w.b = append(w.b, '}'); w.first = false }

func (w *writer) name(n string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendString(w.b, n)
	w.b = append(w.b, ':')
}

func (w *writer) str(n string, v *string) {
	if v != nil {
		w.name(n)
		w.b = appendString(w.b, *v)
	}
}

func (w *writer) enum(n, v string) {
	if v != "" {
		w.name(n)
		w.b = appendString(w.b, v)
	}
}

func (w *writer) boolean(n string, v *bool) {
	if v != nil {
		w.name(n)
		w.b = strconv.AppendBool(w.b, *v)
	}
}

func (w *writer) int32(n string, v *int32) {
	if v != nil {
		w.name(n)
		w.b = strconv.AppendInt(w.b, int64(*v), 10)
	}
}

func (w *writer) names(n string, m map[string]string) {
	if m != nil {
		w.name(n)
		w.b = appendObject(w.b, m, appendString)
	}
}

func (w *writer) item(n string, m map[string]AttributeValue) {
	if m != nil {
		w.name(n)
		w.b = appendItem(w.b, m)
	}
}

func (w *writer) items(n string, items []map[string]AttributeValue) {
	if items != nil {
		w.name(n)
		w.b = appendList(w.b, items, appendItem)
	}
}

// appendObject appends m as a JSON object, each value by appendValue. Its members go out in
// the map's order, as the SDK's do: DynamoDB reads them by name.
func appendObject[V any](b []byte, m map[string]V, appendValue func([]byte, V) []byte) []byte {
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValue(b, v)
	}
	return append(b, '}')
}

// appendList appends vs as a JSON array, each element by appendElem.
func appendList[T any](b []byte, vs []T, appendElem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendElem(b, v)
	}
	return append(b, ']')
}

// appendItem appends an item (or key) in DynamoDB's JSON: each attribute's value as an object
// of its one type ({"S":"…"}, {"N":"1"}, …).
func appendItem(b []byte, m map[string]AttributeValue) []byte {
	return appendObject(b, m, appendValue)
}

func appendValue(b []byte, v AttributeValue) []byte {
	switch v := v.(type) {
	case *AttributeValueMemberS:
		return append(appendString(append(b, `{"S":`...), v.Value), '}')
	case *AttributeValueMemberN:
		return append(appendString(append(b, `{"N":`...), v.Value), '}')
	case *AttributeValueMemberB:
		return append(appendBytes(append(b, `{"B":`...), v.Value), '}')
	case *AttributeValueMemberSS:
		return append(appendList(append(b, `{"SS":`...), v.Value, appendString), '}')
	case *AttributeValueMemberNS:
		return append(appendList(append(b, `{"NS":`...), v.Value, appendString), '}')
	case *AttributeValueMemberBS:
		return append(appendList(append(b, `{"BS":`...), v.Value, appendBytes), '}')
	case *AttributeValueMemberM:
		return append(appendItem(append(b, `{"M":`...), v.Value), '}')
	case *AttributeValueMemberL:
		return append(appendList(append(b, `{"L":`...), v.Value, appendValue), '}')
	case *AttributeValueMemberNULL:
		return append(strconv.AppendBool(append(b, `{"NULL":`...), v.Value), '}')
	case *AttributeValueMemberBOOL:
		return append(strconv.AppendBool(append(b, `{"BOOL":`...), v.Value), '}')
	}
	return append(b, "{}"...) // nil or unknown: an empty value, which DynamoDB refuses
}

// appendBytes appends v in base64; a nil v is null, as the SDK writes it (DynamoDB refuses
// both null and an empty binary in an item).
func appendBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string as the SDK's encoder writes it: quotes, backslashes
// and control characters escaped, invalid UTF-8 as U+FFFD, and the rest (<, >, &, U+2028) as
// it is. (pkg/token's appendJSONString writes as encoding/json does, HTML-safe.)
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + 1
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// The bodies of the operations.

func (in *GetItemInput) appendJSON(w *writer) {
	w.open()
	w.boolean("ConsistentRead", in.ConsistentRead)
	w.names("ExpressionAttributeNames", in.ExpressionAttributeNames)
	w.item("Key", in.Key)
	w.str("ProjectionExpression", in.ProjectionExpression)
	w.enum("ReturnConsumedCapacity", string(in.ReturnConsumedCapacity))
	w.str("TableName", in.TableName)
	w.close()
}

func (in *PutItemInput) appendJSON(w *writer) {
	w.write(in.TableName, nil, in.Item, nil, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ReturnValuesOnConditionCheckFailure, in.ReturnValues, in.ReturnConsumedCapacity)
}

func (in *UpdateItemInput) appendJSON(w *writer) {
	w.write(in.TableName, in.Key, nil, in.UpdateExpression, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ReturnValuesOnConditionCheckFailure, in.ReturnValues, in.ReturnConsumedCapacity)
}

func (in *DeleteItemInput) appendJSON(w *writer) {
	w.write(in.TableName, in.Key, nil, nil, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ReturnValuesOnConditionCheckFailure, in.ReturnValues, in.ReturnConsumedCapacity)
}

func (in *QueryInput) appendJSON(w *writer) {
	w.open()
	w.boolean("ConsistentRead", in.ConsistentRead)
	w.item("ExclusiveStartKey", in.ExclusiveStartKey)
	w.names("ExpressionAttributeNames", in.ExpressionAttributeNames)
	w.item("ExpressionAttributeValues", in.ExpressionAttributeValues)
	w.str("FilterExpression", in.FilterExpression)
	w.str("IndexName", in.IndexName)
	w.str("KeyConditionExpression", in.KeyConditionExpression)
	w.int32("Limit", in.Limit)
	w.str("ProjectionExpression", in.ProjectionExpression)
	w.enum("ReturnConsumedCapacity", string(in.ReturnConsumedCapacity))
	w.boolean("ScanIndexForward", in.ScanIndexForward)
	w.enum("Select", string(in.Select))
	w.str("TableName", in.TableName)
	w.close()
}

func (ka *KeysAndAttributes) appendJSON(w *writer) {
	w.open()
	w.boolean("ConsistentRead", ka.ConsistentRead)
	w.names("ExpressionAttributeNames", ka.ExpressionAttributeNames)
	w.items("Keys", ka.Keys)
	w.str("ProjectionExpression", ka.ProjectionExpression)
	w.close()
}

func (in *BatchGetItemInput) appendJSON(w *writer) {
	w.open()
	if in.RequestItems != nil {
		w.name("RequestItems")
		w.open()
		for table, ka := range in.RequestItems {
			w.name(table)
			ka.appendJSON(w)
		}
		w.close()
	}
	w.enum("ReturnConsumedCapacity", string(in.ReturnConsumedCapacity))
	w.close()
}

func (in *BatchWriteItemInput) appendJSON(w *writer) {
	w.open()
	if in.RequestItems != nil {
		w.name("RequestItems")
		w.open()
		for table, reqs := range in.RequestItems {
			w.name(table)
			w.b = append(w.b, '[')
			for i, r := range reqs {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.open()
				if r.DeleteRequest != nil {
					w.name("DeleteRequest")
					w.open()
					w.item("Key", r.DeleteRequest.Key)
					w.close()
				}
				if r.PutRequest != nil {
					w.name("PutRequest")
					w.open()
					w.item("Item", r.PutRequest.Item)
					w.close()
				}
				w.close()
			}
			w.b = append(w.b, ']')
		}
		w.close()
	}
	w.enum("ReturnConsumedCapacity", string(in.ReturnConsumedCapacity))
	w.close()
}

func (in *TransactWriteItemsInput) appendJSON(w *writer) {
	w.open()
	w.str("ClientRequestToken", in.ClientRequestToken)
	w.enum("ReturnConsumedCapacity", string(in.ReturnConsumedCapacity))
	if in.TransactItems != nil {
		w.name("TransactItems")
		w.b = append(w.b, '[')
		for i, t := range in.TransactItems {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			if c := t.ConditionCheck; c != nil {
				w.name("ConditionCheck")
				w.write(c.TableName, c.Key, nil, nil, c.ConditionExpression, c.ExpressionAttributeNames, c.ExpressionAttributeValues, c.ReturnValuesOnConditionCheckFailure, "", "")
			}
			if d := t.Delete; d != nil {
				w.name("Delete")
				w.write(d.TableName, d.Key, nil, nil, d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues, d.ReturnValuesOnConditionCheckFailure, "", "")
			}
			if p := t.Put; p != nil {
				w.name("Put")
				w.write(p.TableName, nil, p.Item, nil, p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues, p.ReturnValuesOnConditionCheckFailure, "", "")
			}
			if u := t.Update; u != nil {
				w.name("Update")
				w.write(u.TableName, u.Key, nil, u.UpdateExpression, u.ConditionExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues, u.ReturnValuesOnConditionCheckFailure, "", "")
			}
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.close()
}

// write is a write of one item: a PutItem, UpdateItem or DeleteItem, or an action of a
// transaction (which has no ReturnValues or ReturnConsumedCapacity of its own), its members
// in the order the SDK writes them.
func (w *writer) write(table *string, key, item map[string]AttributeValue, update, condition *string, names map[string]string, values map[string]AttributeValue,
	onFailure ReturnValuesOnConditionCheckFailure, returnValues ReturnValue, consumed ReturnConsumedCapacity) {
	w.open()
	w.str("ConditionExpression", condition)
	w.names("ExpressionAttributeNames", names)
	w.item("ExpressionAttributeValues", values)
	w.item("Item", item)
	w.item("Key", key)
	w.enum("ReturnConsumedCapacity", string(consumed))
	w.enum("ReturnValues", string(returnValues))
	w.enum("ReturnValuesOnConditionCheckFailure", string(onFailure))
	w.str("TableName", table)
	w.str("UpdateExpression", update)
	w.close()
}
