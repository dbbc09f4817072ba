// Package dynamostore keeps the MFA domain in one DynamoDB table.
//
// Layout (pk / sk):
//
//	USER#<uid> / U#STATE              failures, lock inputs, activity, factor count
//	USER#<uid> / U#FACTOR#<fid>       one bound factor (secret sealed)
//	USER#<uid> / U#DEVICE#<did>       a trusted device (keyed hash of its token; ttl)
//	USER#<uid> / U#SEEN#<kind>#<value>    a device id or IP the user signed in from (ttl 90 days)
//	POLICY / global | org:<id>          a stored policy (JSON, versioned)
//	USER#<uid> / ENROLLMENT#<eid>     a pending enrollment (ttl)
//	USER#<uid> / CHALLENGE#<cid>      a challenge (ttl)
//	USER#<uid> / CODE#<cid>#<fid>     the keyed hash of the email/SMS code sent (ttl)
//	USER#<uid> / SEND#<window>        codes sent to this user in a window (ttl)
//	DEST#<hash> / SEND#<window>       codes sent to one destination in a window (ttl)
//	AUDIT#<uid> / EVENT#<ms>#<rand>   an audit event, newest last (ttl)
//	USER#<uid> / STEPUP#<jti>         a step-up mfaToken consumed by a change (ttl = its exp)
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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/dynamostore/signingkeys"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/token"
)

// DynamoDB is the part of the client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
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

// New returns a store on one table. Audit events expire after auditRetention. Every call has a
// deadline (deadline.go).
func New(db DynamoDB, table string, auditRetention time.Duration) *Store {
	if auditRetention <= 0 {
		auditRetention = 400 * 24 * time.Hour
	}
	return &Store{db: deadlineDB{db: db, fallback: FallbackTimeout}, table: table, auditRetention: auditRetention}
}

var _ mfa.Store = (*Store)(nil)

const (
	userPrefix     = "USER#"
	profilePrefix  = "U#"
	skState        = "U#STATE"
	factorPrefix   = "U#FACTOR#"
	devicePrefix   = "U#DEVICE#"
	seenPrefix     = "U#SEEN#"
	enrollPrefix   = "ENROLLMENT#"
	challengePfx   = "CHALLENGE#"
	codePrefix     = "CODE#"
	sendPrefix     = "SEND#"
	destPrefix     = "DEST#"
	auditPrefix    = "AUDIT#"
	eventPrefix    = "EVENT#"
	pkSystem       = signingkeys.PK // the system partition: data key and signing keys
	skDataKey      = "DATAKEY"
	signKeyPrefix  = signingkeys.SKPrefix
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
	PK              string   `dynamodbav:"pk"`
	SK              string   `dynamodbav:"sk"`
	Failures        int      `dynamodbav:"failures,omitempty"`
	LastFailureAt   int64    `dynamodbav:"lastFailureAt,omitempty"`
	LastChallengeAt int64    `dynamodbav:"lastChallengeAt,omitempty"`
	LastVerifiedAt  int64    `dynamodbav:"lastVerifiedAt,omitempty"`
	LastFactorID    string   `dynamodbav:"lastFactorId,omitempty"`
	FirstSeenAt     int64    `dynamodbav:"firstSeenAt,omitempty"`
	FactorCount     int      `dynamodbav:"factorCount,omitempty"`
	BackupFactorID  string   `dynamodbav:"backupFactorId,omitempty"`
	Emails          []string `dynamodbav:"emails,omitempty,stringset"`
	PromptSkippedAt int64    `dynamodbav:"promptSkippedAt,omitempty"`
	LastRefusalAt   int64    `dynamodbav:"lastRefusalAt,omitempty"`
	directoryFields
}

func (it stateItem) toDomain(uid string) mfa.UserState {
	return mfa.UserState{
		UserID: uid, ConsecutiveFailures: it.Failures, LastFailureAt: fromMillis(it.LastFailureAt),
		LastChallengeAt: fromMillis(it.LastChallengeAt), LastVerifiedAt: fromMillis(it.LastVerifiedAt),
		LastFactorID: it.LastFactorID, FirstSeenAt: fromMillis(it.FirstSeenAt), FactorCount: it.FactorCount,
		BackupFactorID: it.BackupFactorID, Emails: it.Emails,
		PromptSkippedAt: fromMillis(it.PromptSkippedAt), LastRefusalAt: fromMillis(it.LastRefusalAt), TypeCounts: it.typeCounts(),
	}
}

type factorItem struct {
	PK           string   `dynamodbav:"pk"`
	SK           string   `dynamodbav:"sk"`
	ID           string   `dynamodbav:"id"`
	Type         string   `dynamodbav:"factorType"`
	Label        string   `dynamodbav:"label"`
	CreatedAt    int64    `dynamodbav:"createdAt"`
	LastUsedAt   int64    `dynamodbav:"lastUsedAt,omitempty"`
	Secret       []byte   `dynamodbav:"secret,omitempty"`
	LastStep     int64    `dynamodbav:"lastStep,omitempty"`
	Destination  string   `dynamodbav:"destination,omitempty"`
	Region       string   `dynamodbav:"region,omitempty"`
	Masked       string   `dynamodbav:"masked,omitempty"`
	AddrKey      string   `dynamodbav:"addrKey,omitempty"` // the directory's look-up key (byAddress index)
	Codes        []string `dynamodbav:"codes,omitempty,stringset"`
	CredentialID []byte   `dynamodbav:"credentialId,omitempty"`
	Credential   []byte   `dynamodbav:"credential,omitempty"`
	SignCount    uint32   `dynamodbav:"signCount,omitempty"`
	Locale       string   `dynamodbav:"locale,omitempty"`
}

func newFactorItem(f mfa.Factor) factorItem {
	return factorItem{
		PK: userPK(f.UserID), SK: factorPrefix + f.ID, ID: f.ID, Type: string(f.Type), Label: f.Label,
		CreatedAt: millis(f.CreatedAt), LastUsedAt: millis(f.LastUsedAt), Secret: f.SealedSecret, LastStep: f.LastStep,
		Destination: f.Destination, Region: f.Region, Masked: f.Masked, AddrKey: f.AddressKey, Codes: f.BackupCodes,
		CredentialID: f.CredentialID, Credential: f.Credential, SignCount: f.SignCount,
		Locale: f.Locale,
	}
}

func (it factorItem) toDomain(uid string) mfa.Factor {
	return mfa.Factor{
		ID: it.ID, UserID: uid, Type: mfa.FactorType(it.Type), Label: it.Label,
		CreatedAt: fromMillis(it.CreatedAt), LastUsedAt: fromMillis(it.LastUsedAt),
		SealedSecret: it.Secret, LastStep: it.LastStep, Destination: it.Destination, Region: it.Region, Masked: it.Masked, AddressKey: it.AddrKey,
		BackupCodes:  it.Codes,
		CredentialID: it.CredentialID, Credential: it.Credential, SignCount: it.SignCount,
		Locale: it.Locale,
	}
}

type enrollmentItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	ID          string `dynamodbav:"id"`
	Type        string `dynamodbav:"factorType"`
	Label       string `dynamodbav:"label"`
	Secret      []byte `dynamodbav:"secret,omitempty"`
	Destination string `dynamodbav:"destination,omitempty"`
	Region      string `dynamodbav:"region,omitempty"`
	Masked      string `dynamodbav:"masked,omitempty"`
	CodeHash    []byte `dynamodbav:"codeHash,omitempty"`
	Session     []byte `dynamodbav:"session,omitempty"`
	Attempts    int    `dynamodbav:"attempts,omitempty"`
	Locale      string `dynamodbav:"locale,omitempty"`
	CreatedAt   int64  `dynamodbav:"createdAt"`
	ExpiresAt   int64  `dynamodbav:"expiresAt"`
	TTL         int64  `dynamodbav:"ttl"`
	Org         string `dynamodbav:"org,omitempty"` // the organization whose policy it follows
}

type offeredItem struct {
	ID   string `dynamodbav:"id"`
	Type string `dynamodbav:"type"`
}

type challengeItem struct {
	PK              string        `dynamodbav:"pk"`
	SK              string        `dynamodbav:"sk"`
	ID              string        `dynamodbav:"id"`
	Purpose         string        `dynamodbav:"purpose"`
	OrganizationID  string        `dynamodbav:"organizationId,omitempty"`
	Offered         []offeredItem `dynamodbav:"offered"`
	DefaultFactorID string        `dynamodbav:"defaultFactorId,omitempty"`
	Failures        int           `dynamodbav:"failures"`
	SendCount       int           `dynamodbav:"sendCount,omitempty"`
	LastSendAt      int64         `dynamodbav:"lastSendAt,omitempty"`
	PasskeySession  []byte        `dynamodbav:"passkeySession,omitempty"`
	ContextIP       string        `dynamodbav:"contextIp,omitempty"`
	ContextDevice   string        `dynamodbav:"contextDevice,omitempty"`
	Locale          string        `dynamodbav:"locale,omitempty"`
	Status          string        `dynamodbav:"status"`
	CreatedAt       int64         `dynamodbav:"createdAt"`
	ExpiresAt       int64         `dynamodbav:"expiresAt"`
	TTL             int64         `dynamodbav:"ttl"`
}

func (it challengeItem) toDomain(uid string) mfa.Challenge {
	c := mfa.Challenge{
		ID: it.ID, UserID: uid, Purpose: it.Purpose, OrganizationID: it.OrganizationID,
		DefaultFactorID: it.DefaultFactorID, Failures: it.Failures, SendCount: it.SendCount, LastSendAt: fromMillis(it.LastSendAt), PasskeySession: it.PasskeySession, ContextIP: it.ContextIP, ContextDevice: it.ContextDevice,
		Status: mfa.ChallengeStatus(it.Status), CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt),
		Locale: it.Locale,
	}
	for _, o := range it.Offered {
		c.Offered = append(c.Offered, mfa.OfferedFactor{ID: o.ID, Type: mfa.FactorType(o.Type)})
	}
	return c
}

type codeItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Hash      []byte `dynamodbav:"codeHash"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	TTL       int64  `dynamodbav:"ttl"`
}

func codeSK(cid, fid string) string { return codePrefix + cid + "#" + fid }

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
			case strings.HasPrefix(sk, factorPrefix):
				var f factorItem
				if err := attributevalue.UnmarshalMap(item, &f); err != nil {
					return mfa.Profile{}, err
				}
				p.Factors = append(p.Factors, f.toDomain(uid))
			case strings.HasPrefix(sk, seenPrefix):
				var it seenItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return mfa.Profile{}, err
				}
				p.Seen = append(p.Seen, mfa.Seen{Kind: it.Kind, Value: it.Value, At: fromMillis(it.SeenAt)})
			case strings.HasPrefix(sk, devicePrefix):
				var d deviceItem
				if err := attributevalue.UnmarshalMap(item, &d); err != nil {
					return mfa.Profile{}, err
				}
				p.Devices = append(p.Devices, d.toDomain(uid))
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	sort.SliceStable(p.Factors, func(i, j int) bool {
		a, b := p.Factors[i], p.Factors[j]
		if a.Primary() != b.Primary() {
			return a.Primary() // backup codes last
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return p, nil
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

// batchGet reads keys of one partition with one consistent BatchGetItem (retrying any
// unprocessed keys) and returns the items by sort key.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	bySK := map[string]map[string]types.AttributeValue{}
	for len(req) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		for _, item := range out.Responses[s.table] {
			bySK[item["sk"].(*types.AttributeValueMemberS).Value] = item
		}
		req = out.UnprocessedKeys
	}
	return bySK, nil
}

// LoadEnrollment reads an enrollment and the user's state in one round trip.
func (s *Store) LoadEnrollment(ctx context.Context, uid, eid string) (mfa.Enrollment, mfa.UserState, error) {
	pk := userPK(uid)
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{key(pk, enrollPrefix+eid), key(pk, skState)})
	if err != nil {
		return mfa.Enrollment{}, mfa.UserState{}, err
	}
	raw, ok := items[enrollPrefix+eid]
	if !ok {
		return mfa.Enrollment{}, mfa.UserState{}, mfa.ErrNotFound
	}
	var it enrollmentItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return mfa.Enrollment{}, mfa.UserState{}, err
	}
	state := mfa.UserState{UserID: uid}
	if raw, ok := items[skState]; ok {
		var st stateItem
		if err := attributevalue.UnmarshalMap(raw, &st); err != nil {
			return mfa.Enrollment{}, mfa.UserState{}, err
		}
		state = st.toDomain(uid)
	}
	return mfa.Enrollment{
		ID: it.ID, UserID: uid, Type: mfa.FactorType(it.Type), Label: it.Label, SealedSecret: it.Secret,
		Destination: it.Destination, Region: it.Region, Masked: it.Masked, CodeHash: it.CodeHash, Attempts: it.Attempts, Session: it.Session,
		CreatedAt: fromMillis(it.CreatedAt), ExpiresAt: fromMillis(it.ExpiresAt), OrganizationID: it.Org,
		Locale: it.Locale,
	}, state, nil
}

// LoadVerification reads challenge, state, factor and code record with one BatchGetItem.
func (s *Store) LoadVerification(ctx context.Context, uid, cid, fid string) (mfa.Challenge, mfa.UserState, *mfa.Factor, *mfa.CodeRecord, error) {
	pk := userPK(uid)
	keys := []map[string]types.AttributeValue{key(pk, challengePfx+cid), key(pk, skState)}
	if fid != "" {
		keys = append(keys, key(pk, factorPrefix+fid), key(pk, codeSK(cid, fid)))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return mfa.Challenge{}, mfa.UserState{}, nil, nil, err
	}
	raw, ok := items[challengePfx+cid]
	if !ok {
		return mfa.Challenge{}, mfa.UserState{}, nil, nil, mfa.ErrNotFound
	}
	var ci challengeItem
	if err := attributevalue.UnmarshalMap(raw, &ci); err != nil {
		return mfa.Challenge{}, mfa.UserState{}, nil, nil, err
	}
	state := mfa.UserState{UserID: uid}
	if raw, ok := items[skState]; ok {
		var st stateItem
		if err := attributevalue.UnmarshalMap(raw, &st); err != nil {
			return mfa.Challenge{}, mfa.UserState{}, nil, nil, err
		}
		state = st.toDomain(uid)
	}
	var factor *mfa.Factor
	if raw, ok := items[factorPrefix+fid]; ok && fid != "" {
		var it factorItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return mfa.Challenge{}, mfa.UserState{}, nil, nil, err
		}
		f := it.toDomain(uid)
		factor = &f
	}
	var record *mfa.CodeRecord
	if raw, ok := items[codeSK(cid, fid)]; ok && fid != "" {
		var it codeItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return mfa.Challenge{}, mfa.UserState{}, nil, nil, err
		}
		record = &mfa.CodeRecord{ChallengeID: cid, FactorID: fid, Hash: it.Hash, ExpiresAt: fromMillis(it.ExpiresAt)}
	}
	return ci.toDomain(uid), state, factor, record, nil
}

// ---- writes ----

// sendCounters are the per-user and per-destination window counters of one send. Each is an
// atomic ADD guarded by its cap, so concurrent sends are counted exactly.
func (s *Store) sendCounters(q mfa.SendQuota) ([]types.TransactWriteItem, time.Time) {
	window := q.At.Truncate(q.Window)
	ends := window.Add(q.Window)
	counter := func(pk string, limit int) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(pk, fmt.Sprintf("%s%013d", sendPrefix, window.UnixMilli())),
			UpdateExpression:          aws.String("SET #ttl = :ttl ADD sent :one"),
			ConditionExpression:       aws.String("attribute_not_exists(sent) OR sent < :max"),
			ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": num(ends.Add(ttlGraceOnGone).Unix()), ":one": num(1), ":max": num(int64(limit))},
		}}
	}
	return []types.TransactWriteItem{counter(userPK(q.UserID), q.MaxPerUser), counter(destPrefix+q.DestinationKey, q.MaxPerDest)}, ends
}

// limitFrom maps cancelled send counters (at positions user, dest) to a LimitError.
func limitFrom(reasons []string, user, dest int, ends time.Time) error {
	switch {
	case failed(reasons, user):
		return &mfa.LimitError{Limit: "user", RetryAt: ends}
	case failed(reasons, dest):
		return &mfa.LimitError{Limit: "destination", RetryAt: ends}
	}
	return nil
}

// CreateEnrollment stores a pending enrollment (and takes the send counters) with its event.
func (s *Store) CreateEnrollment(ctx context.Context, e mfa.Enrollment, send *mfa.SendQuota, ev mfa.AuditEvent) error {
	item, err := attributevalue.MarshalMap(enrollmentItem{
		PK: userPK(e.UserID), SK: enrollPrefix + e.ID, ID: e.ID, Type: string(e.Type), Label: e.Label,
		Secret: e.SealedSecret, Destination: e.Destination, Region: e.Region, Masked: e.Masked, CodeHash: e.CodeHash, Session: e.Session,
		CreatedAt: millis(e.CreatedAt), ExpiresAt: millis(e.ExpiresAt), TTL: e.ExpiresAt.Add(ttlGraceOnGone).Unix(),
		Org:    e.OrganizationID,
		Locale: e.Locale,
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		audit,
	}
	var ends time.Time
	if send != nil {
		var counters []types.TransactWriteItem
		counters, ends = s.sendCounters(*send)
		items = append(items, counters...)
	}
	reasons, err := s.transact(ctx, items)
	if limit := limitFrom(reasons, 2, 3, ends); limit != nil {
		return limit
	}
	return err
}

// FailEnrollment counts a wrong enrollment code.
func (s *Store) FailEnrollment(ctx context.Context, uid, eid string, max int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(userPK(uid), enrollPrefix+eid),
		UpdateExpression:          aws.String("ADD attempts :one"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(attempts) OR attempts < :max)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(int64(max))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return mfa.ErrExhausted
	}
	return err
}

// ActivateFactor binds a factor in one transaction (see mfa.Store).
func (s *Store) ActivateFactor(ctx context.Context, a mfa.Activation) error {
	f := a.Factor
	pk := userPK(f.UserID)
	now := millis(a.Event.At)
	var items []types.TransactWriteItem
	enrollAt, factorAt, stateAt, backupAt := -1, -1, -1, -1

	if a.EnrollmentID != "" {
		enrollAt = len(items)
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key(pk, enrollPrefix+a.EnrollmentID),
			ConditionExpression:       aws.String("attribute_exists(pk) AND expiresAt > :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now)},
		}})
	}
	item, err := attributevalue.MarshalMap(newFactorItem(f))
	if err != nil {
		return err
	}
	factorAt = len(items)
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})

	added := int64(1)
	set := []string{"factorCount = if_not_exists(factorCount, :zero) + :added", "firstSeenAt = if_not_exists(firstSeenAt, :now)"}
	var conds []string
	values := map[string]types.AttributeValue{":zero": num(0), ":now": num(now)}
	if a.RequireNoFactors {
		// The step-up rule at write time: a user without step-up may only add a first factor.
		conds = append(conds, "(attribute_not_exists(factorCount) OR factorCount = :zero)")
	}
	if a.Backup != nil {
		added++
		set = append(set, "backupFactorId = :backup")
		values[":backup"] = str(a.Backup.ID)
		conds = append(conds, "attribute_not_exists(backupFactorId)")
		backupItem, err := attributevalue.MarshalMap(newFactorItem(*a.Backup))
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: backupItem, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
		backupAt = len(items) - 1
	}
	values[":added"] = num(added)
	adds := []string{typeCountAttr(f.Type) + " :one"}
	if a.Backup != nil {
		adds = append(adds, typeCountAttr(mfa.TypeBackupCodes)+" :one")
	}
	set = append(set, directorySet(f.UserID, a.Event.At, values)...)
	values[":one"] = num(1)
	if f.Type == mfa.TypeEmail {
		adds = append(adds, "emails :email")
		values[":email"] = &types.AttributeValueMemberSS{Value: []string{f.Destination}}
	}
	update := "SET " + strings.Join(set, ", ") + " ADD " + strings.Join(adds, ", ")
	stateUpdate := &types.Update{TableName: &s.table, Key: key(pk, skState), UpdateExpression: aws.String(update), ExpressionAttributeValues: values}
	if len(conds) > 0 {
		stateUpdate.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	}
	stateAt = len(items)
	items = append(items, types.TransactWriteItem{Update: stateUpdate})
	audit, err := s.auditPut(a.Event)
	if err != nil {
		return err
	}
	items = append(items, audit)
	items, stepUpAt, err := withStepUpUse(s, items, a.StepUp)
	if err != nil {
		return err
	}

	reasons, err := s.transact(ctx, items)
	switch {
	case failed(reasons, stepUpAt):
		return mfa.ErrStepUpUsed
	case failed(reasons, enrollAt):
		return mfa.ErrNotFound
	case failed(reasons, factorAt):
		return mfa.ErrExists
	case failed(reasons, stateAt) && a.RequireNoFactors:
		return mfa.ErrHasFactors
	case failed(reasons, stateAt), failed(reasons, backupAt):
		return mfa.ErrConflict
	}
	return err
}

// ReplaceBackupCodes replaces the user's backup code set, or creates the first one.
func (s *Store) ReplaceBackupCodes(ctx context.Context, set mfa.Factor, create bool, ev mfa.AuditEvent, use *mfa.StepUpUse) error {
	pk := userPK(set.UserID)
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	var items []types.TransactWriteItem
	if create {
		backupValues := map[string]types.AttributeValue{":id": str(set.ID), ":zero": num(0), ":one": num(1)}
		item, err := attributevalue.MarshalMap(newFactorItem(set))
		if err != nil {
			return err
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: key(pk, skState),
				UpdateExpression: aws.String("SET backupFactorId = :id, factorCount = if_not_exists(factorCount, :zero) + :one, " +
					strings.Join(directorySet(set.UserID, ev.At, backupValues), ", ") + " ADD " + typeCountAttr(mfa.TypeBackupCodes) + " :one"),
				ConditionExpression:       aws.String("attribute_not_exists(backupFactorId)"),
				ExpressionAttributeValues: backupValues,
			}})
	} else {
		// One write replaces the whole set: the old codes are dead the moment it lands.
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(pk, factorPrefix+set.ID),
			UpdateExpression:          aws.String("SET codes = :codes, createdAt = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":codes": &types.AttributeValueMemberSS{Value: set.BackupCodes}, ":now": num(millis(set.CreatedAt))},
		}})
	}
	items = append(items, audit)
	items, stepUpAt, err := withStepUpUse(s, items, use)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, items)
	switch {
	case failed(reasons, stepUpAt):
		return mfa.ErrStepUpUsed
	case create && (failed(reasons, 0) || failed(reasons, 1)):
		return mfa.ErrConflict
	case !create && failed(reasons, 0):
		return mfa.ErrNotFound
	}
	return err
}

// DeleteFactor removes a factor and keeps the state's count, backup id and addresses true.
func (s *Store) DeleteFactor(ctx context.Context, f mfa.Factor, ev mfa.AuditEvent, use *mfa.StepUpUse) error {
	pk := userPK(f.UserID)
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	update := "ADD factorCount :minus, " + typeCountAttr(f.Type) + " :minus"
	values := map[string]types.AttributeValue{":minus": num(-1)}
	switch f.Type {
	case mfa.TypeBackupCodes:
		update += " REMOVE backupFactorId"
	case mfa.TypeEmail:
		update += " DELETE emails :email"
		values[":email"] = &types.AttributeValueMemberSS{Value: []string{f.Destination}}
	}
	items, stepUpAt, err := withStepUpUse(s, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(pk, factorPrefix+f.ID), ConditionExpression: aws.String("attribute_exists(pk)")}},
		{Update: &types.Update{TableName: &s.table, Key: key(pk, skState), UpdateExpression: aws.String(update), ExpressionAttributeValues: values}},
		audit,
	}, use)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, items)
	switch {
	case failed(reasons, stepUpAt):
		return mfa.ErrStepUpUsed
	case failed(reasons, 0):
		return mfa.ErrNotFound
	}
	return err
}

// OpenChallenge stores a new challenge and notes the activity (and a trusted device's use) in
// one transaction.
func (s *Store) OpenChallenge(ctx context.Context, c mfa.Challenge, trustedDevice string, ev mfa.AuditEvent) error {
	pk := userPK(c.UserID)
	offered := []offeredItem{}
	for _, o := range c.Offered {
		offered = append(offered, offeredItem{ID: o.ID, Type: string(o.Type)})
	}
	item, err := attributevalue.MarshalMap(challengeItem{
		PK: pk, SK: challengePfx + c.ID, ID: c.ID, Purpose: c.Purpose, OrganizationID: c.OrganizationID,
		Offered: offered, DefaultFactorID: c.DefaultFactorID, Status: string(c.Status), PasskeySession: c.PasskeySession, ContextIP: c.ContextIP, ContextDevice: c.ContextDevice,
		CreatedAt: millis(c.CreatedAt), ExpiresAt: millis(c.ExpiresAt), TTL: c.ExpiresAt.Add(ttlGraceOnGone).Unix(),
		Locale: c.Locale,
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression:          aws.String("SET lastChallengeAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now), " + directoryMove),
			ExpressionAttributeValues: directoryMoveValues(c.UserID, c.CreatedAt, map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))}),
		}},
		audit,
	}
	if trustedDevice != "" {
		// A device revoked in between makes the whole challenge fail: fail closed.
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(pk, devicePrefix+trustedDevice),
			UpdateExpression:          aws.String("SET lastUsedAt = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(millis(c.CreatedAt))},
		}})
	}
	_, err = s.transact(ctx, items)
	return err
}

// RecordDelivery stores the code sent for (challenge, factor) and takes every send counter in
// one transaction: the challenge's own count and cool-down, the user's and the destination's.
func (s *Store) RecordDelivery(ctx context.Context, d mfa.Delivery) error {
	pk := userPK(d.UserID)
	now := millis(d.Quota.At)
	code, err := attributevalue.MarshalMap(codeItem{
		PK: pk, SK: codeSK(d.Code.ChallengeID, d.Code.FactorID), Hash: d.Code.Hash,
		ExpiresAt: millis(d.Code.ExpiresAt), TTL: d.Code.ExpiresAt.Add(ttlGraceOnGone).Unix(),
	})
	if err != nil {
		return err
	}
	audit, err := s.auditPut(d.Event)
	if err != nil {
		return err
	}
	counters, ends := s.sendCounters(d.Quota)
	items := append([]types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, challengePfx+d.Code.ChallengeID),
			UpdateExpression:         aws.String("SET lastSendAt = :now ADD sendCount :one"),
			ConditionExpression:      aws.String("#status = :open AND expiresAt > :now AND (attribute_not_exists(sendCount) OR sendCount < :max) AND (attribute_not_exists(lastSendAt) OR lastSendAt <= :cool)"),
			ExpressionAttributeNames: map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": num(now), ":one": num(1), ":open": str(string(mfa.ChallengeOpen)),
				":max": num(int64(d.MaxSends)), ":cool": num(now - d.Cooldown.Milliseconds()),
			},
		}},
		// A resend replaces the earlier code: only the newest one is valid.
		{Put: &types.Put{TableName: &s.table, Item: code}},
		audit,
	}, counters...)
	reasons, err := s.transact(ctx, items)
	if failed(reasons, 0) {
		return &mfa.LimitError{Limit: "cooldown", RetryAt: d.Quota.At.Add(d.Cooldown)}
	}
	if limit := limitFrom(reasons, 3, 4, ends); limit != nil {
		return limit
	}
	return err
}

// RecordSuccess closes the challenge, consumes what the answer used (a TOTP step, the code
// record, or one backup code) and clears the user's failures, atomically.
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
	switch {
	case r.Step > 0:
		// DESIGN §6.1: a time step is accepted once per factor, whoever asks first.
		factorUpdate.UpdateExpression = aws.String("SET lastUsedAt = :now, lastStep = :step")
		factorUpdate.ConditionExpression = aws.String("attribute_exists(pk) AND (attribute_not_exists(lastStep) OR lastStep < :step)")
		factorUpdate.ExpressionAttributeValues[":step"] = num(r.Step)
	case r.SignCount != nil:
		// DESIGN §6.6: the counter must grow (an authenticator that does not count sends 0 and
		// must have stored 0); stored with the consumption of the challenge, atomically.
		factorUpdate.UpdateExpression = aws.String("SET lastUsedAt = :now, signCount = :count")
		factorUpdate.ExpressionAttributeValues[":count"] = num(int64(*r.SignCount))
		if *r.SignCount == 0 {
			factorUpdate.ConditionExpression = aws.String("attribute_exists(pk) AND (attribute_not_exists(signCount) OR signCount = :count)")
		} else {
			factorUpdate.ConditionExpression = aws.String("attribute_exists(pk) AND (attribute_not_exists(signCount) OR signCount < :count)")
		}
	case r.BackupHash != "":
		// DESIGN §6.3: removing the code from the set is the single use.
		factorUpdate.UpdateExpression = aws.String("SET lastUsedAt = :now DELETE codes :used")
		factorUpdate.ConditionExpression = aws.String("contains(codes, :code)")
		factorUpdate.ExpressionAttributeValues[":used"] = &types.AttributeValueMemberSS{Value: []string{r.BackupHash}}
		factorUpdate.ExpressionAttributeValues[":code"] = str(r.BackupHash)
	}
	// DESIGN §6.4: no success while the user is locked, decided at the write.
	open, openValues, err := openCondition(r.Open)
	if err != nil {
		return err
	}
	stateUpdate := &types.Update{
		TableName: &s.table, Key: key(pk, skState),
		UpdateExpression:          aws.String("SET failures = :zero, lastVerifiedAt = :now, lastFactorId = :fid"),
		ConditionExpression:       aws.String(open),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":now": num(now), ":fid": str(r.FactorID)},
		// A refusal says until when the user is locked, from the state that refused it.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for k, v := range openValues {
		stateUpdate.ExpressionAttributeValues[k] = v
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(pk, challengePfx+r.ChallengeID),
			UpdateExpression:          aws.String("SET #status = :verified, verifiedAt = :now"),
			ConditionExpression:       aws.String("#status = :open AND failures < :max AND expiresAt > :now"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":verified": str(string(mfa.ChallengeVerified)), ":open": str(string(mfa.ChallengeOpen)), ":max": num(int64(r.MaxFailures)), ":now": num(now)},
		}},
		{Update: factorUpdate},
		{Update: stateUpdate},
		audit,
	}
	for _, seen := range r.Seen {
		put, err := seenPut(s, r.UserID, seen.Kind, seen.Value, r.At)
		if err != nil {
			return err
		}
		items = append(items, put)
	}
	if r.Device != nil {
		device, err := attributevalue.MarshalMap(newDeviceItem(*r.Device))
		if err != nil {
			return err
		}
		trusted, err := s.auditPut(r.DeviceEvent)
		if err != nil {
			return err
		}
		items = append(items, trusted)
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: device, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	if r.CodeHash != nil {
		// DESIGN §6.2: the code is single use; a resend in between replaced it.
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key(pk, codeSK(r.ChallengeID, r.FactorID)),
			ConditionExpression:       aws.String("codeHash = :hash AND expiresAt > :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":hash": &types.AttributeValueMemberB{Value: r.CodeHash}, ":now": num(now)},
		}})
	}
	reasons, olds, err := s.transactOld(ctx, items)
	switch {
	case failed(reasons, 0):
		return mfa.ErrChallengeClosed
	case failed(reasons, 1) && (r.Step > 0 || r.SignCount != nil):
		return mfa.ErrStepReused
	case failed(reasons, 1), failed(reasons, len(items)-1) && r.CodeHash != nil:
		return mfa.ErrCodeUsed
	case failed(reasons, 2):
		return lockedBy(r.UserID, olds[2])
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
	codes, _, err := s.transactOld(ctx, items)
	return codes, err
}

// transactOld is transact that also returns, per item, the item as a failed condition found it
// (for items that ask ReturnValuesOnConditionCheckFailure ALL_OLD; nil otherwise).
func (s *Store) transactOld(ctx context.Context, items []types.TransactWriteItem) ([]string, []map[string]types.AttributeValue, error) {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, nil, err
		}
		codes := make([]string, len(items))
		olds := make([]map[string]types.AttributeValue, len(items))
		conditionFailed := false
		for i, r := range tce.CancellationReasons {
			if i < len(codes) && r.Code != nil {
				codes[i] = *r.Code
				olds[i] = r.Item
				conditionFailed = conditionFailed || *r.Code == "ConditionalCheckFailed"
			}
		}
		if conditionFailed {
			// The reasons say which item's condition failed, for whoever reads the log.
			return codes, olds, fmt.Errorf("%w: %v", errConditionFailed, codes)
		}
		if attempt >= maxConflictRetries {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// failed reports whether item i of a cancelled transaction failed its condition.
func failed(reasons []string, i int) bool {
	return i >= 0 && i < len(reasons) && reasons[i] == "ConditionalCheckFailed"
}
