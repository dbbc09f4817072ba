package api

// Problem is an RFC 9457 problem details body (application/problem+json), as the service
// answers every error. Code is the stable code apps branch on; the extension members
// AttemptsRemaining, Limit and LockedUntil come with verification_failed, send_limited and
// too_many_attempts. Members are in the order the service writes them (alphabetical).
type Problem struct {
	AttemptsRemaining *int   `json:"attemptsRemaining,omitempty"`
	Code              string `json:"code"`
	Detail            string `json:"detail"`
	Field             string `json:"field,omitempty"`    // the request member or parameter at fault
	Instance          string `json:"instance,omitempty"` // urn:request:<request id>
	Limit             string `json:"limit,omitempty"`    // send_limited: challenge, cooldown, user or destination
	// LockedUntil: too_many_attempts: when the lock ends; a NullTime that is zero (null) when
	// only an administrator can unlock. Absent (nil) with other codes.
	LockedUntil *NullTime `json:"lockedUntil,omitempty"`
	Status      int       `json:"status"`
	Title       string    `json:"title"`
	Type        string    `json:"type"` // urn:mfa:problem:<code>
}

// ProblemType is the type URI of a problem code.
func ProblemType(code string) string { return "urn:mfa:problem:" + code }

// ProblemInstance is the instance URI of a request id.
func ProblemInstance(requestID string) string { return "urn:request:" + requestID }
