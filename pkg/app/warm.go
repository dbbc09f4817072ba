package app

import "context"

// ReadPolicyAhead starts reading the global policy into the container's policy cache and
// returns a function that waits for the read. The functions whose every request decides by
// the policy (challenge, Cognito define and create) call it before Keyring, so that the read
// overlaps the key Query and the KMS Decrypt instead of following them in the first request,
// and wait before they start serving, so that nothing started at init outlives it. Functions
// that never read the policy (verify) do not call it. A failed read is not an init error: the
// cache stays empty and the first request reads again.
func (b *Base) ReadPolicyAhead(ctx context.Context) (wait func()) {
	policies := b.Policies()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = policies.Resolve(ctx, "")
	}()
	return func() { <-done }
}
