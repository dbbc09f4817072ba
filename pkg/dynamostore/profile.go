package dynamostore

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

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

// LoadProfile reads state and factors with one Query on the user's "U#" items.
func (s *Store) LoadProfile(ctx context.Context, uid string) (mfa.Profile, error) {
	p, _, err := s.queryProfile(ctx, uid)
	return p, err
}

// queryProfile is LoadProfile that also returns the codes sent for the user's challenges (on
// the state item, ledger.go) by challenge id.
func (s *Store) queryProfile(ctx context.Context, uid string) (mfa.Profile, map[string]*mfa.CodeRecord, error) {
	p := mfa.Profile{State: mfa.UserState{UserID: uid}}
	var marks answerMarks
	in := &dynamoclient.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{
			":pk": str(userPK(uid)), ":prefix": str(profilePrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	err := s.queryAll(ctx, in, func(item map[string]dynamoclient.AttributeValue) error {
		sk := item["sk"].(*dynamoclient.AttributeValueMemberS).Value
		switch {
		case sk == skState:
			st, m, err := decodeState(uid, item)
			if err != nil {
				return err
			}
			p.State, marks = st, m
		case strings.HasPrefix(sk, factorPrefix):
			f, err := readFactorItem(item)
			if err != nil {
				return err
			}
			p.Factors = append(p.Factors, f.toDomain(uid))
		case strings.HasPrefix(sk, seenPrefix):
			it, err := readSeenItem(item)
			if err != nil {
				return err
			}
			p.Seen = append(p.Seen, mfa.Seen{Kind: it.Kind, Value: it.Value, At: fromMillis(it.SeenAt)})
		case strings.HasPrefix(sk, devicePrefix):
			d, err := readDeviceItem(item)
			if err != nil {
				return err
			}
			p.Devices = append(p.Devices, d.toDomain(uid))
		}
		return nil
	})
	if err != nil {
		return mfa.Profile{}, nil, err
	}
	slices.SortStableFunc(p.Factors, factorOrder)
	marks.apply(p.Factors)
	return p, marks.codes, nil
}

// factorOrder is the order of a user's factors: primary factors before backup codes, then
// oldest first, then by id.
func factorOrder(a, b mfa.Factor) int {
	if a.Primary() != b.Primary() {
		if a.Primary() {
			return -1
		}
		return 1
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// getItem reads one item with a consistent read; mfa.ErrNotFound when there is none.
func (s *Store) getItem(ctx context.Context, pk, sk string) (map[string]dynamoclient.AttributeValue, error) {
	res, err := s.db.GetItem(ctx, &dynamoclient.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(res.Item) == 0 {
		return nil, mfa.ErrNotFound
	}
	return res.Item, nil
}

// GetFactor reads one factor.
func (s *Store) GetFactor(ctx context.Context, uid, fid string) (mfa.Factor, error) {
	item, err := s.getItem(ctx, userPK(uid), factorPrefix+fid)
	if err != nil {
		return mfa.Factor{}, err
	}
	it, err := readFactorItem(item)
	if err != nil {
		return mfa.Factor{}, err
	}
	return it.toDomain(uid), nil
}

// batchGet reads keys of one partition with one consistent BatchGetItem (retrying any
// unprocessed keys) and returns the items by sort key.
func (s *Store) batchGet(ctx context.Context, keys []map[string]dynamoclient.AttributeValue) (map[string]map[string]dynamoclient.AttributeValue, error) {
	req := map[string]dynamoclient.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	bySK := map[string]map[string]dynamoclient.AttributeValue{}
	for len(req) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamoclient.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		for _, item := range out.Responses[s.table] {
			bySK[item["sk"].(*dynamoclient.AttributeValueMemberS).Value] = item
		}
		req = out.UnprocessedKeys
	}
	return bySK, nil
}

// LoadEnrollment reads an enrollment and the user's state in one round trip.
