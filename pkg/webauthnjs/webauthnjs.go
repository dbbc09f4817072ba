// Package webauthnjs is the browser side of a WebAuthn ceremony, as one script shared by the
// local stack's pages, the web UI and the browser tests.
package webauthnjs

// Source is a classic script (<script> + Source + </script>) that
// bridges a server's WebAuthn JSON and navigator.credentials. It defines on window:
//
//   - b64urlToBuf(s) ArrayBuffer and bufToB64url(buf) string;
//   - createCredential(options) and getAssertion(options): options is the server's JSON,
//     as a string or an object, either the publicKey options or go-webauthn's whole
//     CredentialCreation / CredentialAssertion ({publicKey, mediation}); base64url fields
//     (challenge, user.id, excludeCredentials/allowCredentials ids, prf and largeBlob inputs)
//     become ArrayBuffers. Each resolves to the standard RegistrationResponseJSON /
//     AuthenticationResponseJSON with base64url fields, the shape
//     protocol.ParseCredentialCreationResponseBody and ParseCredentialRequestResponseBody
//     accept, and rejects with the browser's DOMException (e.g. NotAllowedError).
//
// It has no template literals, so that it fits a Go raw string.
const Source = `(function () {
  "use strict";

  function b64urlToBuf(s) {
    var b64 = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function bufToB64url(buf) {
    var bytes = ArrayBuffer.isView(buf)
      ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      : new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // jsonValue turns the binary members of extension outputs into base64url, as toJSON does.
  function jsonValue(v) {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return bufToB64url(v);
    if (Array.isArray(v)) return v.map(jsonValue);
    if (v && typeof v === "object") {
      var out = {};
      Object.keys(v).forEach(function (k) { out[k] = jsonValue(v[k]); });
      return out;
    }
    return v;
  }

  // request splits the server's JSON into a deep copy of the publicKey options and the rest
  // of the credentials request (mediation).
  function request(options) {
    var o = typeof options === "string" ? JSON.parse(options) : JSON.parse(JSON.stringify(options));
    var req = {};
    if (o && o.publicKey) {
      if (o.mediation) req.mediation = o.mediation;
      o = o.publicKey;
    }
    req.publicKey = o;
    return req;
  }

  function descriptors(list) {
    return list.map(function (d) { return Object.assign({}, d, { id: b64urlToBuf(d.id) }); });
  }

  function prfValues(v) {
    var out = { first: b64urlToBuf(v.first) };
    if (v.second !== undefined) out.second = b64urlToBuf(v.second);
    return out;
  }

  function extensionInputs(ext) {
    if (!ext) return ext;
    if (ext.prf) {
      if (ext.prf.eval) ext.prf.eval = prfValues(ext.prf.eval);
      if (ext.prf.evalByCredential) {
        Object.keys(ext.prf.evalByCredential).forEach(function (k) {
          ext.prf.evalByCredential[k] = prfValues(ext.prf.evalByCredential[k]);
        });
      }
    }
    if (ext.largeBlob && ext.largeBlob.write !== undefined) ext.largeBlob.write = b64urlToBuf(ext.largeBlob.write);
    return ext;
  }

  function common(cred, response) {
    var out = {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: jsonValue(cred.getClientExtensionResults())
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    return out;
  }

  async function createCredential(options) {
    var req = request(options);
    var o = req.publicKey;
    o.challenge = b64urlToBuf(o.challenge);
    o.user = Object.assign({}, o.user, { id: b64urlToBuf(o.user.id) });
    if (o.excludeCredentials) o.excludeCredentials = descriptors(o.excludeCredentials);
    o.extensions = extensionInputs(o.extensions);
    var cred = await navigator.credentials.create(req);
    var r = cred.response;
    var response = {
      clientDataJSON: bufToB64url(r.clientDataJSON),
      attestationObject: bufToB64url(r.attestationObject),
      authenticatorData: bufToB64url(r.getAuthenticatorData()),
      publicKeyAlgorithm: r.getPublicKeyAlgorithm(),
      transports: r.getTransports()
    };
    var pk = r.getPublicKey(); // null for an algorithm the browser cannot express as SPKI
    if (pk) response.publicKey = bufToB64url(pk);
    return common(cred, response);
  }

  async function getAssertion(options) {
    var req = request(options);
    var o = req.publicKey;
    o.challenge = b64urlToBuf(o.challenge);
    if (o.allowCredentials) o.allowCredentials = descriptors(o.allowCredentials);
    o.extensions = extensionInputs(o.extensions);
    var cred = await navigator.credentials.get(req);
    var r = cred.response;
    var response = {
      clientDataJSON: bufToB64url(r.clientDataJSON),
      authenticatorData: bufToB64url(r.authenticatorData),
      signature: bufToB64url(r.signature)
    };
    if (r.userHandle) response.userHandle = bufToB64url(r.userHandle);
    return common(cred, response);
  }

  window.b64urlToBuf = b64urlToBuf;
  window.bufToB64url = bufToB64url;
  window.createCredential = createCredential;
  window.getAssertion = getAssertion;
})();
`
