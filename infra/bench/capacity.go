package main

import (
	"math"
	"strings"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
)

// Request units, estimated from the requests the service actually made, with DynamoDB's
// on-demand rules (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html):
//
//	read  (GetItem, Query, Scan): ceil(bytes read / 4 KB) RRU, at least 1;
//	      × 0.5 when eventually consistent (ConsistentRead false)
//	BatchGetItem: the same per item
//	TransactGetItems: 2 × ceil(item size / 4 KB) RRU per item
//	write (PutItem): ceil(item size / 1 KB) WRU, at least 1
//	write (UpdateItem, DeleteItem): 1 WRU (items of this service are under 1 KB; the real
//	      charge is on the larger of the item before and after)
//	TransactWriteItems: 2 × ceil(item size / 1 KB) WRU per action: Put by its item's size,
//	      Update, Delete and ConditionCheck as 1 KB (so 2 WRU each; counting a condition
//	      check as a write is the conservative reading)
//
// A Query is charged on what it reads before any filter; the estimate sees only what it
// returned, which for this service's key-condition-only queries is the same.
type units struct {
	RRU float64 `json:"rru"`
	WRU float64 `json:"wru"`
}

func (u units) add(v units) units     { return units{u.RRU + v.RRU, u.WRU + v.WRU} }
func (u units) scale(f float64) units { return units{u.RRU * f, u.WRU * f} }

const (
	readUnitBytes  = 4096
	writeUnitBytes = 1024
)

func readUnits(bytes int, consistent *bool) float64 {
	n := math.Max(1, math.Ceil(float64(bytes)/readUnitBytes))
	if consistent == nil || !*consistent {
		n *= 0.5
	}
	return n
}

func writeUnits(bytes int) float64 {
	return math.Max(1, math.Ceil(float64(bytes)/writeUnitBytes))
}

// estimateUnits is the request units of one DynamoDB call: in is its input, out its output
// (nil when it failed: a refused conditional write is charged like a successful one).
func estimateUnits(in, out any) units {
	switch in := in.(type) {
	case *dynamoclient.GetItemInput:
		var item map[string]dynamoclient.AttributeValue
		if o, ok := out.(*dynamoclient.GetItemOutput); ok {
			item = o.Item
		}
		return units{RRU: readUnits(itemSize(item), in.ConsistentRead)}
	case *dynamoclient.QueryInput:
		var items []map[string]dynamoclient.AttributeValue
		if o, ok := out.(*dynamoclient.QueryOutput); ok {
			items = o.Items
		}
		return units{RRU: readUnits(itemsSize(items), in.ConsistentRead)}
	case *dynamoclient.BatchGetItemInput:
		var u units
		o, _ := out.(*dynamoclient.BatchGetItemOutput)
		for table, ka := range in.RequestItems {
			var got []map[string]dynamoclient.AttributeValue
			if o != nil {
				got = o.Responses[table]
			}
			for i := range ka.Keys {
				size := 0
				if i < len(got) {
					size = itemSize(got[i])
				}
				u.RRU += readUnits(size, ka.ConsistentRead)
			}
		}
		return u
	case *dynamoclient.PutItemInput:
		return units{WRU: writeUnits(itemSize(in.Item))}
	case *dynamoclient.UpdateItemInput, *dynamoclient.DeleteItemInput:
		return units{WRU: 1}
	case *dynamoclient.BatchWriteItemInput:
		var u units
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					u.WRU += writeUnits(itemSize(r.PutRequest.Item))
				} else {
					u.WRU++
				}
			}
		}
		return u
	case *dynamoclient.TransactWriteItemsInput:
		var u units
		for _, ti := range in.TransactItems {
			if ti.Put != nil {
				u.WRU += 2 * writeUnits(itemSize(ti.Put.Item))
			} else {
				u.WRU += 2
			}
		}
		return u
	}
	return units{}
}

// setReturnConsumedCapacity asks DynamoDB for the capacity a call consumed.
func setReturnConsumedCapacity(in any) {
	const total = dynamoclient.ReturnConsumedCapacityTotal
	switch in := in.(type) {
	case *dynamoclient.GetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.PutItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.UpdateItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.DeleteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.QueryInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.BatchGetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.BatchWriteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamoclient.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = total
	}
}

// consumedCapacity sums the ConsumedCapacity of an output; ok says whether there was any.
func consumedCapacity(out any) (sum float64, ok bool) {
	one := func(c *dynamoclient.ConsumedCapacity) {
		if c != nil && c.CapacityUnits != nil {
			sum += *c.CapacityUnits
			ok = true
		}
	}
	many := func(cs []dynamoclient.ConsumedCapacity) {
		for i := range cs {
			one(&cs[i])
		}
	}
	switch o := out.(type) {
	case *dynamoclient.GetItemOutput:
		one(o.ConsumedCapacity)
	case *dynamoclient.PutItemOutput:
		one(o.ConsumedCapacity)
	case *dynamoclient.UpdateItemOutput:
		one(o.ConsumedCapacity)
	case *dynamoclient.DeleteItemOutput:
		one(o.ConsumedCapacity)
	case *dynamoclient.QueryOutput:
		one(o.ConsumedCapacity)
	case *dynamoclient.BatchGetItemOutput:
		many(o.ConsumedCapacity)
	case *dynamoclient.BatchWriteItemOutput:
		many(o.ConsumedCapacity)
	case *dynamoclient.TransactWriteItemsOutput:
		many(o.ConsumedCapacity)
	}
	return sum, ok
}

// transactItems is the number of actions in a transaction (0 for other calls).
func transactItems(in any) int {
	switch in := in.(type) {
	case *dynamoclient.TransactWriteItemsInput:
		return len(in.TransactItems)
	}
	return 0
}

func itemsSize(items []map[string]dynamoclient.AttributeValue) int {
	n := 0
	for _, it := range items {
		n += itemSize(it)
	}
	return n
}

// itemSize is an item's size as DynamoDB counts it: each attribute's name in UTF-8 bytes
// plus its value (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
func itemSize(item map[string]dynamoclient.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v dynamoclient.AttributeValue) int {
	switch v := v.(type) {
	case *dynamoclient.AttributeValueMemberS:
		return len(v.Value)
	case *dynamoclient.AttributeValueMemberN:
		return numberSize(v.Value)
	case *dynamoclient.AttributeValueMemberB:
		return len(v.Value)
	case *dynamoclient.AttributeValueMemberBOOL, *dynamoclient.AttributeValueMemberNULL:
		return 1
	case *dynamoclient.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *dynamoclient.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *dynamoclient.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *dynamoclient.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *dynamoclient.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize: 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, ".", "")
	s = strings.Trim(s, "0")
	return (len(s)+1)/2 + 1
}
