package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// The answer ledger: what DESIGN §6.1 and §6.4 need remembered about answers lives on the
// user's state item, so that checking and counting an answer is ONE conditional write on one
// small item (1 WRU while the item stays under 1 KB) instead of a transaction over the
// challenge, the factor and the state (2 WRU per item):
//
//	c_<cid>  the tally of a challenge answered at least once: expiry (unix seconds) × 100
//	         + wrong answers, or + 99 once a right answer used it. A challenge is open while
//	         its tally is absent or below expiry × 100 + the per-challenge maximum. Tallies of
//	         expired challenges are removed by the next answer's write.
//	s_<fid>  the last TOTP time step accepted for a factor after its enrollment (the factor
//	         item keeps the enrollment's step, and is not written again): a step is accepted
//	         only above both.
//	u_<fid>  when the factor was last used (ms).
//	k_<cid>  the code sent for a challenge (codeEntry): the newest send replaces it, and the
//	         answer that uses it removes it, in the same write that uses the challenge.
//	w_<ms>   the user's sends in the window ending then (sends.go).
//
// The lock rule (Regulation.OpenAt), the challenge's tally and the TOTP step are conditions of
// the same write, so N concurrent answers are counted exactly and one valid code succeeds once.
const (
	codeAttr     = "k_"
	tallyAttr    = "c_"
	stepAttr     = "s_"
	usedAttr     = "u_"
	tallyUsed    = 99
	tallyPerUnit = 100
)

// answerMarks are the per-factor marks of a state item, merged into the factors read with it,
// and the codes it keeps by challenge.
type answerMarks struct {
	steps map[string]int64
	used  map[string]int64
	codes map[string]*mfa.CodeRecord
}

// codeEntry is the code sent for a challenge (k_<cid>): short names keep the state small.
type codeEntry struct {
	FactorID   string `dynamodbav:"f"`
	Hash       []byte `dynamodbav:"h"`
	ExpiresAt  int64  `dynamodbav:"e"` // ms
	Sends      int    `dynamodbav:"n"`
	LastSendAt int64  `dynamodbav:"l"` // ms
	Until      int64  `dynamodbav:"x"` // unix seconds: when the entry may go (the code's or the challenge's end)
}

func (c codeEntry) toDomain(cid string) *mfa.CodeRecord {
	return &mfa.CodeRecord{ChallengeID: cid, FactorID: c.FactorID, Hash: c.Hash, ExpiresAt: fromMillis(c.ExpiresAt), Sends: c.Sends, LastSendAt: fromMillis(c.LastSendAt)}
}

func (m answerMarks) apply(factors []mfa.Factor) {
	for i := range factors {
		f := &factors[i]
		if s := m.steps[f.ID]; s > f.LastStep {
			f.LastStep = s
		}
		if u := fromMillis(m.used[f.ID]); u.After(f.LastUsedAt) {
			f.LastUsedAt = u
		}
	}
}

// decodeState reads a state item with its ledger.
func decodeState(uid string, item map[string]dynamoclient.AttributeValue) (mfa.UserState, answerMarks, error) {
	st, err := readStateItem(item)
	if err != nil {
		return mfa.UserState{}, answerMarks{}, err
	}
	state := st.toDomain(uid)
	if isActivitySort(st.DirSK) {
		if ms, err := strconv.ParseInt(st.DirSK[:13], 10, 64); err == nil {
			state.ListedAt = fromMillis(ms)
		}
	}
	// Made when first written: most states hold no code (marks.codes and codeUntil are then
	// nil, which reads as empty).
	var marks answerMarks
	var codeUntil map[string]time.Time
	for name, v := range item {
		if m, ok := v.(*dynamoclient.AttributeValueMemberM); ok && strings.HasPrefix(name, codeAttr) {
			c, err := readCodeEntry(m.Value)
			if err != nil {
				return mfa.UserState{}, answerMarks{}, fmt.Errorf("state %s: %w", name, err)
			}
			id := name[len(codeAttr):]
			if marks.codes == nil {
				marks.codes, codeUntil = map[string]*mfa.CodeRecord{}, map[string]time.Time{}
			}
			marks.codes[id], codeUntil[id] = c.toDomain(id), time.Unix(c.Until, 0).UTC()
			continue
		}
		n, ok := v.(*dynamoclient.AttributeValueMemberN)
		if !ok || len(name) < 3 || name[1] != '_' {
			continue
		}
		x, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return mfa.UserState{}, answerMarks{}, fmt.Errorf("state %s: %w", name, err)
		}
		id := name[2:]
		switch name[:2] {
		case tallyAttr:
			t := mfa.Tally{ChallengeID: id, ExpiresAt: time.Unix(x/tallyPerUnit, 0).UTC()}
			if x%tallyPerUnit == tallyUsed {
				t.Used = true
			} else {
				t.Failures = int(x % tallyPerUnit)
			}
			state.Tallies = append(state.Tallies, t)
		case stepAttr:
			if marks.steps == nil {
				marks.steps = map[string]int64{}
			}
			marks.steps[id] = x
		case usedAttr:
			if marks.used == nil {
				marks.used = map[string]int64{}
			}
			marks.used[id] = x
		case sendWindowAttr:
			end, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return mfa.UserState{}, answerMarks{}, fmt.Errorf("state %s: %w", name, err)
			}
			state.SendWindows = append(state.SendWindows, fromMillis(end))
		}
	}
	// A challenge sent a code but not yet answered has a tally of nothing, so that the code
	// is removed with the tallies once it expired.
	for id, until := range codeUntil {
		if !slices.ContainsFunc(state.Tallies, func(t mfa.Tally) bool { return t.ChallengeID == id }) {
			state.Tallies = append(state.Tallies, mfa.Tally{ChallengeID: id, ExpiresAt: until})
		}
	}
	return state, marks, nil
}

// answerWrite is the conditional update of the user's state that records one answer.
type answerWrite struct {
	set, remove, add []string
	cond             []string
	names            map[string]string
	values           map[string]dynamoclient.AttributeValue
}

// newAnswerWrite starts the write of an answer to challenge c at `at`: the lock rule and the
// challenge's tally (fewer than max wrong answers, not used) are its conditions, the user's
// activity moves to the challenge, and expired tallies are removed.
func newAnswerWrite(uid string, c mfa.ChallengeUse, open []mfa.OpenWindow, max int, at time.Time) (*answerWrite, error) {
	if !at.Before(c.ExpiresAt) {
		return nil, mfa.ErrChallengeClosed // expired: nothing to count it on
	}
	if max <= 0 || max >= tallyUsed {
		return nil, errors.New("dynamostore: the per-challenge maximum must be 1 to 98")
	}
	lock, values, err := openCondition(open)
	if err != nil {
		return nil, err
	}
	w := &answerWrite{names: map[string]string{"#c": tallyAttr + c.ID}, values: values}
	exp := c.ExpiresAt.Unix()
	values[":cLimit"] = num(exp*tallyPerUnit + int64(max))
	values[":now"] = num(millis(at))
	values[":chAt"] = num(millis(c.CreatedAt))
	w.cond = append(w.cond, "("+lock+")", "(attribute_not_exists(#c) OR #c < :cLimit)")
	w.set = append(w.set, "lastChallengeAt = :chAt")
	switch {
	case c.Settled:
		// Already first seen and listed, and not moving: nothing of either to write.
	case c.MovesInDirectory:
		w.set = append(w.set, "firstSeenAt = if_not_exists(firstSeenAt, :chAt)", directoryMove)
		directoryMoveValues(uid, c.CreatedAt, values)
	default:
		// In place: an index key that does not change costs no index write.
		w.set = append(w.set, "firstSeenAt = if_not_exists(firstSeenAt, :chAt)")
		w.set = append(w.set, directorySet(uid, c.CreatedAt, values)...)
	}
	w.remove = append(w.remove, removeExpired(c.ID, c.Expired, w.names)...)
	return w, nil
}

// removeExpired names, for a write's REMOVE, the tallies and codes of expired challenges other
// than the one written.
func removeExpired(except string, expired []string, names map[string]string) []string {
	var out []string
	for i, id := range expired {
		if id == except {
			continue
		}
		t, k := fmt.Sprintf("#x%d", i), fmt.Sprintf("#y%d", i)
		names[t], names[k] = tallyAttr+id, codeAttr+id
		out = append(out, t, k)
	}
	return out
}

func (w *answerWrite) update(table string, pk string) *dynamoclient.Update {
	expr := "SET " + strings.Join(w.set, ", ")
	if len(w.add) > 0 {
		expr += " ADD " + strings.Join(w.add, ", ")
	}
	if len(w.remove) > 0 {
		expr += " REMOVE " + strings.Join(w.remove, ", ")
	}
	return &dynamoclient.Update{
		TableName: &table, Key: key(pk, skState),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(strings.Join(w.cond, " AND ")),
		ExpressionAttributeNames:  w.names,
		ExpressionAttributeValues: w.values,
		// A refusal says why from the state that refused it (locked, closed, step used).
		ReturnValuesOnConditionCheckFailure: dynamoclient.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// write runs the answer's state update, alone as one conditional UpdateItem, or in a
// transaction with the other items the answer consumes (extras, after the state update).
// It returns the cancellation reasons of a transaction and the state as a refused write found
// it (nil when the state was not what refused it).
func (s *Store) writeAnswer(ctx context.Context, uid string, w *answerWrite, extras []dynamoclient.TransactWriteItem) (reasons []string, refusedState map[string]dynamoclient.AttributeValue, err error) {
	u := w.update(s.table, userPK(uid))
	if len(extras) == 0 {
		_, err := s.updateItem(ctx, u)
		var ccf *dynamoclient.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if alreadyWritten(ccf.Item, w.values) {
				return nil, nil, nil
			}
			return []string{"ConditionalCheckFailed"}, oldOrEmpty(ccf.Item), fmt.Errorf("%w: state", errConditionFailed)
		}
		return nil, nil, err
	}
	items := append([]dynamoclient.TransactWriteItem{{Update: u}}, extras...)
	reasons, olds, err := s.transactOld(ctx, items)
	if failed(reasons, 0) {
		return reasons, oldOrEmpty(olds[0]), err
	}
	return reasons, nil, err
}

// oldOrEmpty: a state item that did not exist is an empty one.
func oldOrEmpty(m map[string]dynamoclient.AttributeValue) map[string]dynamoclient.AttributeValue {
	if m == nil {
		return map[string]dynamoclient.AttributeValue{}
	}
	return m
}

// whyRefused says which condition of an answer's write the state failed: the lock
// (mfa.LockedError), the challenge's tally (mfa.ErrChallengeClosed) or else the TOTP step
// (mfa.ErrStepReused). lockFirst orders the first two.
func whyRefused(uid string, old map[string]dynamoclient.AttributeValue, c mfa.ChallengeUse, open []mfa.OpenWindow, max int, lockFirst bool) error {
	st, _, err := decodeState(uid, old)
	if err != nil {
		return err
	}
	locked := !inOpenWindows(open, st)
	closed := false
	for _, t := range st.Tallies {
		if t.ChallengeID == c.ID && (t.Used || t.Failures >= max) {
			closed = true
		}
	}
	switch {
	case locked && (lockFirst || !closed):
		return &mfa.LockedError{State: st}
	case closed:
		return mfa.ErrChallengeClosed
	}
	return mfa.ErrStepReused
}

// inOpenWindows evaluates openCondition on a decoded state.
func inOpenWindows(open []mfa.OpenWindow, st mfa.UserState) bool {
	if st.ConsecutiveFailures == 0 && st.LastFailureAt.IsZero() {
		return true
	}
	for _, w := range open {
		if st.ConsecutiveFailures >= w.MinFailures && st.ConsecutiveFailures <= w.MaxFailures &&
			(w.LastFailureBy.IsZero() || !st.LastFailureAt.After(w.LastFailureBy)) {
			return true
		}
	}
	return false
}
