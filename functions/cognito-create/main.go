// Command cognito-create is the Cognito CreateAuthChallenge trigger: opens a challenge, publishes the factors, sends codes.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	a, err := app.New(context.Background(), cfg, app.WithAWSConfig(app.FromEnvironment), app.WithNotifier(notify.FromAWS), app.WithPasskeys(passkey.Build), app.WithPolicyWarmUp())
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	triggers := &cognito.Triggers{Service: a.Service, Log: a.Log}
	lambda.Start(triggers.Create)
}
