package kmsclient

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mfa-service/mfa/pkg/awsenv"
)

// The regional endpoint is the one the SDK's KMS endpoint rules give, in every partition.
func TestRegionalEndpointsAreTheSDKs(t *testing.T) {
	resolver := kms.NewDefaultEndpointResolverV2()
	for _, region := range []string{
		"us-east-1", "eu-west-1", "ap-southeast-7", "mx-central-1", "il-central-1", "ca-west-1",
		"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
		"us-iso-east-1", "us-isob-east-1", "us-isof-south-1", "eu-isoe-west-1", "eusc-de-east-1",
		"eu-central-9", "ap-south-99", // not yet known to the SDK: by its partition's pattern
	} {
		ep, err := resolver.ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if got := regionalEndpoint(region); got != ep.URI.String() {
			t.Errorf("%s: %s, the SDK's %s", region, got, ep.URI.String())
		}
	}
}

// The endpoint configured in the environment wins as it does for the SDK's KMS client:
// AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL over the regional one, none of them when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func TestConfiguredEndpointIsTheSDKs(t *testing.T) {
	names := []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"}
	for _, env := range []map[string]string{
		{},
		{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
		{"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567"},
		{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567/"},
		{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
	} {
		for _, name := range names {
			t.Setenv(name, "")
			if v, ok := env[name]; ok {
				t.Setenv(name, v)
			} else {
				os.Unsetenv(name)
			}
		}
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		cfg, err := awsenv.Config()
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := regionalEndpoint("eu-west-1")
		if base := kms.NewFromConfig(cfg).Options().BaseEndpoint; base != nil {
			want = *base
		}
		if c.endpoint != strings.TrimSuffix(want, "/")+"/" {
			t.Errorf("%v: endpoint %q, the SDK's %q", env, c.endpoint, want)
		}
	}
}

func TestRegionIsAHostLabel(t *testing.T) {
	for _, r := range []string{"", "eu-west-1.evil.example", "eu west", "-eu", "eu/", strings.Repeat("a", 64)} {
		if _, err := New(aws.Config{Region: r, Credentials: aws.AnonymousCredentials{}}); err == nil {
			t.Errorf("region %q accepted", r)
		}
	}
	if _, err := New(aws.Config{Region: "eu-west-1"}); err == nil {
		t.Error("no credentials accepted")
	}
}
