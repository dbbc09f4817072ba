package httpapi

import (
	"log/slog"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// Services are the domain's use cases behind the routes. A function's handler is built with
// the services its own routes call (ForEnrollment, ForChallenge, ForVerify, ForAdmin); the
// local stack, which serves every route, sets them all.
type Services struct {
	*mfa.Enrollments
	*mfa.Factors
	*mfa.Challenges
	*mfa.Deliveries
	*mfa.Verifications
	*mfa.Administration
	*mfa.PolicyAdmin
}

// ForEnrollment is the API of the enrollment function: enrollments, the user's factors,
// backup codes and trusted devices. Serve it with Enrollment.
func ForEnrollment(e *mfa.Enrollments, f *mfa.Factors, stepUp StepUpVerifier, log *slog.Logger) *API {
	return &API{Service: Services{Enrollments: e, Factors: f}, StepUp: stepUp, Log: log}
}

// ForChallenge is the API of the challenge function: challenges and their code deliveries.
// Serve it with Challenge.
func ForChallenge(c *mfa.Challenges, d *mfa.Deliveries, stepUp StepUpVerifier, log *slog.Logger) *API {
	return &API{Service: Services{Challenges: c, Deliveries: d}, StepUp: stepUp, Log: log}
}

// ForVerify is the API of the verify function. Serve it with Verify.
func ForVerify(v *mfa.Verifications, stepUp StepUpVerifier, log *slog.Logger) *API {
	return &API{Service: Services{Verifications: v}, StepUp: stepUp, Log: log}
}

// ForAdmin is the API of the admin function: users and policies. Serve it with Admin.
func ForAdmin(a *mfa.Administration, p *mfa.PolicyAdmin, stepUp StepUpVerifier, log *slog.Logger) *API {
	return &API{Service: Services{Administration: a, PolicyAdmin: p}, StepUp: stepUp, Log: log}
}
