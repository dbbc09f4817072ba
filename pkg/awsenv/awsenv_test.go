package awsenv_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mfa-service/mfa/pkg/awsenv"
)

// TestMatchesSDKDefaultChain: for the settings a Lambda function (or the local stack) has,
// a DynamoDB client built from awsenv.Config has the region, endpoint and credentials that
// one built by the SDK's default chain has.
func TestMatchesSDKDefaultChain(t *testing.T) {
	cases := map[string]map[string]string{
		"lambda":                     {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session"},
		"default region, no session": {"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"},
		"local endpoint": {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
			"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
		"service endpoint wins": {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
			"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:5000"},
		"endpoints ignored": {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
			"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
	}
	all := []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE"}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			for _, k := range all {
				t.Setenv(k, env[k])
			}
			ours, err := awsenv.Config()
			if err != nil {
				t.Fatal(err)
			}
			sdk, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			a, b := dynamodb.NewFromConfig(ours).Options(), dynamodb.NewFromConfig(sdk).Options()
			if a.Region != b.Region || aws.ToString(a.BaseEndpoint) != aws.ToString(b.BaseEndpoint) {
				t.Errorf("region %q endpoint %q; the SDK's chain: %q %q", a.Region, aws.ToString(a.BaseEndpoint), b.Region, aws.ToString(b.BaseEndpoint))
			}
			ca, err := a.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			cb, err := b.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ca.AccessKeyID != cb.AccessKeyID || ca.SecretAccessKey != cb.SecretAccessKey || ca.SessionToken != cb.SessionToken {
				t.Errorf("credentials differ from the SDK's chain")
			}
		})
	}
}

func TestMissingSettingsFail(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"} {
		t.Setenv(k, "")
	}
	if _, err := awsenv.Config(); err == nil {
		t.Fatal("no region: want an error")
	}
	t.Setenv("AWS_REGION", "us-east-1")
	if _, err := awsenv.Config(); err == nil {
		t.Fatal("no credentials: want an error")
	}
}
