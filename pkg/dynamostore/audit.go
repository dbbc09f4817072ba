package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type auditItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Action      string `dynamodbav:"action"`
	Actor       string `dynamodbav:"actor"`
	UserID      string `dynamodbav:"userId"`
	FactorID    string `dynamodbav:"factorId,omitempty"`
	FactorType  string `dynamodbav:"factorType,omitempty"`
	ChallengeID string `dynamodbav:"challengeId,omitempty"`
	Outcome     string `dynamodbav:"outcome"`
	Reason      string `dynamodbav:"reason,omitempty"`
	IP          string `dynamodbav:"ip,omitempty"`
	UserAgent   string `dynamodbav:"userAgent,omitempty"`
	At          int64  `dynamodbav:"at"`
	TTL         int64  `dynamodbav:"ttl"`
}

// auditRecord is the audit item of an event, under its own key.
func (s *Store) auditRecord(ev mfa.AuditEvent) (map[string]dynamoclient.AttributeValue, error) {
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	ua := ev.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return auditItem{
		PK: auditPrefix + ev.UserID, SK: string(hex.AppendEncode(append(appendMillis13([]byte(eventPrefix), ev.At.UnixMilli()), '#'), suffix)),
		Action: ev.Action, Actor: ev.Actor, UserID: ev.UserID, FactorID: ev.FactorID, FactorType: string(ev.FactorType),
		ChallengeID: ev.ChallengeID, Outcome: ev.Outcome, Reason: ev.Reason, IP: ev.IP, UserAgent: ua,
		At: ev.At.UnixMilli(), TTL: ev.At.Add(s.auditRetention).Unix(),
	}.attributes(), nil
}

// auditPut is the put of an event's audit item, for a change's transaction.
func (s *Store) auditPut(ev mfa.AuditEvent) (dynamoclient.TransactWriteItem, error) {
	item, err := s.auditRecord(ev)
	if err != nil {
		return dynamoclient.TransactWriteItem{}, err
	}
	return dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item}}, nil
}

// ListEvents pages audit events newest first, the pending event riding on the user's state
// (outbox.go) included. The cursor is the last returned event's sort key, base64url-encoded:
// opaque to clients, checked on the way back in.
func (s *Store) ListEvents(ctx context.Context, uid string, limit int, cursor string) ([]mfa.AuditEvent, string, error) {
	pk := auditPrefix + uid
	in := &dynamoclient.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": str(pk), ":prefix": str(eventPrefix)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	after := ""
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(raw), eventPrefix) || len(raw) > 64 {
			return nil, "", mfa.ErrBadCursor
		}
		after = string(raw)
		in.ExclusiveStartKey = key(pk, after)
	}
	pending, err := s.pendingEvent(ctx, uid)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	items, more := withPending(out.Items, len(out.LastEvaluatedKey) > 0, pending, uid, after, limit)
	events := make([]mfa.AuditEvent, 0, len(items))
	for _, item := range items {
		it, err := readAuditItem(item)
		if err != nil {
			return nil, "", err
		}
		events = append(events, mfa.AuditEvent{
			UserID: it.UserID, Action: it.Action, Actor: it.Actor, FactorID: it.FactorID, FactorType: mfa.FactorType(it.FactorType),
			ChallengeID: it.ChallengeID, Outcome: it.Outcome, Reason: it.Reason, IP: it.IP, UserAgent: it.UserAgent, At: fromMillis(it.At),
		})
	}
	next := ""
	if more && len(items) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(sortKey(items[len(items)-1])))
	}
	return events, next, nil
}
