package browsertest

import "github.com/mfa-service/mfa/pkg/webauthnjs"

// WebAuthnJS is webauthnjs.Source, for test pages: it defines b64urlToBuf, bufToB64url,
// createCredential(options) and getAssertion(options) on window.
const WebAuthnJS = webauthnjs.Source
