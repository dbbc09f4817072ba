// Package outbox reads, from the table's stream, the audit event that rides on a write of a
// user's state (pkg/dynamostore, outbox.go): whether the write brought one, and that it is
// the user's own. The audit writer copies such an event into the audit log and the event
// publisher publishes it; both apply this one rule. Plain Go over Lambda's event types.
package outbox

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The parts of the table layout (pkg/dynamostore) the rule reads. The store's suite runs the
// real store into the real stream through the writer, so a change there that is not made
// here fails a test.
const (
	userPrefix  = "USER#"
	skState     = "U#STATE"
	pendingAttr = "ev"
	auditPrefix = "AUDIT#"
	eventPrefix = "EVENT#"
)

// CopiedAttr marks an audit item the audit writer copied from a state write (a BOOL, true).
// The event publisher publishes such an event from the state write itself, at once, and
// skips the copy, but for a routine event, which the opt-in mapping publishes from the copy.
const CopiedAttr = "copied"

// NewEvent returns the audit item, as the stream carries it, that a write of a user's state
// brought (nil otherwise: another record of the table, a state removed, a write that carried
// no event or left it as it was). An event under another partition than the user's own audit
// partition, or under a key that is not an event's, is an error.
func NewEvent(rec events.DynamoDBEventRecord) (map[string]events.DynamoDBAttributeValue, error) {
	pk, sk := str(rec.Change.Keys, "pk"), str(rec.Change.Keys, "sk")
	if !strings.HasPrefix(pk, userPrefix) || sk != skState || rec.EventName == string(events.DynamoDBOperationTypeRemove) {
		return nil, nil
	}
	newEv, ok := rec.Change.NewImage[pendingAttr]
	if !ok {
		if rec.Change.StreamViewType != "" && !strings.Contains(rec.Change.StreamViewType, "NEW") {
			return nil, errors.New("the stream must carry NEW_AND_OLD_IMAGES")
		}
		return nil, nil
	}
	if newEv.DataType() != events.DataTypeMap {
		return nil, fmt.Errorf("state of %s: %s is not a map", pk, pendingAttr)
	}
	item := newEv.Map()
	newKey := str(item, "sk")
	if oldEv, ok := rec.Change.OldImage[pendingAttr]; ok && oldEv.DataType() == events.DataTypeMap && str(oldEv.Map(), "sk") == newKey {
		return nil, nil // the write left the event as it was
	}
	// Only the user's own audit partition, and only an event's key.
	uid := strings.TrimPrefix(pk, userPrefix)
	if str(item, "pk") != auditPrefix+uid || !strings.HasPrefix(newKey, eventPrefix) {
		return nil, fmt.Errorf("state of %s carries an event under %q/%q", pk, str(item, "pk"), newKey)
	}
	return item, nil
}

func str(m map[string]events.DynamoDBAttributeValue, name string) string {
	if v, ok := m[name]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}
