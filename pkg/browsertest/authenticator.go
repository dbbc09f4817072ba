package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AuthenticatorOptions describe a virtual authenticator. The zero value is a CTAP2
// platform ("internal") authenticator without resident keys or user verification whose
// presence checks pass at once; DefaultAuthenticatorOptions is a passkey-capable one.
type AuthenticatorOptions struct {
	// Transport defaults to internal (a platform authenticator); usb, nfc, ble or hybrid
	// make a roaming one.
	Transport webauthn.AuthenticatorTransport
	// ResidentKey lets the authenticator store discoverable credentials (passkeys).
	ResidentKey bool
	// UserVerification says the authenticator can verify the user (PIN or biometrics).
	UserVerification bool
	// UserVerified is the outcome of each verification: false makes the authenticator
	// answer without the UV flag (or fail, when the RP requires UV).
	UserVerified bool
	// ManualPresence turns off the automatic presence simulation: user-presence tests then
	// never resolve, as with a user who does not touch the key.
	ManualPresence bool
	// BackupEligible and BackupState are the BE and BS flags of the credentials it creates.
	BackupEligible, BackupState bool
}

// DefaultAuthenticatorOptions is a platform authenticator with resident keys and user
// verification that verifies the user and simulates presence.
func DefaultAuthenticatorOptions() AuthenticatorOptions {
	return AuthenticatorOptions{ResidentKey: true, UserVerification: true, UserVerified: true}
}

// AddVirtualAuthenticator enables the WebAuthn domain in the tab of ctx and adds a CTAP2
// virtual authenticator, which then answers navigator.credentials in place of real devices.
// It returns the authenticator's id for the other helpers.
func AddVirtualAuthenticator(ctx context.Context, opts AuthenticatorOptions) (webauthn.AuthenticatorID, error) {
	// EnableUI stays off: a headless browser has no one to answer its dialogs.
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return "", fmt.Errorf("browsertest: enabling WebAuthn: %w", err)
	}
	transport := opts.Transport
	if transport == "" {
		transport = webauthn.AuthenticatorTransportInternal
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   transport,
			HasResidentKey:              opts.ResidentKey,
			HasUserVerification:         opts.UserVerification,
			IsUserVerified:              opts.UserVerified,
			AutomaticPresenceSimulation: !opts.ManualPresence,
			DefaultBackupEligibility:    opts.BackupEligible,
			DefaultBackupState:          opts.BackupState,
		},
	})
	if err != nil {
		return "", fmt.Errorf("browsertest: adding a virtual authenticator: %w", err)
	}
	return res.AuthenticatorID, nil
}

// Credentials lists the credentials the authenticator holds, with their ids, sign counts,
// user handles and private keys.
func Credentials(ctx context.Context, id webauthn.AuthenticatorID) ([]*webauthn.Credential, error) {
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		return nil, fmt.Errorf("browsertest: listing credentials: %w", err)
	}
	return res.Credentials, nil
}

// SetSignCount sets a credential's signature counter; the next assertion reports n+1. A
// count below the one the RP last saw makes a sign-count regression (a cloned key).
func SetSignCount(ctx context.Context, id webauthn.AuthenticatorID, credentialID []byte, n uint32) error {
	count := float64(n)
	_, err := chromedp.Call(ctx, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{
		AuthenticatorID: id,
		CredentialID:    credentialID,
		SignCount:       &count,
	})
	if err != nil {
		return fmt.Errorf("browsertest: setting the sign count: %w", err)
	}
	return nil
}

// RemoveCredential deletes a credential from the authenticator, as a user who deletes a
// passkey on the device.
func RemoveCredential(ctx context.Context, id webauthn.AuthenticatorID, credentialID []byte) error {
	_, err := chromedp.Call(ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{
		AuthenticatorID: id,
		CredentialID:    credentialID,
	})
	if err != nil {
		return fmt.Errorf("browsertest: removing a credential: %w", err)
	}
	return nil
}

// SetUserVerified changes whether the authenticator's user verifications succeed, for tests
// of a UV policy after registration.
func SetUserVerified(ctx context.Context, id webauthn.AuthenticatorID, verified bool) error {
	_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{
		AuthenticatorID: id,
		IsUserVerified:  verified,
	})
	if err != nil {
		return fmt.Errorf("browsertest: setting user verification: %w", err)
	}
	return nil
}
