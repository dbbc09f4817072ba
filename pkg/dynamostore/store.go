// Package dynamostore keeps the MFA domain in one DynamoDB table.
//
// Layout (pk / sk):
//
//	USER#<uid> / U#STATE              failures, lock inputs, activity, factor count; the
//	                                  tallies of answered challenges (c_<cid>), the last TOTP
//	                                  step (s_<fid>) and last use (u_<fid>) of factors (ledger.go)
//	USER#<uid> / U#FACTOR#<fid>       one bound factor (secret sealed)
//	USER#<uid> / U#DEVICE#<did>       a trusted device (keyed hash of its token; ttl)
//	USER#<uid> / U#SEEN#<kind>#<value>    a device id or IP the user signed in from (ttl 90 days)
//	POLICY / global | org:<id>          a stored policy (JSON, versioned)
//	USER#<uid> / ENROLLMENT#<eid>     a pending enrollment (ttl)
//	USER#<uid> / CHALLENGE#<cid>      the WebAuthn session of a challenge offering passkeys (ttl);
//	                                  other challenges are stored nowhere (mfa/challengetoken.go)
//	USER#<uid> / U#CODE#<cid>         the keyed hash of the email/SMS code sent for a challenge,
//	                                  its factor, sends and last send (ttl)
//	USER#<uid> / SEND#<window>        codes sent to this user in a window (ttl)
//	DEST#<hash> / SEND#<window>       codes sent to one destination in a window (ttl)
//	AUDIT#<uid> / EVENT#<ms>#<rand>   an audit event, newest last (ttl)
//	USER#<uid> / STEPUP#<jti>         a step-up mfaToken consumed by a change (ttl = its exp)
//	SYSTEM / DATAKEY                  the KMS-wrapped data key
//	SYSTEM / SIGNKEY#<generation>     an mfaToken signing key (private part sealed)
//
// A user's state, factors and codes share the "U#" prefix so one Query reads them all. Anything that
// must happen once is a condition on the write; multi-item changes are transactions whose
// cancellation reasons are translated into the domain's errors.
package dynamostore

import (
	"context"
	"strconv"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/dynamostore/signingkeys"
	"github.com/mfa-service/mfa/pkg/mfa"
)

// DynamoDB is the part of the client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamoclient.GetItemInput) (*dynamoclient.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamoclient.PutItemInput) (*dynamoclient.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamoclient.UpdateItemInput) (*dynamoclient.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamoclient.QueryInput) (*dynamoclient.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamoclient.BatchGetItemInput) (*dynamoclient.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamoclient.TransactWriteItemsInput) (*dynamoclient.TransactWriteItemsOutput, error)
}

// Store implements every store port of the domain (one per use case) and the key stores of
// seal and token.
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

// The domain's store ports, each declared by the use case that calls it.
var (
	_ mfa.FactorStore       = (*Store)(nil)
	_ mfa.EnrollmentStore   = (*Store)(nil)
	_ mfa.ChallengeStore    = (*Store)(nil)
	_ mfa.DeliveryStore     = (*Store)(nil)
	_ mfa.VerificationStore = (*Store)(nil)
	_ mfa.AdminStore        = (*Store)(nil)
	_ mfa.PolicyStore       = (*Store)(nil)
)

const (
	userPrefix     = "USER#"
	profilePrefix  = "U#"
	skState        = "U#STATE"
	factorPrefix   = "U#FACTOR#"
	devicePrefix   = "U#DEVICE#"
	seenPrefix     = "U#SEEN#"
	enrollPrefix   = "ENROLLMENT#"
	challengePfx   = "CHALLENGE#"
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

func key(pk, sk string) map[string]dynamoclient.AttributeValue {
	return map[string]dynamoclient.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

func str(s string) dynamoclient.AttributeValue { return &dynamoclient.AttributeValueMemberS{Value: s} }
func num(n int64) dynamoclient.AttributeValue {
	return &dynamoclient.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
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
