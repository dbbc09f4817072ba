// Package passkey runs WebAuthn ceremonies with github.com/go-webauthn/webauthn for the MFA
// domain: it parses the browser's response, then validates it against the server-side session
// (single use, expiring) with an exact origin allow-list and RP ID. Sessions and credential
// records cross into the domain as opaque JSON.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// Config names the relying party.
type Config struct {
	RPID        string   // WEBAUTHN_RP_ID, e.g. "example.com"; "localhost" locally
	RPName      string   // WEBAUTHN_RP_NAME, shown by authenticators
	Origins     []string // WEBAUTHN_ORIGINS, exact origins allowed, e.g. "https://app.example.com"
	Timeout     time.Duration
	Attestation protocol.ConveyancePreference
}

// Ceremonies implements mfa.Passkeys.
type Ceremonies struct {
	wa *webauthn.WebAuthn
}

var _ mfa.Passkeys = (*Ceremonies)(nil)

// New configures the relying party; a missing RP ID or origin is a configuration error.
func New(cfg Config) (*Ceremonies, error) {
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: RP ID and at least one origin are required")
	}
	if cfg.RPName == "" {
		cfg.RPName = "MFA Service"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     cfg.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Ceremonies{wa: wa}, nil
}

// ParseOrigins splits a comma-separated origin list.
func ParseOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// user adapts a domain user and its passkeys to go-webauthn's User.
type user struct {
	u     mfa.PasskeyUser
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return u.u.Handle }
func (u user) WebAuthnName() string                       { return u.u.Name }
func (u user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func records(factors []mfa.Factor) ([]webauthn.Credential, error) {
	out := make([]webauthn.Credential, 0, len(factors))
	for _, f := range factors {
		var c webauthn.Credential
		if err := json.Unmarshal(f.Credential, &c); err != nil {
			return nil, fmt.Errorf("passkey: credential record of factor %s: %w", f.ID, err)
		}
		c.Authenticator.SignCount = f.SignCount // the stored counter is the authority
		out = append(out, c)
	}
	return out, nil
}

func descriptors(creds []webauthn.Credential) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		out = append(out, c.Descriptor())
	}
	return out
}

// BeginRegistration makes creation options: resident key preferred, user verification
// preferred, no attestation, and the user's existing passkeys excluded.
func (c *Ceremonies) BeginRegistration(u mfa.PasskeyUser, existing []mfa.Factor) (json.RawMessage, []byte, error) {
	creds, err := records(existing)
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := c.wa.BeginRegistration(user{u: u, creds: creds},
		webauthn.WithExclusions(descriptors(creds)),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return marshalPair(creation, session)
}

// FinishRegistration parses the attestation, then validates it against the session.
func (c *Ceremonies) FinishRegistration(u mfa.PasskeyUser, rawSession, response []byte) (mfa.PasskeyCredential, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(rawSession, &session); err != nil {
		return mfa.PasskeyCredential{}, fmt.Errorf("passkey: session: %w", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return mfa.PasskeyCredential{}, fmt.Errorf("%w: %v", mfa.ErrPasskeyMalformed, err)
	}
	cred, err := c.wa.CreateCredential(user{u: u}, session, parsed)
	if err != nil {
		return mfa.PasskeyCredential{}, fmt.Errorf("%w: %v", mfa.ErrPasskeyInvalid, err)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return mfa.PasskeyCredential{}, err
	}
	return mfa.PasskeyCredential{ID: cred.ID, Record: record, SignCount: cred.Authenticator.SignCount}, nil
}

// BeginLogin makes assertion options allowing only this user's passkeys.
func (c *Ceremonies) BeginLogin(u mfa.PasskeyUser, factors []mfa.Factor, uv string) (json.RawMessage, []byte, error) {
	creds, err := records(factors)
	if err != nil {
		return nil, nil, err
	}
	req := protocol.VerificationPreferred
	if uv == "required" {
		req = protocol.VerificationRequired
	}
	assertion, session, err := c.wa.BeginLogin(user{u: u, creds: creds},
		webauthn.WithAllowedCredentials(descriptors(creds)),
		webauthn.WithUserVerification(req),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return marshalPair(assertion, session)
}

// FinishLogin parses the assertion, then validates it against the session and the user's own
// credentials (origin, RP ID hash, challenge, UP, UV when required, BE/BS, signature). The
// sign counter is returned for the caller to check and store: go-webauthn only warns on a
// regression, and the domain refuses it.
func (c *Ceremonies) FinishLogin(u mfa.PasskeyUser, rawSession []byte, factors []mfa.Factor, response []byte) (mfa.PasskeyAssertion, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(rawSession, &session); err != nil {
		return mfa.PasskeyAssertion{}, fmt.Errorf("passkey: session: %w", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return mfa.PasskeyAssertion{}, fmt.Errorf("%w: %v", mfa.ErrPasskeyMalformed, err)
	}
	creds, err := records(factors)
	if err != nil {
		return mfa.PasskeyAssertion{}, err
	}
	cred, err := c.wa.ValidateLogin(user{u: u, creds: creds}, session, parsed)
	if err != nil {
		return mfa.PasskeyAssertion{}, fmt.Errorf("%w: %v", mfa.ErrPasskeyInvalid, err)
	}
	return mfa.PasskeyAssertion{
		CredentialID: cred.ID,
		SignCount:    parsed.Response.AuthenticatorData.Counter,
		UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
	}, nil
}

func marshalPair(options any, session *webauthn.SessionData) (json.RawMessage, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, err
	}
	return o, s, nil
}

// Build is New in the shape the composition root takes, so that only the functions that run
// ceremonies link go-webauthn.
func Build(rpID, rpName string, origins []string) (mfa.Passkeys, error) {
	// Ceremonies live as long as the enrollment or challenge that holds their session.
	return New(Config{RPID: rpID, RPName: rpName, Origins: origins, Timeout: 10 * time.Minute})
}
