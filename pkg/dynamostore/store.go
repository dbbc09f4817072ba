// Package dynamostore keeps the MFA domain in one DynamoDB table.
//
// Layout (pk / sk):
//
//	USER#<uid> / U#STATE              failures, lock inputs, activity, factor count
//	USER#<uid> / U#FACTOR#<fid>       one bound factor (secret sealed)
//	USER#<uid> / ENROLLMENT#<eid>     a pending enrollment (ttl)
//	USER#<uid> / CHALLENGE#<cid>      a challenge (ttl)
//	AUDIT#<uid> / EVENT#<ms>#<rand>   an audit event, newest last (ttl)
//	SYSTEM / DATAKEY                  the KMS-wrapped data key
//	SYSTEM / SIGNKEY#<generation>     an mfaToken signing key (private part sealed)
//
// A user's state and factors share the "U#" prefix so one Query reads both. Anything that
// must happen once is a condition on the write; multi-item changes are transactions whose
// cancellation reasons are translated into the domain's errors.
package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/token"
)

// DynamoDB is the part of the client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store implements mfa.Store and the key stores of seal and token.
type Store struct {
	db             DynamoDB
	table          string
	auditRetention time.Duration
}

// New returns a store on one table. Audit events expire after auditRetention.
func New(db DynamoDB, table string, auditRetention time.Duration) *Store {
	if auditRetention <= 0 {
		auditRetention = 400 * 24 * time.Hour
	}
	return &Store{db: db, table: table, auditRetention: auditRetention}
}

var _ mfa.Store = (*Store)(nil)

const (
	userPrefix     = "USER#"
	profilePrefix  = "U#"
	skState        = "U#STATE"
	factorPrefix   = "U#FACTOR#"
	enrollPrefix   = "ENROLLMENT#"
	challengePfx   = "CHALLENGE#"
	auditPrefix    = "AUDIT#"
	eventPrefix    = "EVENT#"
	pkSystem       = "SYSTEM"
	skDataKey      = "DATAKEY"
	signKeyPrefix  = "SIGNKEY#"
	ttlGraceOnGone = 24 * time.Hour // keep expired items a day for support, then let TTL remove them
)

func userPK(uid string) string { return userPrefix + uid }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// ---- items ----

type stateItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	Failures        int    `dynamodbav:"failures,omitempty"`
	LastFailureAt   int64  `dynamodbav:"lastFailureAt,omitempty"`
	LastChallengeAt int64  `dynamodbav:"lastChallengeAt,omitempty"`
	LastVerifiedAt  int64  `dynamodbav:"lastVerifiedAt,omitempty"`
	LastFactorID    string `dynamodbav:"lastFactorId,omitempty"`
	FirstSeenAt     int64  `dynamodbav:"firstSeenAt,omitempty"`
	FactorCount     int    `dynamodbav:"factorCount,omitempty"`
}

func (it stateItem) toDomain(uid string) mfa.UserState {
	return mfa.UserState{
		UserID: uid, ConsecutiveFailures: it.Failures, LastFailureAt: fromMillis(it.LastFailureAt),
		LastChallengeAt: fromMillis(it.LastChallengeAt), LastVerifiedAt: fromMillis(it.LastVerifiedAt),
		LastFactorID: it.LastFactorID, FirstSeenAt: fromMillis(it.FirstSeenAt), FactorCount: it.FactorCount,
	}
}

type factorItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	Type       string `dynamodbav:"factorType"`
	Label      string `dynamodbav:"label"`
	CreatedAt  int64  `dynamodbav:"createdAt"`
	LastUsedAt int64  `dynamodbav:"lastUsedAt,omitempty"`
	Secret     []byte `dynamodbav:"secret,omitempty"`
	LastStep   int64  `dynamodbav:"lastStep,omitempty"`
}

func (it factorItem) toDomain(uid string) mfa.Factor {
	return mfa.Factor{
		ID: it.ID, UserID: uid, Type: mfa.FactorType(it.Type), Label: it.Label,
		CreatedAt: fromMillis(it.CreatedAt), LastUsedAt: fromMillis(it.LastUsedAt),
		SealedSecret: it.Secret, LastStep: it.LastStep,
	}
}

type enrollmentItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ID        string `dynamodbav:"id"`
	Type      string `dynamodbav:"factorType"`
	Label     string `dynamodbav:"label"`
	Secret    []byte `dynamodbav:"secret,omitempty"`
	CreatedAt int64  `dynamodbav:"createdAt"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	TTL       int64  `dynamodbav:"ttl"`
}

type challengeItem struct {
	PK              string   `dynamodbav:"pk"`
	SK              string   `dynamodbav:"sk"`
	ID              string   `dynamodbav:"id"`
	Purpose         string   `dynamodbav:"purpose"`
	OrganizationID  string   `dynamodbav:"organizationId,omitempty"`
	FactorIDs       []string `dynamodbav:"factorIds"`
	DefaultFactorID string   `dynamodbav:"defaultFactorId,omitempty"`
	Failures        int      `dynamodbav:"failures"`
	Status          string   `dynamodbav:"status"`
	CreatedAt       int64    `dynamodbav:"createdAt"`
	ExpiresAt       int64    `dynamodbav:"expiresAt"`
	TTL             int64    `dynamodbav:"ttl"`
}

func (it challengeItem) toDomain(uid string) mfa.Challenge {
	return mfa.Challenge{
		ID: it.ID, UserID: uid, Purpose: it.Purpose, OrganizationID: it.OrganizationID,
		FactorIDs: it.FactorIDs, DefaultFactorID: it.DefaultFactorID, Failures: it.Failures,
		Status: mfa.ChallengeStatus(it.Status), CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt),
	}
}

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

// ---- reads ----

// LoadProfile reads state and factors with one Query on the user's "U#" items.
func (s *Store) LoadProfile(ctx context.Context, uid string) (mfa.Profile, error) {
	p := mfa.Profile{State: mfa.UserState{UserID: uid}}
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(userPK(uid)), ":prefix": str(profilePrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return mfa.Profile{}, err
		}
		for _, item := range out.Items {
			sk := item["sk"].(*types.AttributeValueMemberS).Value
			switch {
			case sk == skState:
				var st stateItem
				if err := attributevalue.UnmarshalMap(item, &st); err != nil {
					return mfa.Profile{}, err
				}
				p.State = st.toDomain(uid)
			case len(sk) > len(factorPrefix) && sk[:len(factorPrefix)] == factorPrefix:
				var f factorItem
				if err := attributevalue.UnmarshalMap(item, &f); err != nil {
					return mfa.Profile{}, err
				}
				p.Factors = append(p.Factors, f.toDomain(uid))
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	sortByCreation(p.Factors)
	return p, nil
}

func sortByCreation(fs []mfa.Factor) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && (fs[j].CreatedAt.Before(fs[j-1].CreatedAt) || (fs[j].CreatedAt.Equal(fs[j-1].CreatedAt) && fs[j].ID < fs[j-1].ID)); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func (s *Store) getItem(ctx context.Context, pk, sk string, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return err
	}
	if len(res.Item) == 0 {
		return mfa.ErrNotFound
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// GetFactor reads one factor.
func (s *Store) GetFactor(ctx context.Context, uid, fid string) (mfa.Factor, error) {
	var it factorItem
	if err := s.getItem(ctx, userPK(uid), factorPrefix+fid, &it); err != nil {
		return mfa.Factor{}, err
	}
	return it.toDomain(uid), nil
}

// GetEnrollment reads one pending enrollment.
func (s *Store) GetEnrollment(ctx context.Context, uid, eid string) (mfa.Enrollment, error) {
	var it enrollmentItem
	if err := s.getItem(ctx, userPK(uid), enrollPrefix+eid, &it); err != nil {
		return mfa.Enrollment{}, err
	}
	return mfa.Enrollment{
		ID: it.ID, UserID: uid, Type: mfa.FactorType(it.Type), Label: it.Label, SealedSecret: it.Secret,
		CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt),
	}, nil
}

// LoadVerification reads challenge, state and factor with one consistent BatchGetItem.
func (s *Store) LoadVerification(ctx context.Context, uid, cid, fid string) (mfa.Challenge, mfa.UserState, *mfa.Factor, error) {
	pk := userPK(uid)
	keys := []map[string]types.AttributeValue{key(pk, challengePfx+cid), key(pk, skState)}
	if fid != "" {
		keys = append(keys, key(pk, factorPrefix+fid))
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var items []map[string]types.AttributeValue
	for len(req) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return mfa.Challenge{}, mfa.UserState{}, nil, err
		}
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	var (
		ch     mfa.Challenge
		found  bool
		state  = mfa.UserState{UserID: uid}
		factor *mfa.Factor
	)
	for _, item := range items {
		sk := item["sk"].(*types.AttributeValueMemberS).Value
		switch sk {
		case challengePfx + cid:
			var it challengeItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return mfa.Challenge{}, mfa.UserState{}, nil, err
			}
			ch, found = it.toDomain(uid), true
		case skState:
			var it stateItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return mfa.Challenge{}, mfa.UserState{}, nil, err
			}
			state = it.toDomain(uid)
		case factorPrefix + fid:
			var it factorItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return mfa.Challenge{}, mfa.UserState{}, nil, err
			}
			f := it.toDomain(uid)
			factor = &f
		}
	}
	if !found {
		return mfa.Challenge{}, mfa.UserState{}, nil, mfa.ErrNotFound
	}
	return ch, state, factor, nil
}

// ---- writes ----

// CreateEnrollment stores a pending enrollment with its audit event.
func (s *Store) CreateEnrollment(ctx context.Context, e mfa.Enrollment, ev mfa.AuditEvent) error {
	item, err := attributevalue.MarshalMap(enrollmentItem{
		PK: userPK(e.UserID), SK: enrollPrefix + e.ID, ID: e.ID, Type: string(e.Type), Label: e.Label,
		Secret: e.SealedSecret, CreatedAt: millis(e.CreatedAt), ExpiresAt: millis(e.ExpiresAt),
		TTL: e.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		audit,
	})
	return err
}

// ActivateFactor consumes the enrollment and creates the factor in one transaction.
func (s *Store) ActivateFactor(ctx context.Context, f mfa.Factor, requireNoFactors bool, ev mfa.AuditEvent) error {
	pk := userPK(f.UserID)
	now := millis(ev.At)
	item, err := attributevalue.MarshalMap(factorItem{
		PK: pk, SK: factorPrefix + f.ID, ID: f.ID, Type: string(f.Type), Label: f.Label,
		CreatedAt: millis(f.CreatedAt), LastUsedAt: millis(f.LastUsedAt), Secret: f.SealedSecret, LastStep: f.LastStep,
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	stateUpdate := &types.Update{
		TableName:        &s.table,
		Key:              key(pk, skState),
		UpdateExpression: aws.String("SET factorCount = if_not_exists(factorCount, :zero) + :one, firstSeenAt = if_not_exists(firstSeenAt, :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":one": num(1), ":now": num(now),
		},
	}
	if requireNoFactors {
		// The step-up rule at write time: a user without step-up may only add a first factor.
		stateUpdate.ConditionExpression = aws.String("attribute_not_exists(factorCount) OR factorCount = :zero")
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(pk, enrollPrefix+f.ID),
			ConditionExpression:       aws.String("attribute_exists(pk) AND expiresAt > :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now)},
		}},
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: stateUpdate},
		audit,
	})
	switch {
	case failed(reasons, 0):
		return mfa.ErrNotFound
	case failed(reasons, 1):
		return mfa.ErrExists
	case failed(reasons, 2):
		return mfa.ErrHasFactors
	}
	return err
}

// DeleteFactor removes a factor and lowers the count in one transaction.
func (s *Store) DeleteFactor(ctx context.Context, uid, fid string, ev mfa.AuditEvent) error {
	pk := userPK(uid)
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(pk, factorPrefix+fid), ConditionExpression: aws.String("attribute_exists(pk)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("ADD factorCount :minus"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1)},
		}},
		audit,
	})
	if failed(reasons, 0) {
		return mfa.ErrNotFound
	}
	return err
}

// OpenChallenge stores a new challenge and notes the activity in one transaction.
func (s *Store) OpenChallenge(ctx context.Context, c mfa.Challenge, ev mfa.AuditEvent) error {
	pk := userPK(c.UserID)
	ids := c.FactorIDs
	if ids == nil {
		ids = []string{}
	}
	item, err := attributevalue.MarshalMap(challengeItem{
		PK: pk, SK: challengePfx + c.ID, ID: c.ID, Purpose: c.Purpose, OrganizationID: c.OrganizationID,
		FactorIDs: ids, DefaultFactorID: c.DefaultFactorID, Status: string(c.Status),
		CreatedAt: millis(c.CreatedAt), ExpiresAt: millis(c.ExpiresAt), TTL: c.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))},
		}},
		audit,
	})
	return err
}

// RecordSuccess closes the challenge, consumes the step and clears failures atomically.
func (s *Store) RecordSuccess(ctx context.Context, r mfa.Success) error {
	pk := userPK(r.UserID)
	now := millis(r.At)
	audit, err := s.auditPut(r.Event)
	if err != nil {
		return err
	}
	factorUpdate := &types.Update{
		TableName: &s.table, Key: key(pk, factorPrefix+r.FactorID),
		UpdateExpression:          aws.String("SET lastUsedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now)},
	}
	if r.Step > 0 {
		// DESIGN §6.1: a time step is accepted once per factor, whoever asks first.
		factorUpdate.UpdateExpression = aws.String("SET lastUsedAt = :now, lastStep = :step")
		factorUpdate.ConditionExpression = aws.String("attribute_exists(pk) AND (attribute_not_exists(lastStep) OR lastStep < :step)")
		factorUpdate.ExpressionAttributeValues[":step"] = num(r.Step)
	}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, challengePfx+r.ChallengeID),
			UpdateExpression:          aws.String("SET #status = :verified, verifiedAt = :now"),
			ConditionExpression:       aws.String("#status = :open AND failures < :max AND expiresAt > :now"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":verified": str(string(mfa.ChallengeVerified)), ":open": str(string(mfa.ChallengeOpen)), ":max": num(int64(r.MaxFailures)), ":now": num(now)},
		}},
		{Update: factorUpdate},
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression: aws.String("SET failures = :zero, lastVerifiedAt = :now, lastFactorId = :fid"),
			// A failure counted since we read the state may have started a lock: start over.
			ConditionExpression: aws.String("attribute_not_exists(failures) OR failures = :read"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":now": num(now), ":fid": str(r.FactorID), ":read": num(int64(r.ReadFailures)),
			},
		}},
		audit,
	})
	switch {
	case failed(reasons, 0):
		return mfa.ErrChallengeClosed
	case failed(reasons, 1):
		return mfa.ErrStepReused
	case failed(reasons, 2):
		return mfa.ErrStateChanged
	}
	return err
}

// RecordFailure counts a wrong answer on the challenge and the user. When the challenge is
// already closed, the user's count is still raised, in a second transaction, so that every
// wrong answer is counted exactly once.
func (s *Store) RecordFailure(ctx context.Context, f mfa.Failure) error {
	pk := userPK(f.UserID)
	now := millis(f.At)
	audit, err := s.auditPut(f.Event)
	if err != nil {
		return err
	}
	userCount := types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression:          aws.String("SET lastFailureAt = :now ADD failures :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now), ":one": num(1)},
	}}
	reasons, err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, challengePfx+f.ChallengeID),
			UpdateExpression:          aws.String("ADD failures :one"),
			ConditionExpression:       aws.String("#status = :open AND failures < :max"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":open": str(string(mfa.ChallengeOpen)), ":max": num(int64(f.MaxFailures))},
		}},
		userCount,
		audit,
	})
	if failed(reasons, 0) {
		_, err = s.transact(ctx, []types.TransactWriteItem{userCount, audit})
	}
	return err
}

// ---- keys (seal.WrappedKeyStore, token.KeyStore) ----

type dataKeyItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Wrapped   []byte `dynamodbav:"wrapped"`
	CreatedAt int64  `dynamodbav:"createdAt"`
}

// LoadWrappedKey returns the wrapped data key, or nil when none exists yet.
func (s *Store) LoadWrappedKey(ctx context.Context) ([]byte, error) {
	var it dataKeyItem
	err := s.getItem(ctx, pkSystem, skDataKey, &it)
	if errors.Is(err, mfa.ErrNotFound) {
		return nil, nil
	}
	return it.Wrapped, err
}

// CreateWrappedKey stores the wrapped data key unless one exists.
func (s *Store) CreateWrappedKey(ctx context.Context, wrapped []byte) (bool, error) {
	item, err := attributevalue.MarshalMap(dataKeyItem{PK: pkSystem, SK: skDataKey, Wrapped: wrapped, CreatedAt: time.Now().UnixMilli()})
	if err != nil {
		return false, err
	}
	return s.putIfAbsent(ctx, item)
}

func (s *Store) putIfAbsent(ctx context.Context, item map[string]types.AttributeValue) (bool, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

type signKeyItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Generation int    `dynamodbav:"generation"`
	KID        string `dynamodbav:"kid"`
	PublicJWK  string `dynamodbav:"publicJwk"`
	Sealed     []byte `dynamodbav:"sealedPrivate"`
	CreatedAt  int64  `dynamodbav:"createdAt"`
}

// LoadSigningKeys returns every signing key generation, newest first.
func (s *Store) LoadSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkSystem), ":prefix": str(signKeyPrefix)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	var keys []token.StoredKey
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			var it signKeyItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, err
			}
			keys = append(keys, token.StoredKey{Generation: it.Generation, KID: it.KID, PublicJWK: []byte(it.PublicJWK), SealedPrivate: it.Sealed, CreatedAt: fromMillis(it.CreatedAt)})
		}
		if len(out.LastEvaluatedKey) == 0 {
			return keys, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// CreateSigningKey stores a generation unless it exists.
func (s *Store) CreateSigningKey(ctx context.Context, k token.StoredKey) (bool, error) {
	item, err := attributevalue.MarshalMap(signKeyItem{
		PK: pkSystem, SK: fmt.Sprintf("%s%08d", signKeyPrefix, k.Generation), Generation: k.Generation,
		KID: k.KID, PublicJWK: string(k.PublicJWK), Sealed: k.SealedPrivate, CreatedAt: millis(k.CreatedAt),
	})
	if err != nil {
		return false, err
	}
	return s.putIfAbsent(ctx, item)
}

// ---- transactions ----

const maxConflictRetries = 5

// errConditionFailed is returned with the reasons when a condition failed; callers map the
// items they expect to fail to domain errors and return this one for anything else.
var errConditionFailed = errors.New("dynamostore: transaction condition failed")

// transact runs a write transaction. When a condition failed it returns the per-item
// cancellation reason codes with errConditionFailed; cancellations caused only by conflicting
// concurrent transactions are retried.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) ([]string, error) {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, err
		}
		codes := make([]string, len(items))
		conditionFailed := false
		for i, r := range tce.CancellationReasons {
			if i < len(codes) && r.Code != nil {
				codes[i] = *r.Code
				conditionFailed = conditionFailed || *r.Code == "ConditionalCheckFailed"
			}
		}
		if conditionFailed {
			return codes, errConditionFailed
		}
		if attempt >= maxConflictRetries {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// failed reports whether item i of a cancelled transaction failed its condition.
func failed(reasons []string, i int) bool {
	return i < len(reasons) && reasons[i] == "ConditionalCheckFailed"
}
