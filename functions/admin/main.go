// Command admin is the Lambda function serving the admin routes (scope mfa/admin): users and
// policies.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/notify"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key, the signing key (to check step-up tokens), the notifier
	// (users' notices) and the phone parser (admins bind new numbers and search the directory
	// by number). No passkeys: only their owner registers one.
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() httpapi.Handler {
		store := b.Store()
		keyring := app.Must(b.Keyring(ctx))
		signer := app.Must(b.Signer(ctx, keyring))
		core := b.Core(keyring)
		factors := mfa.NewFactors(core, store, app.Must(notify.Domain(b.AWS, notify.ConfigFromEnv(os.Getenv))), phone.ParseE164)
		admin := mfa.NewAdministration(core, store, keyring, factors)
		policies := mfa.NewPolicyAdmin(core, b.Policies())
		return httpapi.ForAdmin(admin, policies, signer, b.Log).Admin()
	}))
}
