// Command cognito-create is the Cognito CreateAuthChallenge trigger: opens a challenge, publishes the factors, sends codes.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key (code and device hashes), the notifier (codes) and the
	// passkey relying party (assertion options). No signing key: this trigger issues and
	// checks no mfaToken.
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() cognito.CreateHandler {
		store := b.Store()
		policyRead := b.ReadPolicyAhead(ctx) // alongside the keys: every request decides by it
		keyring := app.Must(b.Keyring(ctx))
		core := b.Core(keyring)
		challenges := mfa.NewChallenges(core, store, app.Must(b.Passkeys(passkey.Build)))
		deliveries := mfa.NewDeliveries(core, store, app.Must(notify.Domain(b.AWS, notify.ConfigFromEnv(os.Getenv))))
		policyRead()
		return cognito.ForCreate(challenges, deliveries, b.Log).Create
	}))
}
