package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// The counting half of the regulator (mfa/regulator.go): failures are counted by an atomic ADD
// whose condition is the lock rule itself, so "may this user try?" and "count the failure" are
// one step, exact under any concurrency. A burst read before a lock began stops counting the
// moment the lock begins.

// openCondition turns the open windows of mfa.Regulation.OpenAt into a condition on the user's
// state item: true when the user is not locked at the write.
func openCondition(windows []mfa.OpenWindow) (string, map[string]dynamoclient.AttributeValue, error) {
	if len(windows) == 0 {
		return "", nil, errors.New("dynamostore: no open windows given: the lock rule is missing")
	}
	var expr strings.Builder
	expr.Grow(32 + 64*len(windows))
	expr.WriteString("attribute_not_exists(failures)")
	// Room for the answer write's other values too, which it adds to this map.
	values := make(map[string]dynamoclient.AttributeValue, 3*len(windows)+16)
	for i, w := range windows {
		lo, hi, by := openValueNames(i)
		expr.WriteString(" OR (")
		// As few comparisons as say it (each is work for the table on every answer): a count is
		// never negative, and a window of one count is an equality. Two comparisons, not
		// BETWEEN, for a range: moto's BETWEEN is false for a value of 0.
		switch {
		case w.MinFailures == w.MaxFailures:
			values[lo] = num(int64(w.MinFailures))
			expr.WriteString("failures = " + lo)
		case w.MinFailures <= 0:
			values[hi] = num(int64(w.MaxFailures))
			expr.WriteString("failures <= " + hi)
		default:
			values[lo], values[hi] = num(int64(w.MinFailures)), num(int64(w.MaxFailures))
			expr.WriteString("failures >= " + lo + " AND failures <= " + hi)
		}
		if !w.LastFailureBy.IsZero() {
			values[by] = num(millis(w.LastFailureBy))
			expr.WriteString(" AND lastFailureAt <= ")
			expr.WriteString(by)
		}
		expr.WriteByte(')')
	}
	return expr.String(), values, nil
}

// openNames are the value names of the first open windows, made once: every answer's write
// names them (the default regulation has 6 windows).
var openNames = func() (names [16][3]string) {
	for i := range names {
		names[i] = [3]string{fmt.Sprintf(":open%dlo", i), fmt.Sprintf(":open%dhi", i), fmt.Sprintf(":open%dby", i)}
	}
	return names
}()

// openValueNames are the names of window i's bounds and time in the condition's values.
func openValueNames(i int) (lo, hi, by string) {
	if i < len(openNames) {
		return openNames[i][0], openNames[i][1], openNames[i][2]
	}
	return fmt.Sprintf(":open%dlo", i), fmt.Sprintf(":open%dhi", i), fmt.Sprintf(":open%dby", i)
}

// RecordFailure counts a wrong answer on the challenge's tally and on the user with one
// conditional write on the user's state (ledger.go), which carries its audit event (outbox.go). Nothing is counted when the user is locked
// at the write (mfa.ErrLocked) or the challenge is no longer open (mfa.ErrChallengeClosed):
// such an answer is refused, not counted.
func (s *Store) RecordFailure(ctx context.Context, f mfa.Failure) error {
	w, err := newAnswerWrite(f.UserID, f.Challenge, f.Open, f.MaxFailures, f.At)
	if err != nil {
		return err
	}
	w.values[":one"] = num(1)
	w.values[":cBase"] = num(f.Challenge.ExpiresAt.Unix() * tallyPerUnit)
	w.set = append(w.set, "lastFailureAt = :now", "#c = if_not_exists(#c, :cBase) + :one")
	w.add = append(w.add, "failures :one")
	if err := w.carry(s, f.Event); err != nil {
		return err
	}
	_, old, err := s.writeAnswer(ctx, f.UserID, w, nil)
	if old != nil {
		return whyRefused(f.UserID, old, f.Challenge, f.Open, f.MaxFailures, true)
	}
	return err
}

// lockedBy is mfa.ErrLocked with the user's state as the refused write found it.
func lockedBy(uid string, old map[string]dynamoclient.AttributeValue) error {
	if old == nil {
		return mfa.ErrLocked
	}
	st, err := readStateItem(old)
	if err != nil {
		return mfa.ErrLocked
	}
	return &mfa.LockedError{State: st.toDomain(uid)}
}

// RecordRefusal writes the audit event of an answer refused unchecked, at most once per user per
// r.Every (mfa.ErrThrottled otherwise): the state item keeps when the last one was written, and
// carries the event (outbox.go).
func (s *Store) RecordRefusal(ctx context.Context, r mfa.Refusal) error {
	now := millis(r.At)
	w := &answerWrite{
		names:  map[string]string{},
		values: map[string]dynamoclient.AttributeValue{":now": num(now), ":since": num(now - r.Every.Milliseconds())},
		set:    []string{"lastRefusalAt = :now"},
		cond:   []string{"(attribute_not_exists(lastRefusalAt) OR lastRefusalAt <= :since)"},
	}
	if err := w.carry(s, r.Event); err != nil {
		return err
	}
	_, old, err := s.writeAnswer(ctx, r.UserID, w, nil)
	if old != nil {
		return mfa.ErrThrottled
	}
	return err
}
