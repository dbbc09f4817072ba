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

  // ---- messages ----
  // The page's strings come from the catalog of its locale (pkg/webui/locales/<locale>.json),
  // which the service puts into the page's config. MFA.t("key", {name: value}) fills
  // {name} placeholders; MFA.n("key", count, {…}) picks the plural form with the browser's
  // CLDR rules (Intl.PluralRules) and fills {n} too.
  var messages = config.messages || {};
  MFA.locale = config.locale || "en";
  var plurals = null;
  function fill(text, args) {
    return String(text).replace(/\{([A-Za-z0-9_]+)\}/g, function (m, name) {
      return args && args[name] !== undefined && args[name] !== null ? String(args[name]) : m;
    });
  }
  MFA.t = function (key, args) {
    var m = messages[key];
    if (m === undefined) return key;
    return fill(typeof m === "string" ? m : m.other, args);
  };
  MFA.n = function (key, count, args) {
    var m = messages[key];
    if (m === undefined) return key;
    if (typeof m === "string") return fill(m, Object.assign({ n: count }, args));
    if (!plurals) plurals = new Intl.PluralRules(MFA.locale);
    var form = plurals.select(count);
    return fill(m[form] !== undefined ? m[form] : m.other, Object.assign({ n: new Intl.NumberFormat(MFA.locale).format(count) }, args));
  };
  // The API is on the same origin; the pages live under <base>/ui/, which keeps a stage
  // or custom-domain path prefix.
  MFA.base = location.pathname.replace(/\/ui\/[^/]*$/, "");

  // Parameters the app may pass, in the fragment or in the postMessage init.
  var known = ["token", "mfaToken", "return", "state", "remember", "skippable", "purpose",
    "org", "minStrength", "deviceToken", "email", "phone", "next", "origin", "locale"];
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

  MFA.typeName = function (t) {
    var key = "type." + t;
    return messages[key] !== undefined ? MFA.t(key) : t;
  };

  // Durations and dates are written by the browser's own CLDR data (Intl), in the page's
  // locale.
  function unit(n, u, display) {
    try {
      return new Intl.NumberFormat(MFA.locale, { style: "unit", unit: u, unitDisplay: display }).format(n);
    } catch (e) {
      return n + " " + ({ second: "s", minute: "min", hour: "h" })[u]; // a browser without unit formats
    }
  }
  MFA.duration = function (seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    if (seconds < 60) return unit(seconds, "second", "long");
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m >= 60) {
      var h = Math.floor(m / 60);
      m = m % 60;
      return unit(h, "hour", "short") + (m ? " " + unit(m, "minute", "short") : "");
    }
    return unit(m, "minute", "short") + (s ? " " + unit(s, "second", "short") : "");
  };

  MFA.date = function (iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString(MFA.locale, { dateStyle: "medium", timeStyle: "short" });
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
      case "verification_failed":
        if (typeof p.attemptsRemaining === "number") {
          if (p.attemptsRemaining <= 0) return MFA.t("err.verification_failed.none_left");
          return MFA.n("err.verification_failed.left", p.attemptsRemaining);
        }
        return MFA.t("err.verification_failed");
      case "too_many_attempts":
        if (p.lockedUntil === null) return MFA.t("err.locked_for_good");
        return MFA.t("err.too_many_attempts", { time: MFA.duration(MFA.waitSeconds(err)) });
      case "send_limited":
        if (p.limit === "cooldown") return MFA.t("err.send_cooldown", { time: MFA.duration(err.retryAfter) });
        return MFA.t("err.send_limited", { time: MFA.duration(err.retryAfter) });
      case "enrollment_not_found": return MFA.t("err.enrollment_expired");
      case "invalid_request":
        return p.field ? MFA.t("err.invalid_field", { field: p.field }) : MFA.t("err.invalid_request");
    }
    // The other problem codes each have their sentence: err.<code>.
    if (messages["err." + err.code] !== undefined) return MFA.t("err." + err.code);
    if (err.status >= 500) return MFA.t("err.server");
    return MFA.t("err.other", { code: err.code });
  };

  function describeBrowserError(e) {
    switch (e && e.name) {
      case "NotAllowedError": return MFA.t("err.passkey.not_allowed");
      case "InvalidStateError": return MFA.t("err.passkey.exists");
      case "SecurityError": return MFA.t("err.passkey.security");
      case "NotSupportedError": return MFA.t("err.passkey.not_supported");
      case "AbortError": return MFA.t("err.passkey.aborted");
    }
    if (typeof navigator.credentials === "undefined") return MFA.t("err.passkey.no_browser_support");
    return MFA.t("err.browser");
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
      button.textContent = MFA.t("common.resend_in", { time: unit(left, "second", "short") });
    }, function () {
      button.disabled = false;
      button.textContent = MFA.t("common.resend");
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
    return MFA.t("common.codes_file.title", { product: config.productName || "MFA" }) + "\n" +
      MFA.t("common.codes_file.text", { date: new Date().toISOString().slice(0, 10) }) + "\n\n" +
      codes.join("\n") + "\n";
  };

  // showCodes fills a backup-code list and wires its download and copy buttons.
  MFA.showCodes = function (codes) {
    var list = MFA.$("code-list");
    list.replaceChildren.apply(list, codes.map(function (c) { return MFA.el("li", { text: c }); }));
    MFA.$("saved").checked = false;
    MFA.$("download-btn").onclick = function () {
      MFA.download("backup-codes.txt", MFA.codesText(codes));
      MFA.say(MFA.t("common.codes_downloaded"));
    };
    MFA.$("copy-btn").onclick = function () {
      MFA.copy(codes.join("\n")).then(function () { MFA.say(MFA.t("common.codes_copied")); },
        function () { MFA.error(MFA.t("common.codes_copy_failed")); });
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

  // continueTo opens another of the pages (or this one again, in another language: see
  // MFA.start), carrying the token, the hand-back settings and the locale.
  MFA.continueTo = function (target, extra, locale) {
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
    var search = "?locale=" + encodeURIComponent(locale || MFA.locale);
    location.assign(MFA.base + "/ui/" + target + search + "#" + q.toString());
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

  // relocalize reloads the page in the language the app asked for (the locale parameter) or
  // the token's locale claim, when the server, which sees neither (both travel in the
  // fragment or by postMessage), chose another from Accept-Language. It does so once: the
  // reloaded page has ?locale=, which the server honours.
  function relocalize() {
    if (new URLSearchParams(location.search).has("locale")) return false;
    var claims = jwtClaims(params.token) || {};
    var want = params.locale || (typeof claims.locale === "string" ? claims.locale.replace(/_/g, "-") : "");
    if (!want || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(want)) return false;
    if (want.split("-")[0].toLowerCase() === MFA.locale.split("-")[0].toLowerCase()) return false;
    MFA.continueTo(page, { next: params.next, purpose: params.purpose, skippable: params.skippable,
      minStrength: params.minStrength, deviceToken: params.deviceToken, email: params.email, phone: params.phone }, want);
    return true;
  }

  // start runs ready() once the page has the user's token: from the fragment, or from an
  // allowed origin by postMessage ({type: "mfa-ui:init", token, …}).
  MFA.start = function (ready) {
    // The fragment is read once and then removed; a new one (the app navigating this tab
    // to the same page again) starts the page afresh.
    window.addEventListener("hashchange", function () { location.reload(); });
    if (readFragment()) {
      if (params.return && !returnURL()) {
        MFA.fatal(MFA.t("err.bad_return"));
        return;
      }
      // An origin carried over from another of these pages stays the postMessage target.
      if (params.origin && allowedOrigin(params.origin) && appWindow()) initOrigin = params.origin;
      if (!relocalize()) ready();
      return;
    }
    var w = appWindow();
    if (!w || !allowed.length) {
      MFA.fatal(MFA.t("err.no_app"));
      return;
    }
    MFA.show("waiting");
    var timer = setTimeout(function () {
      MFA.fatal(MFA.t("err.app_silent"));
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
      if (!relocalize()) ready();
    });
    allowed.forEach(function (o) { w.postMessage({ type: "mfa-ui:ready", page: page }, o); });
  };
})();
