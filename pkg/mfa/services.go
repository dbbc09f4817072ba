package mfa

// The use cases of the domain, one service each. A service holds the shared Core and exactly
// the ports it calls, given to its constructor: a function that lacks an adapter a service
// needs does not compile. Passkeys may be nil (the deployment has no relying party: the API
// says passkeys are not configured); Core.Metrics may be nil (nothing is counted).
//
//	Enrollments    start and complete the binding of a factor           (enrollment function)
//	Factors        a user's own factors, backup codes, trusted devices   (enrollment function)
//	Decider        the policy applied to a sign-in, nothing stored       (Cognito define)
//	Challenges     open a challenge, skip the enrollment prompt          (challenge, Cognito create)
//	Deliveries     send a challenge's email or SMS code                  (challenge, Cognito create)
//	Verifications  check an answer, through the regulator; the mfaToken  (verify, Cognito verify)
//	Administration the admin routes on users: bind, reset, unlock, audit (admin function)
//	PolicyAdmin    the admin routes on the global and organization policies (admin function)

// Enrollments starts and completes the binding of a new factor: TOTP secrets, passkey
// registrations, email and SMS codes. A verified factor is bound through Factors.
type Enrollments struct {
	*Core
	Store    EnrollmentStore
	Sealer   Sealer
	Notifier Notifier // the enrollment codes (the same as Factors')
	Passkeys Passkeys // nil: passkeys are off
	Factors  *Factors
}

// NewEnrollments is the enrollment service. It binds through factors and sends its codes with
// factors' notifier; passkeys nil means passkeys are off.
func NewEnrollments(core *Core, store EnrollmentStore, sealer Sealer, factors *Factors, passkeys Passkeys) *Enrollments {
	return &Enrollments{Core: core, Store: store, Sealer: sealer, Notifier: factors.Notifier, Passkeys: passkeys, Factors: factors}
}

// Factors is what a user (or a service on their behalf) does with bound factors: list, rename
// and remove them, renew backup codes, list and revoke trusted devices. It also binds a
// factor once enrollment or an admin has vouched for it, and tells the user at every address.
type Factors struct {
	*Core
	Store    FactorStore
	Notifier Notifier    // security notices
	Phones   PhoneParser // new numbers being bound
}

// NewFactors is the factor-management service.
func NewFactors(core *Core, store FactorStore, notifier Notifier, phones PhoneParser) *Factors {
	return &Factors{Core: core, Store: store, Notifier: notifier, Phones: phones}
}

// Decider applies the policy to a sign-in without storing anything (Preview).
type Decider struct {
	*Core
	Store ProfileReader
}

// NewDecider is the sign-in decision alone, for the Cognito define trigger.
func NewDecider(core *Core, store ProfileReader) *Decider {
	return &Decider{Core: core, Store: store}
}

// Challenges opens challenges: the decision of Decider, stored with the factors it offers.
type Challenges struct {
	*Decider
	Store    ChallengeStore
	Passkeys Passkeys // nil: passkeys are off, no assertion options are sent
}

// NewChallenges is the challenge service; passkeys nil means passkeys are off.
func NewChallenges(core *Core, store ChallengeStore, passkeys Passkeys) *Challenges {
	return &Challenges{Decider: NewDecider(core, store), Store: store, Passkeys: passkeys}
}

// Deliveries sends the email and SMS codes of open challenges, within the send limits.
type Deliveries struct {
	*Core
	Store    DeliveryStore
	Notifier Notifier
}

// NewDeliveries is the code-delivery service.
func NewDeliveries(core *Core, store DeliveryStore, notifier Notifier) *Deliveries {
	return &Deliveries{Core: core, Store: store, Notifier: notifier}
}

// Verifications checks answers to challenges through the regulator (regulator.go) and issues
// the mfaToken of a success.
type Verifications struct {
	*Core
	Store    VerificationStore
	Sealer   Sealer
	Tokens   TokenIssuer
	Passkeys Passkeys // nil: passkeys are off
}

// NewVerifications is the verification service; passkeys nil means passkeys are off.
func NewVerifications(core *Core, store VerificationStore, sealer Sealer, tokens TokenIssuer, passkeys Passkeys) *Verifications {
	return &Verifications{Core: core, Store: store, Sealer: sealer, Tokens: tokens, Passkeys: passkeys}
}

// Administration is the admin routes on users: bind on an admin's authority, status, removal,
// reset, unlock, devices, audit events and the user directory.
type Administration struct {
	*Core
	Store   AdminStore
	Sealer  Sealer   // migrated or generated TOTP secrets
	Factors *Factors // binds, removes and notifies as for the user
}

// NewAdministration is the admin service on users.
func NewAdministration(core *Core, store AdminStore, sealer Sealer, factors *Factors) *Administration {
	return &Administration{Core: core, Store: store, Sealer: sealer, Factors: factors}
}

// PolicyAdmin is the admin routes on the stored policies.
type PolicyAdmin struct {
	*Core
	Policies *Policies
}

// NewPolicyAdmin is the admin service on policies.
func NewPolicyAdmin(core *Core, policies *Policies) *PolicyAdmin {
	return &PolicyAdmin{Core: core, Policies: policies}
}
