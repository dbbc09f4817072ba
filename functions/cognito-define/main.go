// Command cognito-define is the Cognito DefineAuthChallenge trigger: password first, then MFA when the policy asks for it.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/cognito"
	"github.com/mfa-service/mfa/pkg/mfa"
)

func main() {
	ctx := context.Background()
	// Built once, at cold start (while the runtime takes the first event: app.Prepare): the
	// table and the unwrapped data key (trusted-device hashes). No signing key, notifier or
	// passkeys: this trigger only decides.
	b := app.Must(app.Load(ctx, app.Must(app.ConfigFromEnv()), app.FromEnvironment))
	lambda.Start(app.Prepare(func() cognito.DefineHandler {
		policyRead := b.ReadPolicyAhead(ctx) // alongside the keys: every request decides by it
		keyring := app.Must(b.Keyring(ctx))
		decider := mfa.NewDecider(b.Core(keyring), b.Store())
		policyRead()
		return cognito.ForDefine(decider, b.Log).Define
	}))
}
