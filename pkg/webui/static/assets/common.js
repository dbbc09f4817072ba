// Shared code of the reference pages: parameters, API calls, messages, hand-back to the app.
(function () {
  "use strict";

  var MFA = (window.MFA = {});
  var meta = document.querySelector('meta[name="mfa-ui-config"]');
  var config = JSON.parse((meta && meta.content) || "{}");
  var allowed = config.returnOrigins || [];
  var page = document.body.dataset.page;
  var pages = ["challenge", "enroll", "security"];

  MFA.config = config;
  MFA.page = page;
  // The API is on the same origin; the pages live under <base>/ui/, which keeps a stage
  // or custom-domain path prefix.
  MFA.base = location.pathname.replace(/\/ui\/[^/]*$/, "");

  // Parameters the app may pass, in the fragment or in the postMessage init.
  var known = ["token", "mfaToken", "return", "state", "remember", "skippable", "purpose",
    "org", "minStrength", "deviceToken", "email", "phone", "next", "origin"];
  var params = {};
  MFA.params = params;
  var initOrigin = null; // the allowed origin that started us by postMessage

  function readFragment() {
    var h = location.hash.replace(/^#/, "");
    if (!h) return false;
    var q = new URLSearchParams(h);
    known.forEach(function (k) { if (q.has(k)) params[k] = q.get(k); });
    // The fragment holds tokens: drop it from the address bar and the history entry.
    history.replaceState(null, "", location.pathname + location.search);
    return !!params.token;
  }

  // ---- DOM helpers ----

  MFA.$ = function (id) { return document.getElementById(id); };

  // el("li", {class: "x", dataset: {id: 1}}, "text", child…)
  MFA.el = function (tag, attrs) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === "dataset") Object.assign(n.dataset, v);
      else if (k === "text") n.textContent = v;
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      n.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return n;
  };

  var sections = [];
  // show makes one section visible (the others hidden) and moves the focus to focusId, or to
  // the section's heading.
  MFA.show = function (id, focusId) {
    if (!sections.length) sections = Array.prototype.slice.call(document.querySelectorAll("main > section"));
    sections.forEach(function (s) { s.hidden = s.id !== id; });
    var target = focusId ? MFA.$(focusId) : MFA.$(id).querySelector("h1, h2");
    if (target) target.focus();
  };

  MFA.focus = function (id) { var n = MFA.$(id); if (n) n.focus(); };

  var pendingError = null;
  MFA.error = function (msg) {
    var box = MFA.$("error");
    clearTimeout(pendingError);
    box.textContent = "";
    if (msg) {
      // Set after a tick so that a repeated message is announced again.
      pendingError = setTimeout(function () { box.textContent = msg; }, 30);
      MFA.$("status").textContent = "";
    }
  };
  MFA.say = function (msg) { MFA.$("status").textContent = msg || ""; };
  MFA.clear = function () {
    clearTimeout(pendingError);
    MFA.$("error").textContent = "";
    MFA.$("status").textContent = "";
  };

  // fatal shows an error that the page cannot get past.
  MFA.fatal = function (msg) {
    sections = Array.prototype.slice.call(document.querySelectorAll("main > section"));
    sections.forEach(function (s) { s.hidden = true; });
    MFA.error(msg);
    MFA.$("main").focus();
  };

  MFA.busy = function (form, on) {
    var nodes = form ? form.querySelectorAll("button, input") : [];
    Array.prototype.forEach.call(nodes, function (n) {
      if (on) { n.dataset.wasDisabled = n.disabled ? "1" : ""; n.disabled = true; }
      else if (n.dataset.wasDisabled !== undefined) { n.disabled = n.dataset.wasDisabled === "1"; delete n.dataset.wasDisabled; }
    });
    if (form) form.setAttribute("aria-busy", on ? "true" : "false");
  };

  MFA.invalid = function (input, on) {
    if (on) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };

  // ---- text ----

  var typeNames = {
    webauthn: "Passkey", totp: "Authenticator app", email: "Email", sms: "Text message",
    backup_codes: "Backup codes"
  };
  MFA.typeName = function (t) { return typeNames[t] || t; };

  MFA.duration = function (seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    if (seconds < 60) return seconds + (seconds === 1 ? " second" : " seconds");
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m >= 60) {
      var h = Math.floor(m / 60);
      m = m % 60;
      return h + " h " + (m ? m + " min" : "");
    }
    return m + " min" + (s ? " " + s + " s" : "");
  };

  MFA.date = function (iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  };

  // ---- API ----

  function ApiError(status, problem, retryAfter) {
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || (status === 401 ? "unauthenticated" : status === 403 ? "forbidden" : "http_" + status);
    this.retryAfter = retryAfter;
    this.message = this.problem.detail || this.problem.message || this.code;
  }
  ApiError.prototype = Object.create(Error.prototype);
  MFA.ApiError = ApiError;

  // api calls the service with the user's token. opts.stepUp adds X-MFA-Token when the page
  // has a live mfaToken.
  MFA.api = function (method, path, body, opts) {
    var headers = { Authorization: "Bearer " + params.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts && opts.stepUp && MFA.hasStepUp()) headers["X-MFA-Token"] = params.mfaToken;
    return fetch(MFA.base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).catch(function () {
      throw new ApiError(0, { code: "network" });
    }).then(function (r) {
      return r.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!r.ok) throw new ApiError(r.status, json, Number(r.headers.get("Retry-After")) || 0);
        return json;
      });
    });
  };

  // Seconds until a lock or limit ends, from lockedUntil or Retry-After.
  MFA.waitSeconds = function (err) {
    if (err.problem && err.problem.lockedUntil) {
      return Math.max(1, (new Date(err.problem.lockedUntil) - Date.now()) / 1000);
    }
    return err.retryAfter || 0;
  };

  // describe turns an API problem or a browser error into a sentence for the user.
  MFA.describe = function (err) {
    if (!err) return "";
    if (!(err instanceof ApiError)) return describeBrowserError(err);
    var p = err.problem;
    switch (err.code) {
      case "network": return "The service can’t be reached. Check your connection and try again.";
      case "verification_failed":
        if (typeof p.attemptsRemaining === "number") {
          if (p.attemptsRemaining <= 0) return "That code isn’t right, and there are no tries left for this attempt. Start again.";
          return "That code isn’t right. You have " + p.attemptsRemaining + (p.attemptsRemaining === 1 ? " more try." : " more tries.");
        }
        return "That code isn’t right. Try again.";
      case "code_expired": return "That code has expired. Send a new code and enter it.";
      case "code_not_sent": return "Send a code first, then enter it.";
      case "invalid_code": return "Enter the code exactly as it is shown.";
      case "too_many_attempts":
        if (p.lockedUntil === null) return "Verification is locked after too many failed attempts. Contact support to unlock it.";
        return "Too many failed attempts. Try again in " + MFA.duration(MFA.waitSeconds(err)) + ".";
      case "send_limited":
        if (p.limit === "cooldown") return "A code was just sent. You can ask for another in " + MFA.duration(err.retryAfter) + ".";
        return "Too many codes were sent. Try again in " + MFA.duration(err.retryAfter) + ".";
      case "challenge_expired": return "This verification expired. Start again.";
      case "challenge_closed": return "This verification is closed: it was already answered or had too many wrong codes. Start again.";
      case "challenge_not_found": return "This verification no longer exists. Start again.";
      case "enrollment_expired": case "enrollment_not_found": return "This setup took too long and expired. Start again.";
      case "step_up_required": return "For this change, verify it’s you first.";
      case "invalid_mfa_token": return "Your recent verification has expired. Verify it’s you again.";
      case "unauthenticated": return "Your session has expired. Go back to the app and sign in again.";
      case "forbidden": return "This account can’t do that.";
      case "factor_type_not_allowed": return "Your organization doesn’t allow this method. Choose another one.";
      case "unsupported_factor_type": return "This method isn’t available here. Choose another one.";
      case "factor_exists": return "This is already set up for your account.";
      case "country_not_allowed": return "Text messages can’t be sent to this country. Choose another method.";
      case "delivery_failed": return "The code could not be sent. Try again later or choose another method.";
      case "primary_factor_required": return "Set up a way to sign in first.";
      case "prompt_not_skippable": return "Setting up two-step verification is required now.";
      case "invalid_credential": return "The passkey’s answer could not be read. Try again.";
      case "factor_not_found": return "That method was already removed.";
      case "device_not_found": return "That device was already removed.";
      case "conflict": return "Something changed at the same moment. Try again.";
      case "unavailable": return "The service is unavailable right now. Try again in a moment.";
      case "invalid_request":
        return p.field ? "Check the " + p.field + ": " + (p.detail || "it is not valid") + "." : (p.detail || "The request was not valid.");
    }
    if (err.status >= 500) return "Something went wrong on our side. Try again in a moment.";
    return p.detail || "Something went wrong (" + err.code + ").";
  };

  function describeBrowserError(e) {
    switch (e && e.name) {
      case "NotAllowedError": return "The passkey request was cancelled or timed out. Try again, or use another method.";
      case "InvalidStateError": return "This device already has a passkey for your account.";
      case "SecurityError": return "Passkeys can’t be used on this address.";
      case "NotSupportedError": return "This browser or device doesn’t support passkeys.";
      case "AbortError": return "The passkey request was cancelled.";
    }
    if (typeof navigator.credentials === "undefined") return "This browser doesn’t support passkeys.";
    return "Something went wrong: " + ((e && e.message) || e);
  }

  // ---- tokens ----

  function jwtClaims(t) {
    try {
      var part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }

  // hasStepUp says whether the page holds an mfaToken that has not expired (the service
  // checks it; this only avoids sending a dead one).
  MFA.hasStepUp = function () {
    if (!params.mfaToken) return false;
    var c = jwtClaims(params.mfaToken);
    return !!(c && c.exp && c.exp * 1000 > Date.now() + 5000);
  };
  MFA.stepUpSecondsLeft = function () {
    var c = params.mfaToken && jwtClaims(params.mfaToken);
    return c && c.exp ? Math.max(0, c.exp - Date.now() / 1000) : 0;
  };
  MFA.dropStepUp = function () { delete params.mfaToken; };

  // flag reads a yes/no parameter ("1" or "true").
  MFA.flag = function (name) { return params[name] === "1" || params[name] === "true"; };

  // ---- timers ----

  // countdown calls tick(secondsLeft) every second until `until` (a Date or ms), then done().
  MFA.countdown = function (until, tick, done) {
    var end = typeof until === "number" ? until : new Date(until).getTime();
    var id = null;
    function step() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        if (id) clearInterval(id);
        done();
        return;
      }
      tick(left);
    }
    step();
    if (end > Date.now()) id = setInterval(step, 1000);
    return function cancel() { if (id) clearInterval(id); };
  };

  // resendCountdown disables a "Resend code" button until `until`, counting down on it; it
  // returns the cancel function of the countdown.
  MFA.resendCountdown = function (button, until) {
    return MFA.countdown(until, function (left) {
      button.disabled = true;
      button.textContent = "Resend code (" + left + " s)";
    }, function () {
      button.disabled = false;
      button.textContent = "Resend code";
    });
  };

  // ---- files ----

  MFA.pngURL = function (b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
  };

  MFA.download = function (name, text) {
    var url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    var a = MFA.el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  };

  MFA.copy = function (text) {
    if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(text);
    return Promise.reject(new Error("no clipboard"));
  };

  MFA.codesText = function (codes) {
    return (config.productName || "MFA") + " backup codes\n" +
      "Each code signs you in once. Created " + new Date().toISOString().slice(0, 10) + ".\n\n" +
      codes.join("\n") + "\n";
  };

  // showCodes fills a backup-code list and wires its download and copy buttons.
  MFA.showCodes = function (codes) {
    var list = MFA.$("code-list");
    list.replaceChildren.apply(list, codes.map(function (c) { return MFA.el("li", { text: c }); }));
    MFA.$("saved").checked = false;
    MFA.$("download-btn").onclick = function () {
      MFA.download("backup-codes.txt", MFA.codesText(codes));
      MFA.say("Backup codes downloaded.");
    };
    MFA.$("copy-btn").onclick = function () {
      MFA.copy(codes.join("\n")).then(function () { MFA.say("Backup codes copied."); },
        function () { MFA.error("Copying is not possible here. Select the codes and copy them, or download them."); });
    };
  };

  // ---- hand-back and navigation ----

  function allowedOrigin(o) { return allowed.indexOf(o) >= 0; }

  function returnURL() {
    if (!params.return) return null;
    try {
      var u = new URL(params.return);
      if ((u.protocol === "https:" || u.protocol === "http:") && allowedOrigin(u.origin)) return u;
    } catch (e) { /* not a URL */ }
    return null;
  }

  function appWindow() {
    if (window.opener && window.opener !== window) return window.opener;
    if (window.parent && window.parent !== window) return window.parent;
    return null;
  }

  // canHandBack says whether a result can reach the app.
  MFA.canHandBack = function () {
    return !!(initOrigin || returnURL() || (appWindow() && allowed.length));
  };

  // handBack gives the result to the app: by postMessage to the origin that started the
  // page, else by redirect to the allowed return URL (result in its fragment), else by
  // postMessage to the allowed origins of the window that opened or embeds the page.
  MFA.handBack = function (result) {
    var r = Object.assign({}, result);
    if (params.state) r.state = params.state;
    var w = appWindow();
    if (initOrigin && w) {
      w.postMessage(Object.assign({ type: "mfa-ui:result", page: page }, r), initOrigin);
      return "postMessage";
    }
    var u = returnURL();
    if (u) {
      var q = new URLSearchParams();
      Object.keys(r).forEach(function (k) { if (r[k] !== undefined && r[k] !== null) q.set(k, String(r[k])); });
      u.hash = q.toString();
      location.assign(u.toString());
      return "redirect";
    }
    if (w && allowed.length) {
      allowed.forEach(function (o) { w.postMessage(Object.assign({ type: "mfa-ui:result", page: page }, r), o); });
      return "postMessage";
    }
    return "none";
  };

  // continueTo opens another of the pages, carrying the token and the hand-back settings.
  MFA.continueTo = function (target, extra) {
    if (pages.indexOf(target) < 0) return;
    var q = new URLSearchParams();
    ["token", "mfaToken", "return", "state", "remember", "org"].forEach(function (k) {
      if (params[k]) q.set(k, params[k]);
    });
    if (initOrigin) q.set("origin", initOrigin);
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] === null || extra[k] === undefined || extra[k] === "") q.delete(k);
      else q.set(k, extra[k]);
    });
    location.assign(MFA.base + "/ui/" + target + "#" + q.toString());
  };

  // next is the page to continue to after this one, when another page sent us here.
  MFA.next = function () { return pages.indexOf(params.next) >= 0 ? params.next : null; };

  // setupCancel shows a "go back" control when the app can be told.
  MFA.setupCancel = function (id, status) {
    var b = MFA.$(id);
    if (!b) return;
    b.hidden = !MFA.canHandBack();
    b.onclick = function () { MFA.handBack({ status: status || "cancelled" }); };
  };

  // start runs ready() once the page has the user's token: from the fragment, or from an
  // allowed origin by postMessage ({type: "mfa-ui:init", token, …}).
  MFA.start = function (ready) {
    // The fragment is read once and then removed; a new one (the app navigating this tab
    // to the same page again) starts the page afresh.
    window.addEventListener("hashchange", function () { location.reload(); });
    if (readFragment()) {
      if (params.return && !returnURL()) {
        MFA.fatal("This page was opened with a return address that is not allowed. Go back to the app and try again.");
        return;
      }
      // An origin carried over from another of these pages stays the postMessage target.
      if (params.origin && allowedOrigin(params.origin) && appWindow()) initOrigin = params.origin;
      ready();
      return;
    }
    var w = appWindow();
    if (!w || !allowed.length) {
      MFA.fatal("This page must be opened by an app, which passes your sign-in. Go back to the app and try again.");
      return;
    }
    MFA.show("waiting");
    var timer = setTimeout(function () {
      MFA.fatal("The app that opened this page did not start it. Go back to the app and try again.");
    }, 30000);
    window.addEventListener("message", function onMessage(ev) {
      if (!allowedOrigin(ev.origin) || ev.source !== w) return;
      var d = ev.data;
      if (!d || d.type !== "mfa-ui:init" || typeof d.token !== "string" || !d.token) return;
      window.removeEventListener("message", onMessage);
      clearTimeout(timer);
      initOrigin = ev.origin;
      known.forEach(function (k) {
        if (k !== "origin" && d[k] !== undefined && d[k] !== null) params[k] = String(d[k]);
      });
      if (params.return && !returnURL()) delete params.return;
      ready();
    });
    allowed.forEach(function (o) { w.postMessage({ type: "mfa-ui:ready", page: page }, o); });
  };
})();
