// Command verify is the Lambda function serving the verification route.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key (TOTP secrets, code hashes), the signing key (mfaTokens)
	// and the passkey relying party. No notifier: this function sends nothing.
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() httpapi.Handler {
		store := b.Store()
		keyring := app.Must(b.Keyring(ctx))
		signer := app.Must(b.Signer(ctx, keyring))
		verification := mfa.NewVerifications(b.Core(keyring), store, keyring, signer, app.Must(b.Passkeys(passkey.Build)))
		return httpapi.ForVerify(verification, signer, b.Log).Verify()
	}))
}
