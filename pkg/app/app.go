// Package app is the composition root: it reads configuration from the environment and has
// one builder per capability (builders.go: the table, the keyring, the signing key, passkeys,
// the domain's core; the notifier is notify.Domain, called by the functions that send), each called once per cold start by the functions
// that use it, so a function's main shows what it links. New builds them all, for the local
// stack and the tests.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/awsenv"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/dynamostore/signingkeys"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/keyset"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/seal"
	"github.com/mfa-service/mfa/pkg/token"
)

// Config is the service's configuration; every field has an environment variable.
type Config struct {
	TableName        string        // TABLE_NAME (required)
	KMSKeyID         string        // KMS_KEY_ID (required): key id, ARN or alias
	MFATokenIssuer   string        // MFA_TOKEN_ISSUER, default "mfa-service"
	MFATokenAudience string        // MFA_TOKEN_AUDIENCE, default "mfa-apps"
	MFATokenTTL      time.Duration // MFA_TOKEN_TTL_SECONDS, default 300, at most 600
	TOTPIssuer       string        // TOTP_ISSUER, default "MFA Service"
	AuditRetention   time.Duration // AUDIT_RETENTION_DAYS, default 400
	LogLevel         slog.Level    // LOG_LEVEL, default INFO
	// RememberDeviceDays is the policy's trusted-device lifetime until policies are stored
	// (REMEMBER_DEVICE_DAYS, default 0: off).
	RememberDeviceDays int
	RPID               string   // WEBAUTHN_RP_ID
	RPName             string   // WEBAUTHN_RP_NAME, default the product name
	Origins            []string // WEBAUTHN_ORIGINS, comma-separated exact origins
}

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv() (Config, error) {
	c := Config{
		TableName:        os.Getenv("TABLE_NAME"),
		KMSKeyID:         os.Getenv("KMS_KEY_ID"),
		MFATokenIssuer:   envOr("MFA_TOKEN_ISSUER", "mfa-service"),
		MFATokenAudience: envOr("MFA_TOKEN_AUDIENCE", "mfa-apps"),
		TOTPIssuer:       envOr("TOTP_ISSUER", "MFA Service"),
		LogLevel:         httpapi.ParseLevel(os.Getenv("LOG_LEVEL")),
		RPID:             os.Getenv("WEBAUTHN_RP_ID"),
		RPName:           envOr("WEBAUTHN_RP_NAME", envOr("PRODUCT_NAME", "MFA Service")),
		Origins:          splitList(os.Getenv("WEBAUTHN_ORIGINS")),
	}
	if c.TableName == "" || c.KMSKeyID == "" {
		return Config{}, fmt.Errorf("app: TABLE_NAME and KMS_KEY_ID must be set")
	}
	ttl, err := envInt("MFA_TOKEN_TTL_SECONDS", 300)
	if err != nil || ttl <= 0 || time.Duration(ttl)*time.Second > token.MaxTTL {
		return Config{}, fmt.Errorf("app: MFA_TOKEN_TTL_SECONDS must be 1..600")
	}
	c.MFATokenTTL = time.Duration(ttl) * time.Second
	days, err := envInt("AUDIT_RETENTION_DAYS", 400)
	if err != nil || days <= 0 {
		return Config{}, fmt.Errorf("app: AUDIT_RETENTION_DAYS must be a positive number")
	}
	c.AuditRetention = time.Duration(days) * 24 * time.Hour
	if c.RememberDeviceDays, err = envInt("REMEMBER_DEVICE_DAYS", 0); err != nil || c.RememberDeviceDays < 0 || c.RememberDeviceDays > 365 {
		return Config{}, fmt.Errorf("app: REMEMBER_DEVICE_DAYS must be 0..365")
	}
	return c, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// App is every capability wired at once: what the local stack, the tests and the bench serve
// from one process. A deployed function builds only what it uses, with the builders of
// builders.go, in its own main.
type App struct {
	*Base
	Store    *dynamostore.Store
	Keyring  *seal.Keyring
	Signer   *token.Signer
	Core     *mfa.Core
	Policies *mfa.Policies

	Enrollments    *mfa.Enrollments
	Factors        *mfa.Factors
	Challenges     *mfa.Challenges
	Deliveries     *mfa.Deliveries
	Verifications  *mfa.Verifications
	Administration *mfa.Administration
	PolicyAdmin    *mfa.PolicyAdmin

	API *httpapi.API
}

// Option adds to what New builds: the adapters that live outside pkg/app (the AWS settings'
// loader, the notifier, the phone parser, passkeys), so that pkg/app imports none of them and
// a function's main imports only those it uses.
type Option func(*options)

type options struct {
	awsConfig  func(context.Context) (aws.Config, error)
	apiOptions []func(*middleware.Stack) error
	notifier   func(aws.Config) (mfa.Notifier, error)
	phones     mfa.PhoneParser
	passkeys   PasskeyBuilder
	metrics    mfa.Metrics
	setMetrics bool
	wrapDB     func(dynamostore.DynamoDB) dynamostore.DynamoDB
}

// WithMetrics sends the service's metrics to m (nil: none). Without it, a function running in
// Lambda writes CloudWatch embedded-metric-format lines to stdout, and other processes none.
func WithMetrics(m mfa.Metrics) Option {
	return func(o *options) { o.metrics, o.setMetrics = m, true }
}

// PasskeyBuilder makes the WebAuthn ceremonies for a relying party (pass passkey.Build).
type PasskeyBuilder func(rpID, rpName string, origins []string) (mfa.Passkeys, error)

// WithPasskeys gives the functions that run WebAuthn ceremonies their relying party. Without
// WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, passkeys are off and the API says so.
func WithPasskeys(build PasskeyBuilder) Option {
	return func(o *options) { o.passkeys = build }
}

// WithAWSConfig says where the AWS settings come from (required): awsenv.Config in a Lambda
// function, which is given everything in its environment, or the SDK's full default chain
// (fullstack) in processes run by people, with profiles and shared files. A function then
// links only the loader it uses: the full chain alone is 1.6 MB.
func WithAWSConfig(load func(context.Context) (aws.Config, error)) Option {
	return func(o *options) { o.awsConfig = load }
}

// FromEnvironment loads the AWS settings of a Lambda function (pass to WithAWSConfig).
func FromEnvironment(context.Context) (aws.Config, error) { return awsenv.Config() }

// WithAPIOptions adds SDK middleware to every client, e.g. to count round trips.
func WithAPIOptions(fns ...func(*middleware.Stack) error) Option {
	return func(o *options) { o.apiOptions = append(o.apiOptions, fns...) }
}

// WithStoreClient wraps the DynamoDB client the store calls, e.g. to time whole calls from
// the caller's side (the SDK builds each call's middleware before any middleware runs).
func WithStoreClient(wrap func(dynamostore.DynamoDB) dynamostore.DynamoDB) Option {
	return func(o *options) { o.wrapDB = wrap }
}

// WithNotifier gives New its notifier of codes and notices, built from the same AWS config as
// every other client (fullstack passes SES and SNS through notify.Domain).
func WithNotifier(build func(aws.Config) (mfa.Notifier, error)) Option {
	return func(o *options) { o.notifier = build }
}

// WithPhoneParser gives the functions that take new phone numbers their parser (pass
// phone.ParseE164).
func WithPhoneParser(p mfa.PhoneParser) Option {
	return func(o *options) { o.phones = p }
}

// New builds every capability (from the loader given with WithAWSConfig; both honour
// AWS_ENDPOINT_URL, which is how a local emulator is reached): the clients, the keyring, the
// signing key and every use-case service, with the adapters the options give (notifier and
// phone parser are required: every service is built).
func New(ctx context.Context, cfg Config, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.awsConfig == nil {
		return nil, fmt.Errorf("app: no AWS config loader (app.WithAWSConfig)")
	}
	if o.notifier == nil || o.phones == nil {
		return nil, fmt.Errorf("app: New builds every service: give it app.WithNotifier and app.WithPhoneParser")
	}
	b, err := Load(ctx, cfg, o.awsConfig, o.apiOptions...)
	if err != nil {
		return nil, err
	}
	b.WrapDB = o.wrapDB
	notifier, err := o.notifier(b.AWS)
	if err != nil {
		return nil, err
	}
	var passkeys mfa.Passkeys
	if o.passkeys != nil {
		if passkeys, err = b.Passkeys(o.passkeys); err != nil {
			return nil, err
		}
	}
	store := b.Store()
	keyring, err := b.Keyring(ctx)
	if err != nil {
		return nil, err
	}
	signer, err := b.Signer(ctx, keyring)
	if err != nil {
		return nil, err
	}
	core := b.Core(keyring)
	if o.setMetrics {
		core.Metrics = o.metrics
	}
	a := &App{Base: b, Store: store, Keyring: keyring, Signer: signer, Core: core, Policies: b.Policies()}
	a.Factors = mfa.NewFactors(core, store, notifier, o.phones)
	a.Enrollments = mfa.NewEnrollments(core, store, keyring, a.Factors, passkeys)
	a.Challenges = mfa.NewChallenges(core, store, passkeys)
	a.Deliveries = mfa.NewDeliveries(core, store, notifier)
	a.Verifications = mfa.NewVerifications(core, store, keyring, signer, passkeys)
	a.Administration = mfa.NewAdministration(core, store, keyring, a.Factors)
	a.PolicyAdmin = mfa.NewPolicyAdmin(core, a.Policies)
	// The same key-set cache as the jwks function's, seeded with the keys just loaded.
	jwks := &keyset.Cache{Source: signingkeys.Reader{DB: b.DB(), Table: cfg.TableName}}
	jwks.Seed(signer.JWKS(), signer.Generations(), time.Now())
	a.API = &httpapi.API{
		Service: httpapi.Services{
			Enrollments: a.Enrollments, Factors: a.Factors, Challenges: a.Challenges, Deliveries: a.Deliveries,
			Verifications: a.Verifications, Administration: a.Administration, PolicyAdmin: a.PolicyAdmin,
		},
		StepUp: signer, JWKS: jwks.Get, Log: b.Log,
	}
	return a, nil
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
