package awsapi

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/mfa-service/mfa/pkg/awsenv"
)

// sdkService is a service as this package names it, and the SDK's client of it: its endpoint
// rules and the base endpoint its constructor takes from a config.
type sdkService struct {
	Service
	// resolve is the SDK's endpoint rules for the region and variants.
	resolve func(region string, fips, dualStack bool) (string, error)
	// resolveFor is the SDK's endpoint for a client made from cfg (its options' region,
	// variants and base endpoint).
	resolveFor func(cfg aws.Config) (string, error)
}

// The services the repository's clients call (pkg/kmsclient, pkg/sesclient, pkg/snsclient),
// named as they name them.
var services = []sdkService{
	{
		Service: Service{ID: kms.ServiceID, SigningName: "kms", HostPrefix: "kms"},
		resolve: func(region string, fips, dual bool) (string, error) {
			ep, err := kms.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
			return ep.URI.String(), err
		},
		resolveFor: func(cfg aws.Config) (string, error) {
			o := kms.NewFromConfig(cfg).Options()
			ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), kms.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
			return ep.URI.String(), err
		},
	},
	{
		Service: Service{ID: sesv2.ServiceID, SigningName: "ses", HostPrefix: "email"},
		resolve: func(region string, fips, dual bool) (string, error) {
			ep, err := sesv2.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), sesv2.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
			return ep.URI.String(), err
		},
		resolveFor: func(cfg aws.Config) (string, error) {
			o := sesv2.NewFromConfig(cfg).Options()
			ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), sesv2.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
			return ep.URI.String(), err
		},
	},
	{
		Service: Service{ID: sns.ServiceID, SigningName: "sns", HostPrefix: "sns", RegionalFIPS: []string{"us-gov-east-1", "us-gov-west-1"}},
		resolve: func(region string, fips, dual bool) (string, error) {
			ep, err := sns.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), sns.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
			return ep.URI.String(), err
		},
		resolveFor: func(cfg aws.Config) (string, error) {
			o := sns.NewFromConfig(cfg).Options()
			ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), sns.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
			return ep.URI.String(), err
		},
	},
	{
		Service: Service{ID: dynamodb.ServiceID, SigningName: "dynamodb", HostPrefix: "dynamodb", RegionalFIPS: []string{"us-gov-east-1", "us-gov-west-1"}},
		resolve: func(region string, fips, dual bool) (string, error) {
			ep, err := dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), dynamodb.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
			return ep.URI.String(), err
		},
		resolveFor: func(cfg aws.Config) (string, error) {
			o := dynamodb.NewFromConfig(cfg).Options()
			ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), dynamodb.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
			return ep.URI.String(), err
		},
	},
	{
		Service: Service{ID: eventbridge.ServiceID, SigningName: "events", HostPrefix: "events", RegionalFIPS: []string{"us-gov-east-1", "us-gov-west-1"}, RegionalFIPSDualStack: []string{"us-gov-east-1", "us-gov-west-1"}},
		resolve: func(region string, fips, dual bool) (string, error) {
			ep, err := eventbridge.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), eventbridge.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
			return ep.URI.String(), err
		},
		resolveFor: func(cfg aws.Config) (string, error) {
			o := eventbridge.NewFromConfig(cfg).Options()
			ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), eventbridge.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
			return ep.URI.String(), err
		},
	},
}

// The regional endpoint is the one the SDK's endpoint rules give, for each service, in every
// partition, with and without FIPS and dual stack.
func TestRegionalEndpointsAreTheSDKs(t *testing.T) {
	for _, s := range services {
		for _, region := range []string{
			"us-east-1", "eu-west-1", "ap-southeast-7", "mx-central-1", "il-central-1", "ca-west-1",
			"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
			"us-iso-east-1", "us-isob-east-1", "us-isof-south-1", "eu-isoe-west-1", "eusc-de-east-1",
			"eu-central-9", "ap-south-99", // not yet known to the SDK: by its partition's pattern
		} {
			for _, v := range []struct{ fips, dual bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
				want, err := s.resolve(region, v.fips, v.dual)
				if err != nil {
					t.Fatalf("%s %s %+v: %v", s.ID, region, v, err)
				}
				if got := regionalEndpoint(s.Service, region, v.fips, v.dual); got != want {
					t.Errorf("%s %s %+v: %s, the SDK's %s", s.ID, region, v, got, want)
				}
			}
		}
	}
}

// clearEnv unsets names for the test (t.Setenv restores them after).
func clearEnv(t *testing.T, names ...string) {
	for _, name := range names {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// environment is where a client's endpoint is compared with the SDK's: the variables it
// unsets, those it sets after each case's own (with static credentials always), and how a
// config is read from them.
type environment struct {
	unset []string
	set   map[string]string
	load  func() (aws.Config, error)
}

// loadDefaultConfig reads a config as the SDK's default chain does (profiles too).
func loadDefaultConfig() (aws.Config, error) { return config.LoadDefaultConfig(context.Background()) }

// endpoints sets up e, env's variables before e's own, and returns the endpoint of s's
// client made from the config e reads, and the SDK's client's endpoint for the same config.
func (e environment) endpoints(t *testing.T, s sdkService, env map[string]string) (ours, sdks string) {
	t.Helper()
	clearEnv(t, e.unset...)
	for k, v := range env {
		t.Setenv(k, v)
	}
	for k, v := range e.set {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := e.load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, s.Service)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.resolveFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c.endpoint, want
}

// The endpoint configured in the environment wins as it does for the SDK's client of each
// service: its own AWS_ENDPOINT_URL_<ID> over AWS_ENDPOINT_URL over the regional one, the
// other service's variable not at all, none of them when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
// is true.
func TestConfiguredEndpointIsTheSDKs(t *testing.T) {
	names := []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"}
	fromEnv := environment{unset: names, set: map[string]string{"AWS_REGION": "eu-west-1"}, load: awsenv.Config}
	for _, s := range services {
		own := endpointVariable(s.ID)
		if !strings.HasPrefix(own, "AWS_ENDPOINT_URL_") || !slices.Contains(names, own) {
			t.Fatalf("%s: its endpoint variable %s is not tested", s.ID, own)
		}
		for _, env := range []map[string]string{
			{},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
			{"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567"},
			{"AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:4568"},
			{"AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:4569"},
			{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4570"},
			{"AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4574"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567/"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4570/"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4574/"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:4568/"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:4569/"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:4568", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:4569", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4570", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4574", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
		} {
			if ours, sdks := fromEnv.endpoints(t, s, env); ours != strings.TrimSuffix(sdks, "/") {
				t.Errorf("%s %v: endpoint %q, the SDK's %q", s.ID, env, ours, sdks)
			}
		}
	}
}

// A profile's services section names each service's endpoint too; AWS_ENDPOINT_URL alone
// (without the service's own variable) overrides it, as it does for the SDK's clients.
func TestProfileEndpointIsTheSDKs(t *testing.T) {
	names := []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"}
	profile := filepath.Join(t.TempDir(), "config")
	err := os.WriteFile(profile, []byte("[default]\nservices = local\n\n[services local]\n"+
		"kms =\n  endpoint_url = http://127.0.0.1:4571\nsesv2 =\n  endpoint_url = http://127.0.0.1:4572\nsns =\n  endpoint_url = http://127.0.0.1:4573\n"+
		"dynamodb =\n  endpoint_url = http://127.0.0.1:4575\neventbridge =\n  endpoint_url = http://127.0.0.1:4576\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	withProfile := environment{unset: names, load: loadDefaultConfig, set: map[string]string{
		"AWS_CONFIG_FILE": profile, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_REGION": "eu-west-1",
	}}
	for _, s := range services {
		for _, env := range []map[string]string{
			{},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
			{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4567", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:4568", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:4569",
				"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4570", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4574"},
			{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
		} {
			if ours, sdks := withProfile.endpoints(t, s, env); ours != strings.TrimSuffix(sdks, "/") {
				t.Errorf("%s %v: endpoint %q, the SDK's %q", s.ID, env, ours, sdks)
			}
		}
	}
}

// The FIPS and dual-stack settings the SDK's configuration reads (AWS_USE_FIPS_ENDPOINT,
// AWS_USE_DUALSTACK_ENDPOINT) choose the endpoint variant, as they do for the SDK's clients.
func TestEndpointVariantsFromTheConfig(t *testing.T) {
	withoutProfile := environment{
		unset: []string{"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"},
		set:   map[string]string{"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_REGION": "us-gov-west-1"},
		load:  loadDefaultConfig,
	}
	for _, s := range services {
		for _, env := range []map[string]string{
			{},
			{"AWS_USE_FIPS_ENDPOINT": "true"},
			{"AWS_USE_DUALSTACK_ENDPOINT": "true"},
			{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
		} {
			if ours, sdks := withoutProfile.endpoints(t, s, env); ours != sdks {
				t.Errorf("%s %v: endpoint %q, the SDK's %q", s.ID, env, ours, sdks)
			}
		}
	}
}

func TestRegionIsAHostLabel(t *testing.T) {
	for _, s := range services {
		for _, r := range []string{"", "eu-west-1.evil.example", "eu west", "-eu", "eu/", strings.Repeat("a", 64)} {
			if _, err := New(aws.Config{Region: r, Credentials: aws.AnonymousCredentials{}}, s.Service); err == nil {
				t.Errorf("%s: region %q accepted", s.ID, r)
			}
		}
		if _, err := New(aws.Config{Region: "eu-west-1"}, s.Service); err == nil {
			t.Errorf("%s: no credentials accepted", s.ID)
		}
		if _, err := New(aws.Config{Region: "eu-west-1", Credentials: aws.AnonymousCredentials{}}, s.Service); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
	}
}
