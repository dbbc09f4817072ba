package securityevents

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// Event is one security event, ready to publish.
type Event struct {
	DetailType string
	Detail     Detail
}

// Detail is the event's detail, schema version 1 (schema/detail-v1.schema.json).
type Detail struct {
	SchemaVersion string  `json:"schemaVersion"`
	EventID       string  `json:"eventId"`
	Action        string  `json:"action"`
	OccurredAt    string  `json:"occurredAt"`
	UserID        string  `json:"userId,omitempty"`
	Actor         Actor   `json:"actor"`
	Outcome       string  `json:"outcome"`
	Reason        string  `json:"reason,omitempty"`
	Factor        *Factor `json:"factor,omitempty"`
	ChallengeID   string  `json:"challengeId,omitempty"`
	DeviceID      string  `json:"deviceId,omitempty"`
	Client        *Client `json:"client,omitempty"`
	Lock          *Lock   `json:"lock,omitempty"`
	Policy        *Policy `json:"policy,omitempty"`
}

// Actor is who caused the change: the caller's kind and subject, or the service itself.
type Actor struct {
	Type string `json:"type"` // user | service | admin | system
	ID   string `json:"id"`
}

// Factor names the factor a change is about (never its secret, address or number).
type Factor struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
}

// Client is where the request came from, as the audit log recorded it.
type Client struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// Lock describes the lock a User Locked event reports.
type Lock struct {
	Until               string `json:"until,omitempty"` // absent when permanent
	Permanent           bool   `json:"permanent"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
}

// Policy names the policy a Policy Changed or Policy Deleted event is about.
type Policy struct {
	Scope          string `json:"scope"` // global | organization:<id>
	OrganizationID string `json:"organizationId,omitempty"`
}

// policyAuditUser is the pseudo-user the audit log files policy changes under (pkg/mfa).
const policyAuditUser = "#policy"

// FromAudit builds the event of one audit item. key identifies the item in the store
// (unique and never reused), so the event id is the same on every delivery of the item.
func FromAudit(key string, ev mfa.AuditEvent) Event {
	dt, _ := DetailType(ev.Action)
	d := Detail{
		SchemaVersion: SchemaVersion,
		EventID:       EventID("audit", key),
		Action:        ev.Action,
		OccurredAt:    timestamp(ev.At),
		UserID:        ev.UserID,
		Actor:         actorOf(ev.Actor),
		Outcome:       ev.Outcome,
		ChallengeID:   ev.ChallengeID,
	}
	if ev.FactorID != "" || ev.FactorType != "" {
		d.Factor = &Factor{ID: ev.FactorID, Type: string(ev.FactorType)}
	}
	if ev.IP != "" || ev.UserAgent != "" {
		d.Client = &Client{IP: ev.IP, UserAgent: ev.UserAgent}
	}
	switch {
	case ev.UserID == policyAuditUser:
		// Policy changes are filed under a pseudo-user and keep their scope in the reason.
		d.UserID = ""
		d.Policy = &Policy{Scope: ev.Reason}
		if org, ok := strings.CutPrefix(ev.Reason, "organization:"); ok {
			d.Policy.OrganizationID = org
		}
	case ev.Action == mfa.ActionDeviceTrusted || ev.Action == mfa.ActionDeviceRevoked:
		// The device events keep the device id in the reason.
		d.DeviceID = ev.Reason
	default:
		d.Reason = ev.Reason
	}
	return Event{DetailType: dt, Detail: d}
}

// LockStarted reports the User Locked event when a counted failure took a user from not
// locked to locked, or from a timed lock to the permanent one. before and after are the
// user's counters around one change; the lock is judged at the instant of the failure, with
// the same regulation the verify path applies.
func LockStarted(r mfa.Regulation, before, after mfa.UserState) (Event, bool) {
	if after.ConsecutiveFailures <= before.ConsecutiveFailures || after.LastFailureAt.IsZero() {
		return Event{}, false
	}
	at := after.LastFailureAt
	lockBefore, wasLocked := r.LockAt(before, at)
	lock, locked := r.LockAt(after, at)
	if !locked || (wasLocked && lockBefore.Permanent == lock.Permanent) {
		return Event{}, false
	}
	d := Detail{
		SchemaVersion: SchemaVersion,
		EventID:       EventID("lock", after.UserID, strconv.Itoa(after.ConsecutiveFailures), strconv.FormatInt(at.UnixMilli(), 10)),
		Action:        ActionUserLocked,
		OccurredAt:    timestamp(at),
		UserID:        after.UserID,
		Actor:         Actor{Type: "system", ID: Source},
		Outcome:       "locked",
		Reason:        "consecutive_failures",
		Lock:          &Lock{Permanent: lock.Permanent, ConsecutiveFailures: after.ConsecutiveFailures},
	}
	if !lock.Permanent {
		d.Lock.Until = timestamp(lock.Until)
	}
	dt, _ := DetailType(ActionUserLocked)
	return Event{DetailType: dt, Detail: d}, true
}

// EventID derives a stable id from the parts that identify an event: a version-8 UUID of
// their SHA-256, so that a consumer can dedupe redeliveries on it.
func EventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// actorOf splits the audit log's "kind:subject" actor.
func actorOf(s string) Actor {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return Actor{Type: "system", ID: s}
	}
	switch kind {
	case "user", "service", "admin":
		return Actor{Type: kind, ID: id}
	}
	return Actor{Type: "system", ID: s}
}
