package dynamostore

import (
	"context"
	"errors"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// LoadVerification reads what answering a challenge needs in one round trip: one Query of the
// user's "U#" items (state with its ledger and codes, factors), or, for a challenge that
// stores a passkey session, one BatchGetItem of the state, the session and the factors the
// challenge offers.
func (s *Store) LoadVerification(ctx context.Context, ch mfa.Challenge) (mfa.Verification, error) {
	if !ch.HasPasskeySession {
		p, codes, err := s.queryProfile(ctx, ch.UserID)
		if err != nil {
			return mfa.Verification{}, err
		}
		return mfa.Verification{Challenge: ch, State: p.State, Factors: p.Factors, Code: codes[ch.ID]}, nil
	}
	pk := userPK(ch.UserID)
	keys := []map[string]dynamoclient.AttributeValue{key(pk, skState), key(pk, challengePfx+ch.ID)}
	for _, o := range ch.Offered {
		keys = append(keys, key(pk, factorPrefix+o.ID))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return mfa.Verification{}, err
	}
	raw, ok := items[challengePfx+ch.ID]
	if !ok {
		return mfa.Verification{}, mfa.ErrNotFound
	}
	ci, err := readChallengeItem(raw)
	if err != nil {
		return mfa.Verification{}, err
	}
	ch.PasskeySession = ci.PasskeySession
	v := mfa.Verification{Challenge: ch, State: mfa.UserState{UserID: ch.UserID}}
	marks := answerMarks{}
	if raw, ok := items[skState]; ok {
		if v.State, marks, err = decodeState(ch.UserID, raw); err != nil {
			return mfa.Verification{}, err
		}
	}
	for _, o := range ch.Offered {
		if raw, ok := items[factorPrefix+o.ID]; ok {
			it, err := readFactorItem(raw)
			if err != nil {
				return mfa.Verification{}, err
			}
			v.Factors = append(v.Factors, it.toDomain(ch.UserID))
		}
	}
	marks.apply(v.Factors)
	v.Code = marks.codes[ch.ID]
	return v, nil
}

// RecordSuccess uses the challenge, consumes what the answer used (a TOTP step, the code sent,
// or one backup code) and clears the user's failures, atomically: a TOTP or email/SMS code
// answer is one conditional write on the state (ledger.go: the step and the code are kept
// there), which also carries its audit event (outbox.go); an answer that consumes another item
// (a backup code, a passkey's counter) or remembers a device or address is a transaction of
// those items with the same state write.
func (s *Store) RecordSuccess(ctx context.Context, r mfa.Success) error {
	pk := userPK(r.UserID)
	w, err := newAnswerWrite(r.UserID, r.Challenge, r.Open, r.MaxFailures, r.At)
	if err != nil {
		return err
	}
	w.names["#u"] = usedAttr + r.FactorID
	w.values[":used"] = num(r.Challenge.ExpiresAt.Unix()*tallyPerUnit + tallyUsed)
	w.set = append(w.set, "lastVerifiedAt = :now", "#c = :used", "#u = :now")
	if !r.NoFailures {
		w.values[":zero"] = num(0)
		w.set = append(w.set, "failures = :zero")
	}
	if !r.SameFactor {
		w.values[":fid"] = str(r.FactorID)
		w.set = append(w.set, "lastFactorId = :fid")
	}
	if r.Step > 0 {
		// DESIGN §6.1: a time step is accepted once per factor, whoever asks first.
		w.names["#s"] = stepAttr + r.FactorID
		w.values[":step"] = num(r.Step)
		w.cond = append(w.cond, "(attribute_not_exists(#s) OR #s < :step)")
		w.set = append(w.set, "#s = :step")
	}
	var extras []dynamoclient.TransactWriteItem
	factorAt := -1
	switch {
	case r.SignCount != nil:
		// DESIGN §6.6: the counter must grow (an authenticator that does not count sends 0 and
		// must have stored 0); stored with the use of the challenge, atomically.
		cond := "attribute_exists(pk) AND (attribute_not_exists(signCount) OR signCount < :count)"
		if *r.SignCount == 0 {
			cond = "attribute_exists(pk) AND (attribute_not_exists(signCount) OR signCount = :count)"
		}
		factorAt = len(extras)
		extras = append(extras, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(pk, factorPrefix+r.FactorID),
			UpdateExpression:          aws.String("SET signCount = :count"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":count": num(int64(*r.SignCount))},
		}})
	case r.BackupHash != "":
		// DESIGN §6.3: removing the code from the set is the single use.
		factorAt = len(extras)
		extras = append(extras, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(pk, factorPrefix+r.FactorID),
			UpdateExpression:    aws.String("DELETE codes :usedCode"),
			ConditionExpression: aws.String("contains(codes, :code)"),
			ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{
				":usedCode": &dynamoclient.AttributeValueMemberSS{Value: []string{r.BackupHash}}, ":code": str(r.BackupHash),
			},
		}})
	}
	if r.CodeHash != nil {
		// DESIGN §6.2: the code is single use (the write removes it, and uses the challenge),
		// and a resend in between replaced it.
		w.names["#k"] = codeAttr + r.ChallengeID
		w.values[":hash"], w.values[":fid"] = &dynamoclient.AttributeValueMemberB{Value: r.CodeHash}, str(r.FactorID)
		w.cond = append(w.cond, "(#k.h = :hash AND #k.f = :fid AND #k.e > :now)")
		w.remove = append(w.remove, "#k")
	}
	if err := w.carry(s, r.Event); err != nil {
		return err
	}
	for _, seen := range r.Seen {
		extras = append(extras, seenPut(s, r.UserID, seen.Kind, seen.Value, r.At))
	}
	if r.Device != nil {
		device := newDeviceItem(*r.Device).attributes()
		trusted, err := s.auditPut(r.DeviceEvent)
		if err != nil {
			return err
		}
		extras = append(extras, trusted, dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: device, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	reasons, old, err := s.writeAnswer(ctx, r.UserID, w, extras)
	switch {
	case old != nil:
		// The challenge closed first for an answer that lost a race to itself; else the lock;
		// else the code (used or replaced) or the TOTP step.
		err := whyRefused(r.UserID, old, r.Challenge, r.Open, r.MaxFailures, false)
		if errors.Is(err, mfa.ErrStepReused) && r.CodeHash != nil {
			return mfa.ErrCodeUsed
		}
		return err
	case factorAt >= 0 && failed(reasons, 1+factorAt) && r.SignCount != nil:
		return mfa.ErrStepReused
	case factorAt >= 0 && failed(reasons, 1+factorAt):
		return mfa.ErrCodeUsed
	}
	return err
}
