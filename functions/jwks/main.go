// Command jwks is the Lambda function serving the public JWKS route: the public signing keys,
// read from the table (stored in clear) with one Query. No KMS, no data key, no domain.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/awsenv"
	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/dynamostore/signingkeys"
	"github.com/mfa-service/mfa/pkg/keyset"
)

func main() {
	var level slog.Level // INFO unless LOG_LEVEL names another
	_ = level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL")))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	table := os.Getenv("TABLE_NAME")
	awsCfg, err := awsenv.Config()
	var db *dynamoclient.Client
	if err == nil {
		db, err = dynamoclient.New(awsCfg)
	}
	if err != nil || table == "" {
		log.Error("config", slog.Any("error", err), slog.String("table", table))
		os.Exit(1)
	}
	// Built once, at cold start: the DynamoDB client. The keys are read on the first request
	// and then at most once a minute.
	keys := &keyset.Cache{Source: signingkeys.Reader{DB: db, Table: table}}
	lambda.Start(keyset.Handler(keys, log))
}
