package dynamostore

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// An answer's audit event rides on the write that records the answer (DESIGN §6.9, §6.10: the
// event and the change it records are one atomic write of one item), and so do a code sent's
// and a challenge opened's, whose writes are of the user's state too. The user's state item
// keeps, in pendingEventAttr, the audit item of the latest write that carried one, under the
// audit item's own key; the table's stream carries every version of it, and the audit writer
// (pkg/auditwriter, the AuditWriterFunction) puts each new one into the audit log. An answer
// is thus one conditional UpdateItem (1 WRU while the state stays under 1 KB) where a
// transaction with the audit item cost 4, and the audit item one plain write (1 WRU) off the
// request path.
//
// ListEvents merges the pending event, so the latest event of a user is in the log the moment
// its write succeeds; an earlier one that a later write replaced before the writer copied it
// is in the log as soon as the writer has (Lambda polls the stream continuously, batching for
// at most a second).

// pendingEventAttr is the state item's attribute that carries the event (pkg/auditwriter reads
// it by the same name; its tests run this store into the stream).
const pendingEventAttr = "ev"

// carry makes the answer's write also carry its audit event.
func (w *answerWrite) carry(s *Store, ev mfa.AuditEvent) error {
	item, err := s.auditRecord(ev)
	if err != nil {
		return err
	}
	w.names["#ev"] = pendingEventAttr
	w.values[":ev"] = &dynamoclient.AttributeValueMemberM{Value: item}
	w.values[":evKey"] = item["sk"]
	w.set = append(w.set, "#ev = :ev")
	// The same write sent again (the client's retry of one whose answer was lost) is refused here,
	// and its refusal read as its success (alreadyWritten): an answer is counted once.
	w.cond = append(w.cond, "(attribute_not_exists(#ev) OR #ev.sk <> :evKey)")
	return nil
}

// alreadyWritten reports whether a state item, as a refused conditional write found it, carries
// the event that write carried: the write had gone through on an earlier attempt (a retry by the client
// after a response lost with its connection), so its refusal is its own success. Each event's
// key is unique, so no other write carries it.
func alreadyWritten(found map[string]dynamoclient.AttributeValue, values map[string]dynamoclient.AttributeValue) bool {
	ours, _ := values[":ev"].(*dynamoclient.AttributeValueMemberM)
	have, _ := found[pendingEventAttr].(*dynamoclient.AttributeValueMemberM)
	if ours == nil || have == nil {
		return false
	}
	a, _ := ours.Value["sk"].(*dynamoclient.AttributeValueMemberS)
	b, _ := have.Value["sk"].(*dynamoclient.AttributeValueMemberS)
	return a != nil && b != nil && a.Value == b.Value
}

// pendingEvent reads the audit item riding on the user's state (nil when there is none).
func (s *Store) pendingEvent(ctx context.Context, uid string) (map[string]dynamoclient.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamoclient.GetItemInput{
		TableName: &s.table, Key: key(userPK(uid), skState),
		ProjectionExpression:     aws.String("#ev"),
		ExpressionAttributeNames: map[string]string{"#ev": pendingEventAttr},
		ConsistentRead:           aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	m, ok := out.Item[pendingEventAttr].(*dynamoclient.AttributeValueMemberM)
	if !ok {
		return nil, nil
	}
	return m.Value, nil
}

// withPending merges the pending event into a page of audit items read newest first from
// after `after` (the cursor's sort key; "" for the first page) with the given limit. It returns
// the page and whether the store may hold more after it.
func withPending(page []map[string]dynamoclient.AttributeValue, more bool, pending map[string]dynamoclient.AttributeValue, uid, after string, limit int) ([]map[string]dynamoclient.AttributeValue, bool) {
	pk, _ := pending["pk"].(*dynamoclient.AttributeValueMemberS)
	sk, _ := pending["sk"].(*dynamoclient.AttributeValueMemberS)
	if pk == nil || sk == nil || pk.Value != auditPrefix+uid || (after != "" && sk.Value >= after) {
		return page, more
	}
	for _, it := range page {
		if s, ok := it["sk"].(*dynamoclient.AttributeValueMemberS); ok && s.Value == sk.Value {
			return page, more // already copied into the log
		}
	}
	merged := append(append(make([]map[string]dynamoclient.AttributeValue, 0, len(page)+1), page...), pending)
	sort.SliceStable(merged, func(i, j int) bool { return sortKey(merged[i]) > sortKey(merged[j]) })
	if len(merged) > limit {
		return merged[:limit], true
	}
	return merged, more
}

func sortKey(item map[string]dynamoclient.AttributeValue) string {
	if s, ok := item["sk"].(*dynamoclient.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
