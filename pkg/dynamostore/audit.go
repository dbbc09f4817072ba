package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

func (s *Store) auditPut(ev mfa.AuditEvent) (types.TransactWriteItem, error) {
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return types.TransactWriteItem{}, err
	}
	ua := ev.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	item, err := attributevalue.MarshalMap(auditItem{
		PK: auditPrefix + ev.UserID, SK: fmt.Sprintf("%s%013d#%s", eventPrefix, ev.At.UnixMilli(), hex.EncodeToString(suffix)),
		Action: ev.Action, Actor: ev.Actor, UserID: ev.UserID, FactorID: ev.FactorID, FactorType: string(ev.FactorType),
		ChallengeID: ev.ChallengeID, Outcome: ev.Outcome, Reason: ev.Reason, IP: ev.IP, UserAgent: ua,
		At: ev.At.UnixMilli(), TTL: ev.At.Add(s.auditRetention).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}, nil
}

// ListEvents pages audit events newest first. The cursor is the last returned event's sort
// key, base64url-encoded: opaque to clients, checked on the way back in.
func (s *Store) ListEvents(ctx context.Context, uid string, limit int, cursor string) ([]mfa.AuditEvent, string, error) {
	pk := auditPrefix + uid
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":prefix": str(eventPrefix)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(raw), eventPrefix) || len(raw) > 64 {
			return nil, "", mfa.ErrBadCursor
		}
		in.ExclusiveStartKey = key(pk, string(raw))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	events := make([]mfa.AuditEvent, 0, len(out.Items))
	for _, item := range out.Items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		events = append(events, mfa.AuditEvent{
			UserID: it.UserID, Action: it.Action, Actor: it.Actor, FactorID: it.FactorID, FactorType: mfa.FactorType(it.FactorType),
			ChallengeID: it.ChallengeID, Outcome: it.Outcome, Reason: it.Reason, IP: it.IP, UserAgent: it.UserAgent, At: fromMillis(it.At),
		})
	}
	next := ""
	if sk, ok := out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok && len(events) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(sk.Value))
	}
	return events, next, nil
}
