// Command cognito-verify is the Cognito VerifyAuthChallengeResponse trigger: checks the answer like the verify route.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key, the signing key (a success issues an mfaToken, as the
	// verify route's does) and the passkey relying party. No notifier: this trigger sends
	// nothing.
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() cognito.VerifyHandler {
		store := b.Store()
		keyring := app.Must(b.Keyring(ctx))
		signer := app.Must(b.Signer(ctx, keyring))
		verification := mfa.NewVerifications(b.Core(keyring), store, keyring, signer, app.Must(b.Passkeys(passkey.Build)))
		return cognito.ForVerify(verification, b.Log).Verify
	}))
}
