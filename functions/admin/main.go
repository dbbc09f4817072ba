// Command admin is the Lambda function serving the admin routes (scope mfa/admin).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/notify"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// Clients, the unwrapped data key and the signing key are built once, at cold start.
	// Admins bind email and SMS factors (new numbers) and users get notices.
	a, err := app.New(context.Background(), cfg, app.WithAWSConfig(app.FromEnvironment), app.WithNotifier(notify.FromAWS), app.WithPhoneParser(phone.ParseE164))
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(a.API.Admin())
}
