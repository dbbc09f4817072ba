// Package awsenv builds an aws.Config from the environment alone, which is all a Lambda
// function is given: AWS_REGION, the role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, and the SDK's standard endpoint settings (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_<SERVICE>, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), which is how the local
// stack reaches moto. The SDK's config package would read the same variables, but importing
// it links its whole default chain (shared files, SSO, STS, IMDS: about 1.5 MB a binary), which
// no Lambda function needs. TestMatchesSDKDefaultChain holds the two readings together.
package awsenv

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config reads the environment's AWS settings.
func Config() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("awsenv: AWS_REGION is not set")
	}
	creds := aws.Credentials{
		AccessKeyID:     firstEnv("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
		SecretAccessKey: firstEnv("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		Source:          "EnvConfigCredentials",
	}
	if !creds.HasKeys() {
		return aws.Config{}, errors.New("awsenv: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(staticCredentials(creds)),
		// Each service client resolves AWS_ENDPOINT_URL_<SERVICE> through these.
		ConfigSources: []any{endpoints{}},
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" && !ignoreEndpoints() {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func ignoreEndpoints() bool {
	return strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}

type staticCredentials aws.Credentials

func (c staticCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(c), nil
}

// endpoints answers the services' per-service endpoint lookup, as the SDK's EnvConfig does:
// AWS_ENDPOINT_URL_ and the service id upper-cased with spaces as underscores.
type endpoints struct{}

func (endpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	v := os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	return ignoreEndpoints(), v != "", nil
}

func (endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if ignoreEndpoints() {
		return "", false, nil
	}
	v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return v, v != "", nil
}
