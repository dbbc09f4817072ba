// Command audit-writer is the Lambda function that copies into the audit log the audit events
// riding on writes of users' state (an answer to a challenge is one write of one item): the
// table's DynamoDB stream in, BatchWriteItem of the audit items out. It links no KMS,
// WebAuthn, phone or domain code.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/auditwriter"
	"github.com/mfa-service/mfa/pkg/awsenv"
	"github.com/mfa-service/mfa/pkg/dynamoclient"
)

func main() {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))) // unset or unknown: INFO
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		log.Error("TABLE_NAME is not set")
		os.Exit(1)
	}
	// The client is built once, at cold start, from the environment Lambda gives it.
	cfg, err := awsenv.Config()
	var db *dynamoclient.Client
	if err == nil {
		db, err = dynamoclient.New(cfg)
	}
	if err != nil {
		log.Error("aws config", slog.String("error", err.Error()))
		os.Exit(1)
	}
	w := auditwriter.New(db, table, auditwriter.WithLogger(log))
	lambda.Start(w.Handle)
}
