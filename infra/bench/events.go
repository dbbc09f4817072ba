package main

import (
	"encoding/base64"
	"strings"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// What a request costs after it answered: the audit events that ride on its writes of the
// user's state reach the audit writer through the table's stream, which puts each into the
// audit log (a write, and an invocation per batch); every audit item, written by the request
// or by the writer, reaches the event publisher when the publisher's stream filter
// (template.yaml, EventPublisherStream) lets it through, and each one it publishes is a
// PutEvents entry. The model counts, per request, the audit items written or carried and those
// the filter passes, with the template's own patterns (the local stack's emulation of
// Lambda's filtering).

// The stream mappings of the event publisher and of the audit writer (template.yaml).
const (
	publisherMappingID = "EventPublisherStream"
	writerMappingID    = "AuditWriterStream"
)

// streamFilter is the publisher's event source mapping filter.
type streamFilter struct {
	patterns []*localaws.Pattern
}

func newStreamFilter(tpl *samtemplate.Template) (streamFilter, error) {
	esm, err := tpl.EventSourceMapping(publisherMappingID)
	if err != nil {
		return streamFilter{}, err
	}
	var f streamFilter
	for _, src := range esm.Patterns() {
		p, err := localaws.ParsePattern(src)
		if err != nil {
			return streamFilter{}, err
		}
		f.patterns = append(f.patterns, p)
	}
	return f, nil
}

// passes reports whether the stream record of a new item reaches the publisher.
func (f streamFilter) passes(item map[string]dynamoclient.AttributeValue) bool {
	return f.match(item)
}

// passesCarried reports whether the stream record of a write of the user's state carrying
// item (an audit item) reaches the publisher.
func (f streamFilter) passesCarried(item map[string]dynamoclient.AttributeValue) bool {
	return f.match(carryingState(item))
}

// carryingState is the user's state as a write carrying the audit item leaves it (its keys
// and the event).
func carryingState(item map[string]dynamoclient.AttributeValue) map[string]dynamoclient.AttributeValue {
	user := ""
	if pk, ok := item["pk"].(*dynamoclient.AttributeValueMemberS); ok {
		user = "USER#" + strings.TrimPrefix(pk.Value, "AUDIT#")
	}
	return map[string]dynamoclient.AttributeValue{
		"pk": &dynamoclient.AttributeValueMemberS{Value: user}, "sk": &dynamoclient.AttributeValueMemberS{Value: "U#STATE"},
		"ev": &dynamoclient.AttributeValueMemberM{Value: item},
	}
}

func (f streamFilter) match(item map[string]dynamoclient.AttributeValue) bool {
	if len(f.patterns) == 0 {
		return true
	}
	name := "INSERT"
	if sk, ok := item["sk"].(*dynamoclient.AttributeValueMemberS); ok && sk.Value == "U#STATE" {
		name = "MODIFY"
	}
	doc := map[string]any{
		"eventName": name,
		"dynamodb": map[string]any{
			"Keys":     streamImage(map[string]dynamoclient.AttributeValue{"pk": item["pk"], "sk": item["sk"]}),
			"NewImage": streamImage(item),
		},
	}
	for _, p := range f.patterns {
		if p.Match(doc) {
			return true
		}
	}
	return false
}

// streamImage is an item as a stream record carries it, decoded from JSON.
func streamImage(item map[string]dynamoclient.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		if v != nil {
			out[k] = streamValue(v)
		}
	}
	return out
}

func streamValue(v dynamoclient.AttributeValue) any {
	switch v := v.(type) {
	case *dynamoclient.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *dynamoclient.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *dynamoclient.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}
	case *dynamoclient.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *dynamoclient.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *dynamoclient.AttributeValueMemberSS:
		l := make([]any, len(v.Value))
		for i, s := range v.Value {
			l[i] = s
		}
		return map[string]any{"SS": l}
	case *dynamoclient.AttributeValueMemberM:
		return map[string]any{"M": streamImage(v.Value)}
	case *dynamoclient.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = streamValue(e)
		}
		return map[string]any{"L": l}
	}
	return nil
}

// carriedEvents returns the audit items a DynamoDB call's writes of users' state carry (the
// store's outbox: the audit writer puts each one into the audit log from the stream).
func carriedEvents(in any) []map[string]dynamoclient.AttributeValue {
	carried := func(values map[string]dynamoclient.AttributeValue) []map[string]dynamoclient.AttributeValue {
		var out []map[string]dynamoclient.AttributeValue
		for _, v := range values {
			m, ok := v.(*dynamoclient.AttributeValueMemberM)
			if !ok {
				continue
			}
			if pk, ok := m.Value["pk"].(*dynamoclient.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "AUDIT#") {
				out = append(out, m.Value)
			}
		}
		return out
	}
	switch in := in.(type) {
	case *dynamoclient.UpdateItemInput:
		return carried(in.ExpressionAttributeValues)
	case *dynamoclient.TransactWriteItemsInput:
		var out []map[string]dynamoclient.AttributeValue
		for _, ti := range in.TransactItems {
			if ti.Update != nil {
				out = append(out, carried(ti.Update.ExpressionAttributeValues)...)
			}
		}
		return out
	}
	return nil
}

// stateUpdates counts a call's updates of a user's state item: plain, and in a transaction.
func stateUpdates(in any) (plain, inTransaction int) {
	isState := func(key map[string]dynamoclient.AttributeValue) bool {
		sk, ok := key["sk"].(*dynamoclient.AttributeValueMemberS)
		return ok && sk.Value == "U#STATE"
	}
	switch in := in.(type) {
	case *dynamoclient.UpdateItemInput:
		if isState(in.Key) {
			plain++
		}
	case *dynamoclient.TransactWriteItemsInput:
		for _, ti := range in.TransactItems {
			if ti.Update != nil && isState(ti.Update.Key) {
				inTransaction++
			}
		}
	}
	return plain, inTransaction
}

// auditItems returns the audit items a DynamoDB call writes.
func auditItems(in any) []map[string]dynamoclient.AttributeValue {
	isAudit := func(item map[string]dynamoclient.AttributeValue) bool {
		pk, ok := item["pk"].(*dynamoclient.AttributeValueMemberS)
		return ok && strings.HasPrefix(pk.Value, "AUDIT#")
	}
	var out []map[string]dynamoclient.AttributeValue
	switch in := in.(type) {
	case *dynamoclient.PutItemInput:
		if isAudit(in.Item) {
			out = append(out, in.Item)
		}
	case *dynamoclient.TransactWriteItemsInput:
		for _, ti := range in.TransactItems {
			if ti.Put != nil && isAudit(ti.Put.Item) {
				out = append(out, ti.Put.Item)
			}
		}
	case *dynamoclient.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil && isAudit(r.PutRequest.Item) {
					out = append(out, r.PutRequest.Item)
				}
			}
		}
	}
	return out
}
