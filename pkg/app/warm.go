package app

import (
	"context"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// WithPolicyWarmUp reads the global policy into the container's policy cache at cold start,
// alongside the keys, for the functions whose every request decides by it (challenge,
// Cognito define and create): the read then overlaps the key Query and the KMS Decrypt
// instead of following them in the first request. Functions that never read the policy
// (verify) do not pay for it.
func WithPolicyWarmUp() Option {
	return func(o *options) { o.warmPolicy = true }
}

// warmPolicies starts reading the global policy and returns a function that waits for the
// read, so that nothing started at init outlives it. A failed read is not an init error:
// the cache stays empty and the first request reads again.
func warmPolicies(ctx context.Context, p *mfa.Policies) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Resolve(ctx, "")
	}()
	return func() { <-done }
}
