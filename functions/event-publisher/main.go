// Command event-publisher is the Lambda function that publishes security events: the table's
// DynamoDB stream in, EventBridge PutEvents out. It links no KMS, WebAuthn or phone code.
package main

import (
	"log/slog"
	"os"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/awsenv"
	"github.com/mfa-service/mfa/pkg/eventpublisher"
)

func main() {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))) // unset or unknown: INFO
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	bus := os.Getenv("EVENT_BUS_NAME")
	if bus == "" {
		bus = "default"
	}
	// The client is built once, at cold start, from the environment Lambda gives it.
	cfg, err := awsenv.Config()
	var bridge *eventsclient.Client
	if err == nil {
		bridge, err = eventsclient.New(cfg)
	}
	if err != nil {
		log.Error("aws config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	p := eventpublisher.New(bridge, bus, eventpublisher.WithLogger(log))
	lambda.Start(p.Handle)
}
