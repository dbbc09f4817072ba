// Command verify is the Lambda function serving the verification route.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// Clients, the unwrapped data key and the signing key are built once, at cold start.
	// This function finishes passkey assertions.
	a, err := app.New(context.Background(), cfg, app.WithAWSConfig(app.FromEnvironment), app.WithPasskeys(passkey.Build))
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(a.API.Verify())
}
