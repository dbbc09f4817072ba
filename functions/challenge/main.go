// Command challenge is the Lambda function serving the challenge route.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// Clients, the unwrapped data key and the signing key are built once, at cold start.
	// This function sends codes (to destinations parsed when they were bound) and begins
	// passkey assertions.
	a, err := app.New(context.Background(), cfg, app.WithAWSConfig(app.FromEnvironment), app.WithNotifier(notify.FromAWS), app.WithPasskeys(passkey.Build), app.WithPolicyWarmUp())
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(a.API.Challenge())
}
