package app

import (
	"context"
	"os"
)

// Prepare builds a function's handler with build and returns the handler to give the Lambda
// runtime (lambda.Start).
//
// On an on-demand cold start an invocation is waiting for the function. build then runs
// while the runtime client fetches and decodes that invocation, and the invocation waits for
// the handler where it needs it: the AWS calls of a cold start (the keys' Query, the data
// key's unwrap, a policy read) overlap the runtime's own start instead of preceding it.
// An environment initialised ahead of its invocations (provisioned concurrency, SnapStart,
// managed instances: AWS_LAMBDA_INITIALIZATION_TYPE) builds first, at init, as nothing is
// waiting there and Lambda may freeze it as soon as it asks for its first invocation.
//
// Lambda may also initialise an on-demand environment before an invocation arrives and freeze
// it at its first poll: the build then finishes when the environment thaws, its calls retried
// by the SDK (and pkg/kmsclient) if their connections did not survive.
//
// build ends the process on a failure (Must), as a failed init does; on demand that happens
// during the first invocation, which fails, and Lambda starts the function again.
func Prepare[H ~func(context.Context, E) (R, error), E, R any](build func() H) H {
	switch os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") {
	case "", "on-demand":
	default:
		return build()
	}
	var h H
	ready := make(chan struct{})
	go func() {
		h = build()
		close(ready)
	}()
	return H(func(ctx context.Context, e E) (R, error) {
		select {
		case <-ready:
		case <-ctx.Done():
			var zero R
			return zero, ctx.Err()
		}
		return h(ctx, e)
	})
}
