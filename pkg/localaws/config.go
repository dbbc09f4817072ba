package localaws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every local resource lives in.
const Region = "us-east-1"

// AWSConfig returns an SDK config that sends every service to endpoint (a moto server) with
// moto's conventional test/test credentials, so nothing local can act on a real account.
func AWSConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(endpoint),
	)
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		// The SDK insists on a named profile existing even though nothing here uses it.
		return aws.Config{}, fmt.Errorf("localaws: aws config for %s: %w (local AWS needs no profile: unset AWS_PROFILE)", endpoint, err)
	}
	if err != nil {
		return aws.Config{}, fmt.Errorf("localaws: aws config for %s: %w", endpoint, err)
	}
	return cfg, nil
}
