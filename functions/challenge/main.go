// Command challenge is the Lambda function serving the challenge routes: challenges, their
// code deliveries and the skipped enrollment prompt.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key (code and device hashes), the signing key (to check
	// step-up tokens), the notifier (codes, to destinations parsed when they were bound) and
	// the passkey relying party (assertion options).
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() httpapi.Handler {
		store := b.Store()
		policyRead := b.ReadPolicyAhead(ctx) // alongside the keys: every request decides by it
		keyring := app.Must(b.Keyring(ctx))
		signer := app.Must(b.Signer(ctx, keyring))
		core := b.Core(keyring)
		challenges := mfa.NewChallenges(core, store, app.Must(b.Passkeys(passkey.Build)))
		deliveries := mfa.NewDeliveries(core, store, app.Must(notify.Domain(b.AWS, notify.ConfigFromEnv(os.Getenv))))
		policyRead()
		return httpapi.ForChallenge(challenges, deliveries, signer, b.Log).Challenge()
	}))
}
