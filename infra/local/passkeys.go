package main

import (
	"net/http"
	"strings"

	"github.com/mfa-service/mfa/pkg/webauthnjs"
)

// passkeyPage is a small page of the local stack for trying passkeys by hand and for the
// browser test: it gets a dev token, enrolls a passkey and signs in with it, calling the real
// API on the same origin (http://localhost:PORT, the RP origin of the local stack).
const passkeyPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Passkeys — local MFA stack</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.4rem .9rem;margin:.2rem 0}pre{background:#f4f4f4;padding:.6rem;white-space:pre-wrap;word-break:break-all}</style>
</head><body>
<h1>Passkeys on the local stack</h1>
<p><label>User id <input id="sub" value="alice"></label> <button id="token">Get a dev token</button></p>
<p><button id="enroll">Add a passkey</button> <button id="signin">Sign in with MFA</button></p>
<pre id="out" aria-live="polite"></pre>
<script>__WEBAUTHN_JS__</script>
<script>
var token = "";
function show(v) { document.getElementById("out").textContent = typeof v === "string" ? v : JSON.stringify(v, null, 2); return v; }
async function call(method, path, body) {
  var r = await fetch(path, {method: method, headers: {"content-type": "application/json", "authorization": "Bearer " + token}, body: body === undefined ? undefined : JSON.stringify(body)});
  var text = await r.text();
  var json = text ? JSON.parse(text) : null;
  if (!r.ok) { var e = new Error((json && json.code) || r.status); e.problem = json; e.status = r.status; throw e; }
  return json;
}
async function devToken(sub) {
  var r = await fetch("/local/token", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({sub: sub})});
  token = (await r.json()).access_token;
  return token;
}
async function enrollPasskey(label, mfaToken) {
  var e = await call("POST", "/v1/users/me/enrollments", {type: "webauthn", label: label || "This device"});
  var credential = await createCredential(e.webauthn);
  return await call("POST", "/v1/users/me/enrollments/" + e.enrollmentId + "/complete", {credential: credential});
}
async function signIn() {
  var ch = await call("POST", "/v1/users/me/challenges", {purpose: "sign_in"});
  if (!ch.mfaRequired) return {challenge: ch};
  var assertion = await getAssertion(ch.webauthn);
  // Naming the factor whose credential answered saves the service a read.
  var factor = ch.factors.find(function (f) { return f.credentialId === assertion.id; });
  var v = await call("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", {type: "webauthn", factorId: factor && factor.id, credential: assertion});
  return {challenge: ch, verification: v};
}
document.getElementById("token").onclick = function () { devToken(document.getElementById("sub").value).then(function () { show("token ready for " + document.getElementById("sub").value); }); };
document.getElementById("enroll").onclick = function () { enrollPasskey().then(show, function (e) { show(e.problem || String(e)); }); };
document.getElementById("signin").onclick = function () { signIn().then(show, function (e) { show(e.problem || String(e)); }); };
</script>
</body></html>`

// withPages serves the local stack's own pages next to the gateway.
func withPages(gateway http.Handler) http.Handler {
	page := strings.Replace(passkeyPage, "__WEBAUTHN_JS__", webauthnjs.Source, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /local/passkeys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		_, _ = w.Write([]byte(page))
	})
	mux.Handle("/", gateway)
	return mux
}
