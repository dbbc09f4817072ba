package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// The user directory of the admin console. A user's state item (USER#<uid> / U#STATE) carries
// the keys of two sparse global secondary indexes, set by the same writes that change the
// state, so listing never scans the table:
//
//	byActivity  dirPk = "USERS", dirSk = <13-digit ms of last activity>#<uid>   newest first
//	byUser      dirPk = "USERS", dirUser = <uid>                               id prefix search
//
// Activity is the last answered challenge (a sign-in or step-up), moved at most once per
// mfa.DirectoryActivityStep, or for a user never challenged the first time a factor was bound. Binding, removing or resetting factors never
// moves a user, so paging is not disturbed by the support desk's own work. Both indexes project
// the failure count and the per-type factor counters (ft_<type>) that the filters read.
//
// A factor with an email or phone carries addrKey, the domain's keyed hash of the address; the
// byAddress index (keys only) finds the users of an exact address without holding any address.
const (
	directoryPK     = "USERS"
	indexByActivity = "byActivity"
	indexByUser     = "byUser"
	indexByAddress  = "byAddress"

	// filteredReadAhead is how many index entries one filtered page examines at most (one
	// Query, up to 1 MB): a page may come back short, never with more round trips.
	filteredReadAhead = 400
	// maxAddressUsers bounds the users one address look-up returns.
	maxAddressUsers = 100
)

// directoryFields are the directory's attributes on the state item.
type directoryFields struct {
	DirPK      string `dynamodbav:"dirPk,omitempty"`
	DirSK      string `dynamodbav:"dirSk,omitempty"`
	DirUser    string `dynamodbav:"dirUser,omitempty"`
	TOTP       int    `dynamodbav:"ft_totp,omitempty"`
	WebAuthn   int    `dynamodbav:"ft_webauthn,omitempty"`
	Email      int    `dynamodbav:"ft_email,omitempty"`
	SMS        int    `dynamodbav:"ft_sms,omitempty"`
	BackupCode int    `dynamodbav:"ft_backup_codes,omitempty"`
}

func (d directoryFields) typeCounts() map[mfa.FactorType]int {
	out := make(map[mfa.FactorType]int, 5)
	for _, c := range [...]struct {
		t mfa.FactorType
		n int
	}{{mfa.TypeTOTP, d.TOTP}, {mfa.TypeWebAuthn, d.WebAuthn}, {mfa.TypeEmail, d.Email}, {mfa.TypeSMS, d.SMS}, {mfa.TypeBackupCodes, d.BackupCode}} {
		if c.n > 0 {
			out[c.t] = c.n
		}
	}
	return out
}

// typeCountAttr is the state's counter of factors of type t (t is one of the domain's types).
func typeCountAttr(t mfa.FactorType) string { return "ft_" + string(t) }

// typeCountAttrs lists every counter, for a REMOVE.
const typeCountAttrs = "ft_totp, ft_webauthn, ft_email, ft_sms, ft_backup_codes"

func activityKey(uid string, at time.Time) string {
	return string(append(append(appendMillis13(make([]byte, 0, 14+len(uid)), millis(at)), '#'), uid...))
}

// directorySet puts a user in the directory without moving one already there (a bind).
func directorySet(uid string, at time.Time, values map[string]dynamoclient.AttributeValue) []string {
	directoryMoveValues(uid, at, values)
	return []string{"dirPk = :dirPk", "dirSk = if_not_exists(dirSk, :dirSk)", "dirUser = :dirUser"}
}

// directoryMove is the SET clause that moves a user to the top (new activity).
const directoryMove = "dirPk = :dirPk, dirSk = :dirSk, dirUser = :dirUser"

func directoryMoveValues(uid string, at time.Time, values map[string]dynamoclient.AttributeValue) map[string]dynamoclient.AttributeValue {
	values[":dirPk"] = str(directoryPK)
	values[":dirSk"] = str(activityKey(uid, at))
	values[":dirUser"] = str(uid)
	return values
}

// directoryCursor is the position after the last user a page examined, in one index.
type directoryCursor struct {
	Index string `json:"i"`
	Sort  string `json:"s"`
	User  string `json:"u"`
}

func encodeCursor(c directoryCursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor checks a cursor against the listing it is used with and returns the index
// position it names.
func decodeCursor(s, index, prefix string) (map[string]dynamoclient.AttributeValue, error) {
	if len(s) > 512 {
		return nil, mfa.ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, mfa.ErrBadCursor
	}
	var c directoryCursor
	if err := json.Unmarshal(raw, &c); err != nil || c.Index != index || !mfa.ValidUserID(c.User) || !strings.HasPrefix(c.User, prefix) {
		return nil, mfa.ErrBadCursor
	}
	sortAttr := "dirUser"
	switch index {
	case indexByActivity:
		if !isActivitySort(c.Sort) || c.Sort[14:] != c.User {
			return nil, mfa.ErrBadCursor
		}
		sortAttr = "dirSk"
	case indexByUser:
		if c.Sort != c.User {
			return nil, mfa.ErrBadCursor
		}
	}
	return map[string]dynamoclient.AttributeValue{
		"dirPk": str(directoryPK), sortAttr: str(c.Sort), "pk": str(userPK(c.User)), "sk": str(skState),
	}, nil
}

// ListUsers pages the directory with one Query of an index and one BatchGetItem of the
// users' state items (see mfa.DirectoryStore).
func (s *Store) ListUsers(ctx context.Context, q mfa.DirectoryQuery) ([]mfa.UserState, string, error) {
	if q.AddressKey != "" {
		return s.usersByAddress(ctx, q)
	}
	index, sortAttr := indexByActivity, "dirSk"
	if q.IDPrefix != "" {
		index, sortAttr = indexByUser, "dirUser"
	}
	values := map[string]dynamoclient.AttributeValue{":dirPk": str(directoryPK)}
	keyCond := "dirPk = :dirPk"
	if q.IDPrefix != "" {
		keyCond += " AND begins_with(dirUser, :prefix)"
		values[":prefix"] = str(q.IDPrefix)
	}
	var filters []string
	if q.FactorType != "" {
		filters = append(filters, typeCountAttr(q.FactorType)+" > :zero")
		values[":zero"] = num(0)
	}
	if q.MinFailures > 0 {
		filters = append(filters, "failures >= :minFailures")
		values[":minFailures"] = num(int64(q.MinFailures))
	}
	in := &dynamoclient.QueryInput{
		TableName: &s.table, IndexName: aws.String(index),
		KeyConditionExpression:    aws.String(keyCond),
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(index == indexByUser), // ids ascending, activity newest first
		Limit:                     aws.Int32(int32(q.Limit)),
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
		in.Limit = aws.Int32(int32(max(q.Limit, filteredReadAhead)))
	}
	if q.Cursor != "" {
		start, err := decodeCursor(q.Cursor, index, q.IDPrefix)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	taken := out.Items
	if len(taken) > q.Limit {
		taken = taken[:q.Limit]
	}
	next := ""
	switch {
	case len(taken) == q.Limit && (len(out.Items) > len(taken) || len(out.LastEvaluatedKey) > 0):
		last := taken[len(taken)-1]
		uid := strings.TrimPrefix(stringAttr(last, "pk"), userPrefix)
		next = encodeCursor(directoryCursor{Index: index, Sort: stringAttr(last, sortAttr), User: uid})
	case len(out.LastEvaluatedKey) > 0:
		uid := strings.TrimPrefix(stringAttr(out.LastEvaluatedKey, "pk"), userPrefix)
		next = encodeCursor(directoryCursor{Index: index, Sort: stringAttr(out.LastEvaluatedKey, sortAttr), User: uid})
	}
	uids := make([]string, 0, len(taken))
	for _, item := range taken {
		uids = append(uids, strings.TrimPrefix(stringAttr(item, "pk"), userPrefix))
	}
	states, err := s.loadStates(ctx, uids)
	return states, next, err
}

// usersByAddress finds the users who bound an exact address (and the user named exactly by
// the search, if any): one Query of the keys-only address index, one BatchGetItem.
func (s *Store) usersByAddress(ctx context.Context, q mfa.DirectoryQuery) ([]mfa.UserState, string, error) {
	if q.Cursor != "" {
		return nil, "", mfa.ErrBadCursor // an address look-up is one page
	}
	out, err := s.db.Query(ctx, &dynamoclient.QueryInput{
		TableName: &s.table, IndexName: aws.String(indexByAddress),
		KeyConditionExpression:    aws.String("addrKey = :k"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":k": str(q.AddressKey)},
		Limit:                     aws.Int32(maxAddressUsers),
	})
	if err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var uids []string
	add := func(uid string) {
		if uid != "" && !seen[uid] {
			seen[uid] = true
			uids = append(uids, uid)
		}
	}
	add(q.ExactUserID)
	for _, item := range out.Items {
		add(strings.TrimPrefix(stringAttr(item, "pk"), userPrefix))
	}
	states, err := s.loadStates(ctx, uids)
	if err != nil {
		return nil, "", err
	}
	kept := states[:0]
	for _, st := range states {
		if (q.FactorType == "" || st.TypeCounts[q.FactorType] > 0) && st.ConsecutiveFailures >= q.MinFailures {
			kept = append(kept, st)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return lastActivity(kept[i]).After(lastActivity(kept[j])) })
	if len(kept) > q.Limit {
		kept = kept[:q.Limit]
	}
	return kept, "", nil
}

func lastActivity(st mfa.UserState) time.Time {
	if st.LastChallengeAt.After(st.FirstSeenAt) {
		return st.LastChallengeAt
	}
	return st.FirstSeenAt
}

// loadStates reads users' state items with one consistent BatchGetItem (at most 100 keys),
// in the order given; users without a state item are left out.
func (s *Store) loadStates(ctx context.Context, uids []string) ([]mfa.UserState, error) {
	if len(uids) == 0 {
		return []mfa.UserState{}, nil
	}
	keys := make([]map[string]dynamoclient.AttributeValue, 0, len(uids))
	for _, uid := range uids {
		keys = append(keys, key(userPK(uid), skState))
	}
	req := map[string]dynamoclient.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	byUser := map[string]mfa.UserState{}
	for len(req) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamoclient.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		for _, item := range out.Responses[s.table] {
			st, err := readStateItem(item)
			if err != nil {
				return nil, err
			}
			uid := strings.TrimPrefix(st.PK, userPrefix)
			byUser[uid] = st.toDomain(uid)
		}
		req = out.UnprocessedKeys
	}
	states := make([]mfa.UserState, 0, len(uids))
	for _, uid := range uids {
		if st, ok := byUser[uid]; ok {
			states = append(states, st)
		}
	}
	return states, nil
}

func stringAttr(item map[string]dynamoclient.AttributeValue, name string) string {
	if v, ok := item[name].(*dynamoclient.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
