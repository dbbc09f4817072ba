package main

import (
	"context"
	"math"
	"reflect"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// Writes to global secondary indexes are billed like table writes: a table write that puts
// an item into an index, or changes its projected attributes there, is one index write; one
// that changes an index key is two (delete the old entry, put the new); one that leaves the
// index's attributes as they were is none
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes).
// The requests alone do not say which happened, so the bench reads the user's state item —
// the item that carries the directory's index keys — before and after each operation (not
// timed, not metered) and prices the difference with the template's index definitions.

// indexWriter reads state items with a client of its own.
type indexWriter struct {
	db      *dynamoclient.Client
	table   string
	indexes []samtemplate.Index
}

func (w indexWriter) state(ctx context.Context, uid string) (map[string]dynamoclient.AttributeValue, error) {
	if w.db == nil || uid == "" {
		return nil, nil
	}
	out, err := w.db.GetItem(ctx, &dynamoclient.GetItemInput{
		TableName:      &w.table,
		Key:            map[string]dynamoclient.AttributeValue{"pk": &dynamoclient.AttributeValueMemberS{Value: "USER#" + uid}, "sk": &dynamoclient.AttributeValueMemberS{Value: "U#STATE"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// indexWRU is the index write units of changing an item from before to after (nil: absent).
func indexWRU(indexes []samtemplate.Index, before, after map[string]dynamoclient.AttributeValue) float64 {
	total := 0.0
	for _, ix := range indexes {
		var keys []string
		for _, k := range ix.KeySchema {
			keys = append(keys, k.AttributeName)
		}
		in := func(item map[string]dynamoclient.AttributeValue) bool {
			if item == nil {
				return false
			}
			for _, k := range keys {
				if item[k] == nil {
					return false
				}
			}
			return true
		}
		size := func(item map[string]dynamoclient.AttributeValue) float64 {
			n := 0
			for name, v := range item {
				if projected(ix, keys, name) {
					n += len(name) + valueSize(v)
				}
			}
			return math.Max(1, math.Ceil(float64(n+100)/writeUnitBytes)) // + 100 bytes of index overhead
		}
		was, is := in(before), in(after)
		switch {
		case was && !is:
			total += size(before)
		case !was && is:
			total += size(after)
		case was && is:
			keyChanged := false
			for _, k := range keys {
				keyChanged = keyChanged || !reflect.DeepEqual(before[k], after[k])
			}
			if keyChanged {
				total += size(before) + size(after)
				continue
			}
			for name := range union(before, after) {
				if projected(ix, keys, name) && !reflect.DeepEqual(before[name], after[name]) {
					total += size(after)
					break
				}
			}
		}
	}
	return total
}

// projected reports whether an attribute is in an index's entries: the table's and the
// index's keys, and what the projection names.
func projected(ix samtemplate.Index, keys []string, name string) bool {
	if name == "pk" || name == "sk" {
		return true
	}
	for _, k := range keys {
		if k == name {
			return true
		}
	}
	switch ix.Projection.ProjectionType {
	case "ALL":
		return true
	case "INCLUDE":
		for _, a := range ix.Projection.NonKeyAttributes {
			if a == name {
				return true
			}
		}
	}
	return false
}

func union(a, b map[string]dynamoclient.AttributeValue) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
