package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/emf"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/kmsclient"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/policy"
	"github.com/mfa-service/mfa/pkg/seal"
	"github.com/mfa-service/mfa/pkg/token"
)

// Base is what every function builds first: its configuration, the AWS settings its clients
// are made from and its logger. Its builders make one capability each, once per cold start;
// a function calls only those it uses (a function that never sends a code never builds, nor
// links, SES and SNS).
type Base struct {
	Config Config
	AWS    aws.Config
	Log    *slog.Logger
	// WrapDB, when set before Store is first called, wraps the client the store calls.
	WrapDB func(dynamostore.DynamoDB) dynamostore.DynamoDB

	db       *dynamoclient.Client
	store    *dynamostore.Store
	keys     *dynamostore.StartKeys
	policies *mfa.Policies
}

// Load reads the AWS settings with load (FromEnvironment in a Lambda function; both it and
// the SDK's default chain honour AWS_ENDPOINT_URL, which is how a local emulator is reached)
// and adds the SDK middleware given, e.g. to count round trips.
func Load(ctx context.Context, cfg Config, load func(context.Context) (aws.Config, error), apiOptions ...func(*middleware.Stack) error) (*Base, error) {
	awsCfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: aws config: %w", err)
	}
	awsCfg.APIOptions = append(awsCfg.APIOptions, apiOptions...)
	db, err := dynamoclient.New(awsCfg)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return &Base{Config: cfg, AWS: awsCfg, Log: httpapi.NewLogger(os.Stderr, cfg.LogLevel), db: db}, nil
}

// Must ends a cold start whose step failed: the error is logged and the process exits, which
// Lambda reports as an init error.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	return v
}

// DB is the DynamoDB client (pkg/dynamoclient: not the SDK's, whose initialisers cost every
// cold start a few ms).
func (b *Base) DB() *dynamoclient.Client { return b.db }

// Store is the table: the adapter of every store port of the domain, and the key store of
// the keyring and the signer.
func (b *Base) Store() *dynamostore.Store {
	if b.store == nil {
		var db dynamostore.DynamoDB = b.DB()
		if b.WrapDB != nil {
			db = b.WrapDB(db)
		}
		b.store = dynamostore.New(db, b.Config.TableName, b.Config.AuditRetention)
	}
	return b.store
}

// startKeys reads the wrapped data key and the signing keys with one Query, once per cold
// start: the keyring and the signer are both built from it.
func (b *Base) startKeys(ctx context.Context) (*dynamostore.StartKeys, error) {
	if b.keys == nil {
		keys, err := b.Store().LoadStartKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("app: load keys: %w", err)
		}
		b.keys = keys
	}
	return b.keys, nil
}

// Keyring unwraps the data key with KMS (the only KMS call a container makes): it seals
// secrets (mfa.Sealer) and keys the hashes of codes (mfa.Hasher). The wrapped key comes
// with the signing keys, in one Query (startKeys).
func (b *Base) Keyring(ctx context.Context) (*seal.Keyring, error) {
	keys, err := b.startKeys(ctx)
	if err != nil {
		return nil, err
	}
	k, err := kmsclient.New(b.AWS)
	if err != nil {
		return nil, err
	}
	return seal.Open(ctx, k, b.Config.KMSKeyID, keys)
}

// Signer loads the mfaToken signing key, sealed under the keyring: it issues mfaTokens
// (mfa.TokenIssuer) and checks the step-up ones (httpapi.StepUpVerifier). Its keys came with
// the keyring's read.
func (b *Base) Signer(ctx context.Context, keyring *seal.Keyring) (*token.Signer, error) {
	keys, err := b.startKeys(ctx)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	return token.Load(ctx, keys, keyring, token.Config{Issuer: cfg.MFATokenIssuer, Audience: cfg.MFATokenAudience, TTL: cfg.MFATokenTTL})
}

// Policies is the stored global and organization policies, through a per-container cache.
func (b *Base) Policies() *mfa.Policies {
	if b.policies == nil {
		fallback := policy.Default()
		fallback.RememberDeviceDays = b.Config.RememberDeviceDays
		b.policies = &mfa.Policies{Store: b.Store(), Fallback: fallback, Now: time.Now}
	}
	return b.policies
}

// Core is the domain's shared rules over the stored policies, with hasher (the keyring). A
// function running in Lambda counts its metrics in CloudWatch embedded-metric-format lines on
// stdout; other processes count none.
func (b *Base) Core(hasher mfa.Hasher) *mfa.Core {
	core := mfa.NewCore(hasher, b.Policies().Effective, b.Log)
	core.TOTPIssuer = b.Config.TOTPIssuer
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		core.Metrics = emf.New(os.Stdout)
	}
	return core
}

// Passkeys is the WebAuthn relying party (pass passkey.Build), or nil when WEBAUTHN_RP_ID and
// WEBAUTHN_ORIGINS are not set: passkeys are then off and the API says so.
func (b *Base) Passkeys(build PasskeyBuilder) (mfa.Passkeys, error) {
	cfg := b.Config
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, nil
	}
	return build(cfg.RPID, cfg.RPName, cfg.Origins)
}
