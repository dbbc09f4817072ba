package dynamostore

import (
	"context"
	"strings"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

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

func (s *Store) ActivateFactor(ctx context.Context, a mfa.Activation) error {
	f := a.Factor
	pk := userPK(f.UserID)
	now := millis(a.Event.At)
	var c change
	if a.EnrollmentID != "" {
		c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{
			TableName: &s.table, Key: key(pk, enrollPrefix+a.EnrollmentID),
			ConditionExpression:       aws.String("attribute_exists(pk) AND expiresAt > :now"),
			ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":now": num(now)},
		}})
	}
	item := newFactorItem(f).attributes()
	c.add(mfa.ErrExists, dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})

	added := int64(1)
	set := []string{"factorCount = if_not_exists(factorCount, :zero) + :added", "firstSeenAt = if_not_exists(firstSeenAt, :now)"}
	var conds []string
	values := map[string]dynamoclient.AttributeValue{":zero": num(0), ":now": num(now)}
	stateFailed := mfa.ErrConflict
	if a.RequireNoFactors {
		// The step-up rule at write time: a user without step-up may only add a first factor.
		conds = append(conds, "(attribute_not_exists(factorCount) OR factorCount = :zero)")
		stateFailed = mfa.ErrHasFactors
	}
	var backupPut *dynamoclient.Put
	if a.Backup != nil {
		added++
		set = append(set, "backupFactorId = :backup")
		values[":backup"] = str(a.Backup.ID)
		conds = append(conds, "attribute_not_exists(backupFactorId)")
		backupItem := newFactorItem(*a.Backup).attributes()
		backupPut = &dynamoclient.Put{TableName: &s.table, Item: backupItem, ConditionExpression: aws.String("attribute_not_exists(pk)")}
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
		values[":email"] = &dynamoclient.AttributeValueMemberSS{Value: []string{f.Destination}}
	}
	update := "SET " + strings.Join(set, ", ") + " ADD " + strings.Join(adds, ", ")
	stateUpdate := &dynamoclient.Update{TableName: &s.table, Key: key(pk, skState), UpdateExpression: aws.String(update), ExpressionAttributeValues: values}
	if len(conds) > 0 {
		stateUpdate.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	}
	c.add(stateFailed, dynamoclient.TransactWriteItem{Update: stateUpdate})
	if backupPut != nil {
		c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Put: backupPut})
	}
	_, _, err := s.commit(ctx, c, a.Event, a.StepUp)
	return err
}

// ReplaceBackupCodes replaces the user's backup code set, or creates the first one.
func (s *Store) ReplaceBackupCodes(ctx context.Context, set mfa.Factor, create bool, ev mfa.AuditEvent, use *mfa.StepUpUse) error {
	pk := userPK(set.UserID)
	var c change
	if create {
		backupValues := map[string]dynamoclient.AttributeValue{":id": str(set.ID), ":zero": num(0), ":one": num(1)}
		item := newFactorItem(set).attributes()
		c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Put: &dynamoclient.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
		c.add(mfa.ErrConflict, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(pk, skState),
			UpdateExpression: aws.String("SET backupFactorId = :id, factorCount = if_not_exists(factorCount, :zero) + :one, " +
				strings.Join(directorySet(set.UserID, ev.At, backupValues), ", ") + " ADD " + typeCountAttr(mfa.TypeBackupCodes) + " :one"),
			ConditionExpression:       aws.String("attribute_not_exists(backupFactorId)"),
			ExpressionAttributeValues: backupValues,
		}})
	} else {
		// One write replaces the whole set: the old codes are dead the moment it lands.
		c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
			TableName: &s.table, Key: key(pk, factorPrefix+set.ID),
			UpdateExpression:          aws.String("SET codes = :codes, createdAt = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":codes": &dynamoclient.AttributeValueMemberSS{Value: set.BackupCodes}, ":now": num(millis(set.CreatedAt))},
		}})
	}
	_, _, err := s.commit(ctx, c, ev, use)
	return err
}

// DeleteFactor removes a factor and keeps the state's count, backup id and addresses true.
func (s *Store) DeleteFactor(ctx context.Context, f mfa.Factor, ev mfa.AuditEvent, use *mfa.StepUpUse) error {
	pk := userPK(f.UserID)
	update := "ADD factorCount :minus, " + typeCountAttr(f.Type) + " :minus"
	values := map[string]dynamoclient.AttributeValue{":minus": num(-1)}
	switch f.Type {
	case mfa.TypeBackupCodes:
		update += " REMOVE backupFactorId"
	case mfa.TypeEmail:
		update += " DELETE emails :email"
		values[":email"] = &dynamoclient.AttributeValueMemberSS{Value: []string{f.Destination}}
	}
	var c change
	c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Delete: &dynamoclient.Delete{TableName: &s.table, Key: key(pk, factorPrefix+f.ID), ConditionExpression: aws.String("attribute_exists(pk)")}})
	c.add(nil, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{TableName: &s.table, Key: key(pk, skState), UpdateExpression: aws.String(update), ExpressionAttributeValues: values}})
	_, _, err := s.commit(ctx, c, ev, use)
	return err
}

// RenameFactor sets a factor's label.
func (s *Store) RenameFactor(ctx context.Context, uid, fid, label string, ev mfa.AuditEvent) (mfa.Factor, error) {
	var c change
	c.add(mfa.ErrNotFound, dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
		TableName: &s.table, Key: key(userPK(uid), factorPrefix+fid),
		UpdateExpression:          aws.String("SET label = :label"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":label": str(label)},
	}})
	if _, _, err := s.commit(ctx, c, ev, nil); err != nil {
		return mfa.Factor{}, err
	}
	return s.GetFactor(ctx, uid, fid)
}
