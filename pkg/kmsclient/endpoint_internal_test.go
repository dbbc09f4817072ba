package kmsclient

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mfa-service/mfa/pkg/awsenv"
)

// The regional endpoint is the one the SDK's KMS endpoint rules give, in every partition, with
// and without FIPS and dual stack.
func TestRegionalEndpointsAreTheSDKs(t *testing.T) {
	resolver := kms.NewDefaultEndpointResolverV2()
	for _, region := range []string{
		"us-east-1", "eu-west-1", "ap-southeast-7", "mx-central-1", "il-central-1", "ca-west-1",
		"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
		"us-iso-east-1", "us-isob-east-1", "us-isof-south-1", "eu-isoe-west-1", "eusc-de-east-1",
		"eu-central-9", "ap-south-99", // not yet known to the SDK: by its partition's pattern
	} {
		for _, v := range []struct{ fips, dual bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			ep, err := resolver.ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(v.fips), UseDualStack: aws.Bool(v.dual)})
			if err != nil {
				t.Fatalf("%s %+v: %v", region, v, err)
			}
			if got := regionalEndpoint(region, v.fips, v.dual); got != ep.URI.String() {
				t.Errorf("%s %+v: %s, the SDK's %s", region, v, got, ep.URI.String())
			}
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
		want := regionalEndpoint("eu-west-1", false, false)
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

// The FIPS and dual-stack settings the SDK's configuration reads (AWS_USE_FIPS_ENDPOINT,
// AWS_USE_DUALSTACK_ENDPOINT) choose the endpoint variant, as they do for the SDK's client.
func TestEndpointVariantsFromTheConfig(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"AWS_USE_FIPS_ENDPOINT": "true"},
		{"AWS_USE_DUALSTACK_ENDPOINT": "true"},
		{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
	} {
		for _, name := range []string{"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
		for k, v := range env {
			t.Setenv(k, v)
		}
		t.Setenv("AWS_CONFIG_FILE", os.DevNull)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
		t.Setenv("AWS_REGION", "us-gov-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		cfg, err := config.LoadDefaultConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		o := kms.NewFromConfig(cfg).Options()
		ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), kms.EndpointParameters{
			Region:       aws.String(o.Region),
			UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := ep.URI.String() + "/"; c.endpoint != want {
			t.Errorf("%v: endpoint %q, the SDK's %q", env, c.endpoint, want)
		}
	}
}
