package localaws

import (
	"strings"
	"testing"
)

func TestAWSConfigPointsAtTheEndpoint(t *testing.T) {
	cfg, err := AWSConfig(t.Context(), "http://127.0.0.1:4566")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != Region || cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:4566" {
		t.Errorf("region %q, endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "test" || creds.SecretAccessKey != "test" || creds.SessionToken != "" {
		t.Errorf("credentials = %+v, want test/test", creds)
	}
}

func TestAWSConfigExplainsAMissingProfile(t *testing.T) {
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	_, err := AWSConfig(t.Context(), "http://127.0.0.1:4566")
	if err == nil || !strings.Contains(err.Error(), "unset AWS_PROFILE") {
		t.Errorf("err = %v, want advice to unset AWS_PROFILE", err)
	}
}
