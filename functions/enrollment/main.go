// Command enrollment is the Lambda function serving the enrollment, factor, backup-code and
// trusted-device routes of a user.
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
	"github.com/mfa-service/mfa/pkg/passkey"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table, the unwrapped data key, the signing key (to check step-up tokens), the notifier
	// (codes and notices), the phone parser (new numbers) and the passkey relying party
	// (registrations).
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() httpapi.Handler {
		store := b.Store()
		keyring := app.Must(b.Keyring(ctx))
		signer := app.Must(b.Signer(ctx, keyring))
		core := b.Core(keyring)
		factors := mfa.NewFactors(core, store, app.Must(notify.Domain(b.AWS, notify.ConfigFromEnv(os.Getenv))), phone.ParseE164)
		enrollments := mfa.NewEnrollments(core, store, keyring, factors, app.Must(b.Passkeys(passkey.Build)))
		return httpapi.ForEnrollment(enrollments, factors, signer, b.Log).Enrollment()
	}))
}
