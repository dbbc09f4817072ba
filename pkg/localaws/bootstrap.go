package localaws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// TableLogicalID is the logical id of the service's table in template.yaml.
const TableLogicalID = "MfaTable"

// Names says what to call the local resources.
type Names struct {
	Table       string // DynamoDB table name
	KeyAlias    string // KMS alias, with or without the "alias/" prefix
	SenderEmail string // SES identity the service sends from
	// EventBus, when set, turns on the security events path: an EventBridge bus of this name
	// (the table's stream, as the template specifies it, is always on).
	EventBus string
}

// Resources identifies what Bootstrap created or found.
type Resources struct {
	TableName   string
	KeyID       string
	KeyArn      string
	SenderEmail string
	StreamARN   string // the table's stream
	EventBus    string
}

// Bootstrap creates, in the account cfg reaches, what template.yaml would deploy and the
// service needs at run time: the table (from the template's MfaTable, so the two cannot
// drift), a KMS key behind n.KeyAlias, and a verified SES identity for n.SenderEmail.
// Resources that already exist are reused, so running it twice is harmless.
func Bootstrap(ctx context.Context, cfg aws.Config, tpl *samtemplate.Template, n Names) (Resources, error) {
	if n.Table == "" || n.KeyAlias == "" || n.SenderEmail == "" {
		return Resources{}, fmt.Errorf("localaws: bootstrap needs a table name, key alias and sender email, got %+v", n)
	}
	spec, err := tpl.Table(TableLogicalID)
	if err != nil {
		return Resources{}, fmt.Errorf("localaws: bootstrap: %w", err)
	}
	if err := CreateTable(ctx, dynamodb.NewFromConfig(cfg), n.Table, spec); err != nil {
		return Resources{}, err
	}
	key, err := ensureKey(ctx, kms.NewFromConfig(cfg), n.KeyAlias)
	if err != nil {
		return Resources{}, err
	}
	if err := ensureSender(ctx, sesv2.NewFromConfig(cfg), n.SenderEmail); err != nil {
		return Resources{}, err
	}
	res := Resources{
		TableName:   n.Table,
		KeyID:       aws.ToString(key.KeyId),
		KeyArn:      aws.ToString(key.Arn),
		SenderEmail: n.SenderEmail,
	}
	// The table's stream is always on: the audit writer reads it.
	if res.StreamARN, err = EnableStream(ctx, dynamodb.NewFromConfig(cfg), n.Table, spec); err != nil {
		return Resources{}, err
	}
	if n.EventBus != "" {
		if err := ensureBus(ctx, eventbridge.NewFromConfig(cfg), n.EventBus); err != nil {
			return Resources{}, err
		}
		res.EventBus = n.EventBus
	}
	return res, nil
}

// EnableStream turns on the table's stream with the template's view type (unless it is on)
// and returns its ARN. The audit writer and the security events path read it; tables made for
// tests of other packages (awstest.NewTable) do without the cost of a stream.
func EnableStream(ctx context.Context, db *dynamodb.Client, name string, spec *samtemplate.Table) (string, error) {
	view := spec.StreamSpecification.StreamViewType
	if view == "" {
		return "", fmt.Errorf("localaws: the template's table has no StreamSpecification")
	}
	if arn, on, err := streamOf(ctx, db, name, view); err != nil || on {
		return arn, err
	}
	up, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: &name, StreamSpecification: &dbtypes.StreamSpecification{
		StreamEnabled: aws.Bool(true), StreamViewType: dbtypes.StreamViewType(view),
	}})
	var inUse *dbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		// Turned on in the meantime: by another caller, or by this call's own first attempt
		// when the SDK retried it (its answer lost with its connection).
		if arn, on, derr := streamOf(ctx, db, name, view); derr == nil && on {
			return arn, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("localaws: turn on the stream of %s: %w", name, err)
	}
	return aws.ToString(up.TableDescription.LatestStreamArn), nil
}

// streamOf says whether table name streams, with view (an error if with another), and its
// stream's ARN.
func streamOf(ctx context.Context, db *dynamodb.Client, name, view string) (arn string, on bool, err error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		return "", false, fmt.Errorf("localaws: describe table %s: %w", name, err)
	}
	ss := out.Table.StreamSpecification
	if ss == nil || !aws.ToBool(ss.StreamEnabled) {
		return "", false, nil
	}
	if string(ss.StreamViewType) != view {
		return "", false, fmt.Errorf("localaws: table %s streams %s, the template wants %s", name, ss.StreamViewType, view)
	}
	return aws.ToString(out.Table.LatestStreamArn), true, nil
}

// ensureBus creates an event bus unless it exists.
func ensureBus(ctx context.Context, eb *eventbridge.Client, name string) error {
	_, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name})
	var exists *ebtypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("localaws: create event bus %s: %w", name, err)
	}
	return nil
}

// CreateTable creates table name as spec describes it (on demand billing), waits until it
// is active and turns on its TTL. If the table exists with the same primary key, it is
// reused; with a different one, that is an error rather than a surprise later.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string, spec *samtemplate.Table) error {
	_, err := db.CreateTable(ctx, createTableInput(name, spec))
	var inUse *dbtypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			return fmt.Errorf("localaws: describe existing table %s: %w", name, err)
		}
		if got, want := keySchemaString(out.Table.KeySchema), keySchemaString(keySchema(spec)); got != want {
			return fmt.Errorf("localaws: table %s exists with key %s, the template wants %s", name, got, want)
		}
	case err != nil:
		return fmt.Errorf("localaws: create table %s: %w", name, err)
	}

	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second // local: no need for 20 s polls
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, time.Minute); err != nil {
		return fmt.Errorf("localaws: table %s never became active: %w", name, err)
	}
	return ensureTTL(ctx, db, name, spec)
}

func createTableInput(name string, spec *samtemplate.Table) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: dbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(spec),
	}
	for _, a := range spec.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, dbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: dbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range spec.GlobalSecondaryIndexes {
		gsi := dbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			Projection: &dbtypes.Projection{ProjectionType: dbtypes.ProjectionType(g.Projection.ProjectionType), NonKeyAttributes: g.Projection.NonKeyAttributes},
		}
		for _, k := range g.KeySchema {
			gsi.KeySchema = append(gsi.KeySchema, dbtypes.KeySchemaElement{
				AttributeName: aws.String(k.AttributeName),
				KeyType:       dbtypes.KeyType(k.KeyType),
			})
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	return in
}

func keySchema(spec *samtemplate.Table) []dbtypes.KeySchemaElement {
	var ks []dbtypes.KeySchemaElement
	for _, k := range spec.KeySchema {
		ks = append(ks, dbtypes.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       dbtypes.KeyType(k.KeyType),
		})
	}
	return ks
}

// keySchemaString renders a key schema as "pk HASH, sk RANGE" for comparison and messages.
func keySchemaString(ks []dbtypes.KeySchemaElement) string {
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(parts, ", ")
}

// ensureTTL enables the template's TTL attribute unless it already is; DynamoDB rejects
// enabling TTL twice, which would break a second bootstrap.
func ensureTTL(ctx context.Context, db *dynamodb.Client, name string, spec *samtemplate.Table) error {
	ttl := spec.TimeToLiveSpecification
	if !ttl.Enabled || ttl.AttributeName == "" {
		return nil
	}
	out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		return fmt.Errorf("localaws: describe TTL of %s: %w", name, err)
	}
	if d := out.TimeToLiveDescription; d != nil &&
		slices.Contains([]dbtypes.TimeToLiveStatus{dbtypes.TimeToLiveStatusEnabled, dbtypes.TimeToLiveStatusEnabling}, d.TimeToLiveStatus) {
		if got := aws.ToString(d.AttributeName); got != ttl.AttributeName {
			return fmt.Errorf("localaws: table %s has TTL on %q, the template wants %q", name, got, ttl.AttributeName)
		}
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &name,
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{
			AttributeName: aws.String(ttl.AttributeName),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("localaws: enable TTL on %s.%s: %w", name, ttl.AttributeName, err)
	}
	return nil
}

// ensureKey returns the key behind alias, creating a symmetric key and the alias if needed.
func ensureKey(ctx context.Context, k *kms.Client, alias string) (*kmstypes.KeyMetadata, error) {
	if !strings.HasPrefix(alias, "alias/") {
		alias = "alias/" + alias
	}
	key, err := describeKey(ctx, k, alias)
	if err == nil || !isKMSNotFound(err) {
		return key, err
	}

	created, err := k.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("MFA service data key wrapper (local)"),
		KeySpec:     kmstypes.KeySpecSymmetricDefault,
		KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
	})
	if err != nil {
		return nil, fmt.Errorf("localaws: create KMS key: %w", err)
	}
	_, err = k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &alias, TargetKeyId: created.KeyMetadata.KeyId})
	var exists *kmstypes.AlreadyExistsException
	if errors.As(err, &exists) {
		// Another bootstrap won the race: use its key, and do not leave ours lying around.
		_, _ = k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: created.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7)})
		return describeKey(ctx, k, alias)
	}
	if err != nil {
		return nil, fmt.Errorf("localaws: create KMS alias %s: %w", alias, err)
	}
	return created.KeyMetadata, nil
}

func describeKey(ctx context.Context, k *kms.Client, alias string) (*kmstypes.KeyMetadata, error) {
	out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &alias})
	if err != nil {
		return nil, fmt.Errorf("localaws: describe KMS key %s: %w", alias, err)
	}
	if st := out.KeyMetadata.KeyState; st != kmstypes.KeyStateEnabled {
		return nil, fmt.Errorf("localaws: KMS key behind %s is %s, not Enabled", alias, st)
	}
	return out.KeyMetadata, nil
}

func isKMSNotFound(err error) bool {
	var nf *kmstypes.NotFoundException
	return errors.As(err, &nf)
}

// ensureSender makes email an SES identity that may send. moto verifies an identity as it
// is created; a real account would leave it pending until someone clicks the link, which
// is reported as an error instead of failing at the first send.
func ensureSender(ctx context.Context, ses *sesv2.Client, email string) error {
	out, err := ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: &email})
	var nf *sestypes.NotFoundException
	if errors.As(err, &nf) {
		_, err = ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: &email})
		var exists *sestypes.AlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("localaws: create SES identity %s: %w", email, err)
		}
		out, err = ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: &email})
	}
	if err != nil {
		return fmt.Errorf("localaws: get SES identity %s: %w", email, err)
	}
	// moto reports VerificationStatus SUCCESS but leaves VerifiedForSendingStatus false.
	if !out.VerifiedForSendingStatus && out.VerificationStatus != sestypes.VerificationStatusSuccess {
		return fmt.Errorf("localaws: SES identity %s is not verified (status %s)", email, out.VerificationStatus)
	}
	return nil
}
