// Command ui is the Lambda function serving the reference web pages (sign-in challenge,
// enrollment, account security) and their assets, all embedded in the binary.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/webui"
)

func main() {
	var level slog.Level // INFO unless LOG_LEVEL names another
	_ = level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL")))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := webui.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	cfg.Log = log
	// The pages are rendered once, at cold start. This function needs no AWS client: the
	// pages call the API from the browser with the user's own token.
	ui, err := webui.New(cfg)
	if err != nil {
		log.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(ui.Handle)
}
