package eventpublisher

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/outbox"
	"github.com/mfa-service/mfa/pkg/securityevents"
)

// The parts of the table layout (pkg/dynamostore) the stream is read by. The local-stack
// journey test (infra/local) runs the real store into the real stream, so a change there that
// is not made here fails a test.
const (
	auditPrefix = "AUDIT#"
	eventPrefix = "EVENT#"
	userPrefix  = "USER#"
	skState     = "U#STATE"
)

// eventsOf returns the security events one stream record carries: one for a new audit item
// the writer did not copy; for a write of a user's state, the event it carried when new and
// not a routine one, and User Locked when its counters started a lock (in that order); none
// for anything else.
//
// An event riding on a state write is published from that write, at once. The audit writer
// copies it into the audit log after up to its batching window, marked as a copy, which is
// not published again. A routine event is left to the opt-in mapping, which publishes it from
// the copy: a state write reaches the main mapping through its failure counters too, whatever
// event it carries.
func eventsOf(r mfa.Regulation, rec events.DynamoDBEventRecord) ([]securityevents.Event, error) {
	pk, err := str(rec.Change.Keys, "pk")
	if err != nil {
		return nil, err
	}
	sk, err := str(rec.Change.Keys, "sk")
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(pk, auditPrefix) && strings.HasPrefix(sk, eventPrefix):
		if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
			return nil, nil // TTL expiry or a rewrite: not a new event
		}
		ev, err := auditOf(rec.Change.NewImage)
		if err != nil {
			return nil, fmt.Errorf("audit item %s %s: %w", pk, sk, err)
		}
		if copied, ok := rec.Change.NewImage[outbox.CopiedAttr]; ok && copied.DataType() == events.DataTypeBoolean && copied.Boolean() {
			// Published from the state write that carried it. Routine events are the
			// exception: the opt-in mapping publishes them from the copy.
			if !securityevents.Routine(ev.Action) {
				return nil, nil
			}
		}
		return []securityevents.Event{securityevents.FromAudit(pk+"/"+sk, ev)}, nil
	case strings.HasPrefix(pk, userPrefix) && sk == skState:
		if rec.EventName == string(events.DynamoDBOperationTypeRemove) {
			return nil, nil
		}
		uid := strings.TrimPrefix(pk, userPrefix)
		var out []securityevents.Event
		key, ev, err := carriedOf(uid, rec)
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", uid, err)
		}
		if key != "" && !securityevents.Routine(ev.Action) {
			out = append(out, securityevents.FromAudit(key, ev))
		}
		before, err := countersOf(uid, rec.Change.OldImage)
		if err != nil {
			return nil, fmt.Errorf("state of %s (old image): %w", uid, err)
		}
		after, err := countersOf(uid, rec.Change.NewImage)
		if err != nil {
			return nil, fmt.Errorf("state of %s (new image): %w", uid, err)
		}
		if ev, ok := securityevents.LockStarted(r, before, after); ok {
			out = append(out, ev)
		}
		return out, nil
	}
	return nil, nil
}

// carriedOf returns the audit event a write of the user's state brought (outbox.NewEvent),
// and its audit item's key; no key when the write brought none.
func carriedOf(uid string, rec events.DynamoDBEventRecord) (string, mfa.AuditEvent, error) {
	item, err := outbox.NewEvent(rec)
	if item == nil || err != nil {
		return "", mfa.AuditEvent{}, err
	}
	pk, _ := optStr(item, "pk")
	sk, _ := optStr(item, "sk")
	ev, err := auditOf(item)
	if err != nil {
		return "", mfa.AuditEvent{}, fmt.Errorf("carried event %s: %w", sk, err)
	}
	if ev.UserID != uid {
		return "", mfa.AuditEvent{}, fmt.Errorf("carries an event of user %q", ev.UserID)
	}
	return pk + "/" + sk, ev, nil
}

// auditOf decodes an audit item (dynamostore's auditItem): only the fields an event may carry.
func auditOf(img map[string]events.DynamoDBAttributeValue) (mfa.AuditEvent, error) {
	if len(img) == 0 {
		return mfa.AuditEvent{}, errors.New("no new image (the stream must carry NEW_IMAGE or NEW_AND_OLD_IMAGES)")
	}
	var ev mfa.AuditEvent
	var factorType string
	for name, dst := range map[string]*string{
		"action": &ev.Action, "actor": &ev.Actor, "userId": &ev.UserID, "outcome": &ev.Outcome,
		"factorId": &ev.FactorID, "factorType": &factorType, "challengeId": &ev.ChallengeID,
		"reason": &ev.Reason, "ip": &ev.IP, "userAgent": &ev.UserAgent,
	} {
		v, err := optStr(img, name)
		if err != nil {
			return mfa.AuditEvent{}, err
		}
		*dst = v
	}
	ev.FactorType = mfa.FactorType(factorType)
	atMs, err := num(img, "at")
	if err != nil {
		return mfa.AuditEvent{}, err
	}
	ev.At = time.UnixMilli(atMs).UTC()
	if ev.Action == "" || ev.UserID == "" || atMs == 0 {
		return mfa.AuditEvent{}, errors.New("action, userId and at are required")
	}
	return ev, nil
}

// countersOf decodes the failure counters of a user's state item; a missing image is a user
// with no failures.
func countersOf(uid string, img map[string]events.DynamoDBAttributeValue) (mfa.UserState, error) {
	s := mfa.UserState{UserID: uid}
	n, err := num(img, "failures")
	if err != nil {
		return s, err
	}
	last, err := num(img, "lastFailureAt")
	if err != nil {
		return s, err
	}
	s.ConsecutiveFailures = int(n)
	if last != 0 {
		s.LastFailureAt = time.UnixMilli(last).UTC()
	}
	return s, nil
}

func str(m map[string]events.DynamoDBAttributeValue, name string) (string, error) {
	v, err := optStr(m, name)
	if err == nil && v == "" {
		err = fmt.Errorf("%s is missing", name)
	}
	return v, err
}

func optStr(m map[string]events.DynamoDBAttributeValue, name string) (string, error) {
	v, ok := m[name]
	if !ok || v.IsNull() {
		return "", nil
	}
	if v.DataType() != events.DataTypeString {
		return "", fmt.Errorf("%s is not a string", name)
	}
	return v.String(), nil
}

// num reads a number attribute; missing is 0.
func num(m map[string]events.DynamoDBAttributeValue, name string) (int64, error) {
	v, ok := m[name]
	if !ok || v.IsNull() {
		return 0, nil
	}
	if v.DataType() != events.DataTypeNumber {
		return 0, fmt.Errorf("%s is not a number", name)
	}
	n, err := strconv.ParseInt(v.Number(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}
