// Command verify is the Lambda function serving the verification route.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
)

func main() {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		slog.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// Clients, the unwrapped data key and the signing key are built once, at cold start.
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		slog.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(a.API.Verify())
}
