package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mfa-service/mfa/pkg/mfa"
)

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
