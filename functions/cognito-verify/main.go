// Command cognito-verify is the Cognito VerifyAuthChallengeResponse trigger: checks the answer like the verify route.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	a, err := app.New(context.Background(), cfg, app.WithAWSConfig(app.FromEnvironment), app.WithPasskeys(passkey.Build))
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	triggers := &cognito.Triggers{Service: a.Service, Log: a.Log}
	lambda.Start(triggers.Verify)
}
