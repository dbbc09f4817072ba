package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
)

// Policies live at POLICY / <scope> ("global" or "org:<id>") as a JSON document with a
// version that every save raises. format "overlay" marks a document that holds only the
// fields an admin sent (policy.Overlay); an item without it was stored by the earlier
// whole-policy PUT and holds a whole policy.Policy until it is migrated.
const (
	pkPolicy      = "POLICY"
	formatOverlay = "overlay"
)

type policyItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Doc       string `dynamodbav:"doc"`
	Format    string `dynamodbav:"format,omitempty"`
	Version   int    `dynamodbav:"version"`
	UpdatedAt int64  `dynamodbav:"updatedAt"`
	UpdatedBy string `dynamodbav:"updatedBy"`
}

func (it policyItem) toRecord() (policy.Record, error) {
	r := policy.Record{Meta: policy.Meta{Version: it.Version, UpdatedAt: fromMillis(it.UpdatedAt), UpdatedBy: it.UpdatedBy}}
	if it.Format == formatOverlay {
		return r, json.Unmarshal([]byte(it.Doc), &r.Overlay)
	}
	var whole policy.Policy
	if err := json.Unmarshal([]byte(it.Doc), &whole); err != nil {
		return r, err
	}
	r.Whole = &whole
	return r, nil
}

// LoadPolicy reads a stored policy; found is false when none is stored for the scope.
func (s *Store) LoadPolicy(ctx context.Context, scope string) (policy.Record, bool, error) {
	item, err := s.getItem(ctx, pkPolicy, scope)
	if errors.Is(err, mfa.ErrNotFound) {
		return policy.Record{}, false, nil
	}
	if err != nil {
		return policy.Record{}, false, err
	}
	it, err := readPolicyItem(item)
	if err != nil {
		return policy.Record{}, false, err
	}
	r, err := it.toRecord()
	return r, err == nil, err
}

// ListPolicies reads every stored policy, by scope (one Query on the POLICY partition).
func (s *Store) ListPolicies(ctx context.Context) (map[string]policy.Record, error) {
	in := &dynamoclient.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":pk": str(pkPolicy)},
		ConsistentRead:            aws.Bool(true),
	}
	out := map[string]policy.Record{}
	err := s.queryAll(ctx, in, func(item map[string]dynamoclient.AttributeValue) error {
		it, err := readPolicyItem(item)
		if err != nil {
			return err
		}
		r, err := it.toRecord()
		out[it.SK] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SavePolicy stores an overlay, raising its version, with the audit event in one transaction.
func (s *Store) SavePolicy(ctx context.Context, scope string, o policy.Overlay, by string, at time.Time, ev mfa.AuditEvent) (policy.Meta, error) {
	return s.writeOverlay(ctx, scope, o, by, at, ev, nil)
}

// MigratePolicy replaces a whole policy the earlier PUT stored by its overlay, raising the
// version, with the audit event in one transaction. It fails with ErrConflict when the item
// changed since it was read at version fromVersion (a PUT, a delete or another migration).
func (s *Store) MigratePolicy(ctx context.Context, scope string, o policy.Overlay, fromVersion int, by string, at time.Time, ev mfa.AuditEvent) (policy.Meta, error) {
	return s.writeOverlay(ctx, scope, o, by, at, ev, &fromVersion)
}

func (s *Store) writeOverlay(ctx context.Context, scope string, o policy.Overlay, by string, at time.Time, ev mfa.AuditEvent, fromVersion *int) (policy.Meta, error) {
	doc, err := json.Marshal(o)
	if err != nil {
		return policy.Meta{}, err
	}
	update := &dynamoclient.Update{
		TableName: &s.table, Key: key(pkPolicy, scope),
		UpdateExpression:         aws.String("SET doc = :doc, #format = :format, updatedAt = :at, updatedBy = :by ADD version :one"),
		ExpressionAttributeNames: map[string]string{"#format": "format"},
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{
			":doc": str(string(doc)), ":format": str(formatOverlay), ":at": num(millis(at)), ":by": str(by), ":one": num(1),
		},
	}
	if fromVersion != nil {
		update.ConditionExpression = aws.String("version = :from AND attribute_not_exists(#format)")
		update.ExpressionAttributeValues[":from"] = num(int64(*fromVersion))
	}
	var c change
	c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Update: update})
	if _, _, err := s.commit(ctx, c, ev, nil); err != nil {
		return policy.Meta{}, err
	}
	r, _, err := s.LoadPolicy(ctx, scope)
	return r.Meta, err
}

// DeletePolicy removes a stored policy (ErrNotFound when there is none).
func (s *Store) DeletePolicy(ctx context.Context, scope string, ev mfa.AuditEvent) error {
	var c change
	c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(pkPolicy, scope), ConditionExpression: aws.String("attribute_exists(pk)")}})
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}

// SkipPrompt records that the user skipped the optional enrollment prompt.
func (s *Store) SkipPrompt(ctx context.Context, uid string, ev mfa.AuditEvent) error {
	var c change
	c.add(nil, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
		TableName: &s.table, Key: key(userPK(uid), skState),
		UpdateExpression:          aws.String("SET promptSkippedAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":now": num(millis(ev.At))},
	}})
	_, _, err := s.commit(ctx, c, ev, nil)
	return err
}

// seenItem records that the user signed in from a device or an address (adaptive MFA).
type seenItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Kind   string `dynamodbav:"kind"`
	Value  string `dynamodbav:"value"`
	SeenAt int64  `dynamodbav:"seenAt"`
	TTL    int64  `dynamodbav:"ttl"`
}

// seenRetention is how long a device or address counts as known.
const seenRetention = 90 * 24 * time.Hour

func seenPut(s *Store, uid, kind, value string, at time.Time) dynamoclient.TransactWriteItem {
	item := seenItem{
		PK: userPK(uid), SK: seenPrefix + kind + "#" + value, Kind: kind, Value: value,
		SeenAt: millis(at), TTL: at.Add(seenRetention).Unix(),
	}.attributes()
	return dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item}}
}
