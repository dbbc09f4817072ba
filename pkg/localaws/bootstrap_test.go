package localaws

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

func TestBootstrapMatchesTemplateAndIsIdempotent(t *testing.T) {
	m := runMoto(t)
	ctx := t.Context()
	cfg, err := AWSConfig(ctx, m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	names := Names{Table: "mfa-local", KeyAlias: "mfa-local", SenderEmail: "no-reply@example.com"}

	first, err := Bootstrap(ctx, cfg, tpl, names)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Bootstrap(ctx, cfg, tpl, names)
	if err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if first != second {
		t.Errorf("second bootstrap = %+v, want the same resources as the first, %+v", second, first)
	}
	if first.TableName != names.Table || first.SenderEmail != names.SenderEmail || first.KeyID == "" || first.KeyArn == "" {
		t.Errorf("resources = %+v", first)
	}

	spec, err := tpl.Table(TableLogicalID)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &names.Table})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keySchemaString(desc.Table.KeySchema), keySchemaString(keySchema(spec)); got != want {
		t.Errorf("key schema = %s, template says %s", got, want)
	}
	if got := len(desc.Table.AttributeDefinitions); got != len(spec.AttributeDefinitions) {
		t.Errorf("%d attribute definitions, template has %d", got, len(spec.AttributeDefinitions))
	}
	if got := len(desc.Table.GlobalSecondaryIndexes); got != len(spec.GlobalSecondaryIndexes) {
		t.Errorf("%d GSIs, template has %d", got, len(spec.GlobalSecondaryIndexes))
	}
	if bm := desc.Table.BillingModeSummary; bm == nil || bm.BillingMode != dbtypes.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", bm)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &names.Table})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d.TimeToLiveStatus != dbtypes.TimeToLiveStatusEnabled ||
		aws.ToString(d.AttributeName) != spec.TimeToLiveSpecification.AttributeName {
		t.Errorf("TTL = %s on %q, template says enabled on %q",
			d.TimeToLiveStatus, aws.ToString(d.AttributeName), spec.TimeToLiveSpecification.AttributeName)
	}

	// The key is usable through its alias.
	k := kms.NewFromConfig(cfg)
	enc, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/" + names.KeyAlias), Plaintext: []byte("data key")})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Plaintext, []byte("data key")) || aws.ToString(dec.KeyId) != first.KeyArn {
		t.Errorf("decrypt = %q by %s, want the plaintext by %s", dec.Plaintext, aws.ToString(dec.KeyId), first.KeyArn)
	}

	// The sender may send; an address nobody verified may not.
	ses := sesv2.NewFromConfig(cfg)
	send := func(from string) error {
		_, err := ses.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(from),
			Destination:      &sestypes.Destination{ToAddresses: []string{"user@example.com"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("hello")},
				Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("hello")}},
			}},
		})
		return err
	}
	if err := send(names.SenderEmail); err != nil {
		t.Errorf("send from the bootstrapped sender: %v", err)
	}
	if err := send("stranger@example.org"); err == nil {
		t.Error("send from an unverified sender succeeded; the identity check proves nothing")
	}
}

func TestCreateTableRefusesATableWithAnotherKey(t *testing.T) {
	m := runMoto(t)
	ctx := t.Context()
	cfg, err := AWSConfig(ctx, m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := tpl.Table(TableLogicalID)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("stale"),
		BillingMode:          dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateTable(ctx, db, "stale", spec); err == nil {
		t.Fatal("CreateTable over a table with another key succeeded")
	}
	if err := CreateTable(ctx, db, "fresh", spec); err != nil {
		t.Fatal(err)
	}
}

func TestBootstrapNeedsAllNames(t *testing.T) {
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		t.Fatal(err)
	}
	// No endpoint is needed: the names are checked before any call.
	_, err = Bootstrap(t.Context(), aws.Config{}, tpl, Names{Table: "t", KeyAlias: "k"})
	if err == nil {
		t.Fatal("bootstrap without a sender succeeded")
	}
	var nf interface{ ErrorCode() string }
	if errors.As(err, &nf) {
		t.Errorf("bootstrap called AWS: %v", err)
	}
}
