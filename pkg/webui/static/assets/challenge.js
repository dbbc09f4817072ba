// The sign-in challenge page: opens a challenge, offers the default factor first, other
// methods on request, and hands the mfaToken back to the app.
(function () {
  "use strict";

  var MFA = window.MFA, $ = MFA.$, params = MFA.params;
  var ch = null;          // the open challenge
  var methods = [];       // what the user can choose from
  var current = null;     // the chosen method
  var sent = {};          // factorId → delivery of this challenge
  var locked = false;
  var stopLock = null, stopResend = null;

  function purpose() { return params.purpose === "step_up" ? "step_up" : "sign_in"; }

  function open() {
    MFA.clear();
    MFA.show("loading");
    ch = null; sent = {}; current = null;
    // sendCode: when the user's default factor is an email or SMS code, it is sent with the
    // challenge, as users expect of a code factor; picking it later sends it then.
    var body = { purpose: purpose(), locale: MFA.locale, sendCode: true };
    if (params.org) body.organizationId = params.org;
    if (params.minStrength) body.minStrength = params.minStrength;
    if (params.deviceToken) body.deviceToken = params.deviceToken;
    MFA.api("POST", "/v1/users/me/challenges", body).then(opened, function (err) {
      MFA.fatal(MFA.describe(err));
    });
  }

  function opened(c) {
    ch = c;
    if (!c.mfaRequired) {
      if (c.enrollmentRequired) return enrollPrompt();
      return finish({ status: "not_required", reason: c.reason }, MFA.t("challenge.not_required"));
    }
    if (!c.factors.length) {
      MFA.show("weak");
      return;
    }
    methods = [];
    var passkeys = c.factors.filter(function (f) { return f.type === "webauthn"; });
    c.factors.forEach(function (f) {
      if (f.type === "webauthn") {
        if (f === passkeys[0]) methods.push({ key: "webauthn", type: "webauthn", factors: passkeys, label: passkeys.map(function (p) { return p.label; }).join(", ") });
        return;
      }
      methods.push({ key: f.id, type: f.type, factorId: f.id, label: f.label, masked: f.maskedDestination });
    });
    var def = methods.filter(function (m) {
      return m.factorId === c.defaultFactorId || (m.type === "webauthn" && m.factors.some(function (f) { return f.id === c.defaultFactorId; }));
    })[0] || methods[0];
    $("remember-row").hidden = !(MFA.flag("remember") && purpose() === "sign_in");
    $("remember").checked = false;
    $("restart-btn").hidden = true;
    // A code that went out with the challenge is the default factor's; a send that was
    // refused or failed leaves its Send button, whose answer says why.
    if (c.delivery && def.factorId === c.defaultFactorId) sent[def.factorId] = c.delivery;
    MFA.show("verify");
    select(def, false);
    if (isSent(def)) MFA.say(MFA.t("common.we_sent", { destination: c.delivery.maskedDestination }));
  }

  function isCode(t) { return t === "totp" || t === "backup_codes" || t === "email" || t === "sms"; }
  function isSent(m) { return (m.type === "email" || m.type === "sms") && !!sent[m.factorId]; }


  // select shows the panel of method m and focuses its first control.
  function select(m, keepMessages) {
    current = m;
    if (!keepMessages) MFA.clear();
    $("methods").hidden = true;
    $("other-btn").setAttribute("aria-expanded", "false");
    $("other-btn").hidden = methods.length < 2;
    $("verify-title").textContent = MFA.t("challenge.title." + m.type);
    var codeEntry = m.type === "totp" || m.type === "backup_codes" || isSent(m);
    var needsSend = (m.type === "email" || m.type === "sms") && !isSent(m);
    $("passkey-panel").hidden = m.type !== "webauthn";
    $("send-panel").hidden = !needsSend;
    $("code-form").hidden = !codeEntry;
    $("resend-btn").hidden = !isSent(m);
    // The remember box sits just before the button that answers, in focus order.
    var host = m.type === "webauthn" ? $("passkey-panel") : $("code-form");
    host.insertBefore($("remember-row"), host.querySelector(".row") || host.querySelector("button"));

    var intro = "";
    var input = $("code");
    input.value = "";
    MFA.invalid(input, false);
    if (m.type === "backup_codes") {
      $("code-label").textContent = MFA.t("challenge.backup.label");
      $("code-hint").textContent = MFA.t("challenge.backup.hint", { example: "ABCD-EFGH-JKMN-PQRS" });
      input.setAttribute("inputmode", "text");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("maxlength", "32");
      input.setAttribute("autocapitalize", "characters");
      intro = MFA.t("challenge.backup.intro");
    } else {
      $("code-label").textContent = MFA.t("challenge.six_digit");
      input.setAttribute("inputmode", "numeric");
      input.setAttribute("autocomplete", "one-time-code");
      input.setAttribute("maxlength", "7");
      input.setAttribute("autocapitalize", "off");
    }
    switch (m.type) {
      case "webauthn":
        intro = MFA.t("challenge.intro.webauthn");
        break;
      case "totp":
        intro = m.label ? MFA.t("challenge.intro.totp_named", { name: m.label }) : MFA.t("challenge.intro.totp");
        $("code-hint").textContent = "";
        break;
      case "email":
      case "sms":
        if (isSent(m)) {
          intro = MFA.t("common.code_sent_to", { destination: sent[m.factorId].maskedDestination });
          $("code-hint").textContent = "";
          resendCountdown(sent[m.factorId].resendAfter);
        } else {
          intro = m.masked ? MFA.t("challenge.intro.will_send", { destination: m.masked }) : MFA.t("challenge.intro.will_send." + m.type);
          $("send-btn").textContent = MFA.t("challenge.send." + m.type);
        }
        break;
    }
    $("method-intro").textContent = intro;
    applyLock();
    var focus = codeEntry ? "code" : needsSend ? "send-btn" : m.type === "webauthn" ? "passkey-btn" : "verify-title";
    MFA.focus(focus);
  }

  function listMethods() {
    var list = $("method-list");
    var items = methods.filter(function (m) { return m !== current; }).map(function (m) {
      var detail = m.type === "webauthn" ? MFA.t("challenge.list.webauthn") :
        m.type === "totp" ? (m.label ? MFA.t("challenge.list.totp_named", { name: m.label }) : MFA.t("challenge.list.totp")) :
        m.type === "email" ? MFA.t("challenge.list.email", { destination: m.masked || m.label }) :
        m.type === "sms" ? MFA.t("challenge.list.sms", { destination: m.masked || m.label }) :
        MFA.t("challenge.list.backup_codes");
      return MFA.el("li", {},
        MFA.el("button", { type: "button", class: "choice", "data-type": m.type, "data-key": m.key, onclick: function () { select(m); } },
          MFA.el("strong", { text: MFA.typeName(m.type === "backup_codes" ? "backup_codes" : m.type) }),
          MFA.el("span", { text: detail })));
    });
    list.replaceChildren.apply(list, items);
  }

  $("other-btn").onclick = function () {
    var open = $("methods").hidden;
    if (open) listMethods();
    $("methods").hidden = !open;
    $("other-btn").setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = $("method-list").querySelector("button");
      if (first) first.focus();
    }
  };

  // ---- sending codes ----

  function resendCountdown(at) {
    if (stopResend) stopResend();
    stopResend = MFA.resendCountdown($("resend-btn"), at);
  }

  function send() {
    var m = current;
    var panel = isSent(m) ? $("code-form") : $("send-panel");
    MFA.busy(panel, true);
    MFA.api("POST", "/v1/users/me/challenges/" + ch.challengeId + "/deliveries", { factorId: m.factorId, locale: MFA.locale }).then(function (d) {
      MFA.busy(panel, false);
      sent[m.factorId] = d;
      select(m);
      MFA.say(MFA.t("common.we_sent", { destination: d.maskedDestination }));
    }, function (err) {
      MFA.busy(panel, false);
      MFA.error(MFA.describe(err));
      if (err.code === "send_limited" && err.problem.limit === "cooldown" && isSent(m)) {
        resendCountdown(Date.now() + err.retryAfter * 1000);
      }
      if (err.code === "challenge_closed" || err.code === "challenge_expired") closed();
    });
  }
  $("send-btn").onclick = send;
  $("resend-btn").onclick = send;

  // ---- answering ----

  function body(extra) {
    var b = Object.assign({ type: current.type }, extra);
    if (current.factorId) b.factorId = current.factorId;
    if (!$("remember-row").hidden && $("remember").checked) b.rememberDevice = true;
    return b;
  }

  $("code-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (locked) return;
    var input = $("code");
    var code = input.value.trim();
    if (current.type !== "backup_codes") code = code.replace(/[\s-]/g, "");
    var bad = !code ? MFA.t("challenge.enter_code") :
      current.type !== "backup_codes" && !/^[0-9]{6}$/.test(code) ? MFA.t("common.enter_six") : "";
    if (bad) {
      MFA.invalid(input, true);
      MFA.error(bad);
      input.focus();
      return;
    }
    MFA.invalid(input, false);
    MFA.clear();
    MFA.busy($("code-form"), true);
    MFA.api("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", body({ code: code }))
      .then(verified, failed);
  });

  $("passkey-btn").onclick = function () {
    if (locked) return;
    MFA.clear();
    MFA.busy($("passkey-panel"), true);
    window.getAssertion(ch.webauthn).then(function (assertion) {
      var f = ch.factors.filter(function (x) { return x.credentialId === assertion.id; })[0];
      var b = body({ credential: assertion });
      b.type = "webauthn";
      if (f) b.factorId = f.id;
      return MFA.api("POST", "/v1/users/me/challenges/" + ch.challengeId + "/verifications", b);
    }).then(verified, failed);
  };

  function failed(err) {
    MFA.busy($("code-form"), false);
    MFA.busy($("passkey-panel"), false);
    var msg = MFA.describe(err);
    var input = $("code");
    switch (err.code) {
      case "verification_failed":
        MFA.error(msg);
        if (err.problem.attemptsRemaining === 0) return closed();
        if (!$("code-form").hidden) {
          MFA.invalid(input, true);
          input.focus();
          input.select();
        } else {
          MFA.focus("passkey-btn");
        }
        return;
      case "challenge_closed":
      case "challenge_expired":
      case "challenge_not_found":
        MFA.error(msg);
        return closed();
      case "too_many_attempts":
        MFA.error(msg);
        return lock(err);
      case "code_expired":
      case "code_not_sent":
        delete sent[current.factorId];
        select(current, true);
        MFA.error(msg);
        return;
      case "unauthenticated":
        return MFA.fatal(msg);
    }
    MFA.error(msg);
    if (!$("code-form").hidden) input.focus();
    else if (current.type === "webauthn") MFA.focus("passkey-btn");
  }

  // closed: this challenge takes no more answers; offer a new one.
  function closed() {
    $("code-form").hidden = true;
    $("passkey-panel").hidden = true;
    $("send-panel").hidden = true;
    $("other-btn").hidden = true;
    $("methods").hidden = true;
    $("restart-btn").hidden = false;
    MFA.focus("restart-btn");
  }
  $("restart-btn").onclick = open;

  // lock: verification is refused until lockedUntil (or for good, until an admin unlocks).
  function lock(err) {
    if (stopLock) stopLock();
    locked = true;
    var timer = $("lock-timer");
    timer.hidden = false;
    if (err.problem.lockedUntil === null) {
      timer.textContent = MFA.t("challenge.locked_for_good");
      applyLock();
      return;
    }
    var until = Date.now() + MFA.waitSeconds(err) * 1000;
    stopLock = MFA.countdown(until, function (left) {
      timer.textContent = MFA.t("challenge.locked_until", { time: MFA.duration(left) });
    }, function () {
      locked = false;
      timer.hidden = true;
      applyLock();
      MFA.error("");
      MFA.say(MFA.t("challenge.unlocked"));
    });
    applyLock();
    MFA.focus("lock-timer");
  }

  function applyLock() {
    $("verify-btn").disabled = locked;
    $("passkey-btn").disabled = locked;
  }
  $("lock-timer").setAttribute("tabindex", "-1");

  // ---- results ----

  function verified(res) {
    MFA.busy($("code-form"), false);
    MFA.busy($("passkey-panel"), false);
    if (stopResend) stopResend();
    var result = {
      status: "verified", mfaToken: res.mfaToken, factorType: res.factor.type, factorId: res.factor.id,
      enrollmentRequired: res.enrollmentRequired ? "true" : "false"
    };
    if (res.deviceToken) result.deviceToken = res.deviceToken;
    if (typeof res.backupCodesRemaining === "number") result.backupCodesRemaining = res.backupCodesRemaining;
    var next = MFA.next();
    if (next) {
      MFA.show("done");
      $("done-text").textContent = MFA.t("challenge.continuing");
      MFA.continueTo(next, { mfaToken: res.mfaToken, next: null, purpose: null, skippable: null });
      return;
    }
    var text = "";
    if (typeof res.backupCodesRemaining === "number") {
      text = MFA.n("challenge.backup_used", res.backupCodesRemaining);
    }
    if (res.enrollmentRequired) {
      MFA.show("done");
      $("done-text").textContent = [text, MFA.t("challenge.no_method_left")].filter(Boolean).join(MFA.t("common.sentence_gap"));
      $("setup-btn").hidden = false;
      $("setup-btn").onclick = function () { MFA.continueTo("enroll", { mfaToken: res.mfaToken, next: null, purpose: null }); };
      $("continue-btn").hidden = !MFA.canHandBack();
      $("continue-btn").onclick = function () { MFA.handBack(result); };
      return;
    }
    finish(result, text);
  }

  function finish(result, text) {
    var next = MFA.next();
    if (next) {
      MFA.continueTo(next, { next: null, purpose: null });
      return;
    }
    MFA.show("done");
    var how = MFA.handBack(result);
    if (result.status === "not_required") $("done-title").textContent = MFA.t("challenge.signed_in");
    // Each part is a sentence of its own: a space joins them where the language uses one.
    $("done-text").textContent = [text, how === "redirect" ? MFA.t("common.returning") :
      how === "postMessage" ? MFA.t("common.close_window") : MFA.t("common.close_page")].filter(Boolean).join(MFA.t("common.sentence_gap"));
  }

  function enrollPrompt() {
    $("enroll-prompt-text").textContent = ch.enrollmentSkippable ?
      MFA.t("challenge.prompt.optional") : MFA.t("challenge.prompt.required");
    $("skip-btn").hidden = !ch.enrollmentSkippable;
    MFA.show("enroll-prompt");
  }
  $("enroll-now-btn").onclick = function () {
    MFA.continueTo("enroll", { skippable: ch && ch.enrollmentSkippable ? "1" : null, next: null, purpose: null });
  };
  $("weak-enroll-btn").onclick = function () { MFA.continueTo("enroll", { next: null, purpose: null }); };
  $("skip-btn").onclick = function () {
    MFA.busy($("enroll-prompt"), true);
    MFA.api("POST", "/v1/users/me/enrollment-prompt/skip", params.org ? { organizationId: params.org } : {}).then(function () {
      MFA.busy($("enroll-prompt"), false);
      finish({ status: "skipped" }, "");
    }, function (err) {
      MFA.busy($("enroll-prompt"), false);
      MFA.error(MFA.describe(err));
      if (err.code === "prompt_not_skippable") {
        $("skip-btn").hidden = true;
        MFA.focus("enroll-now-btn");
      }
    });
  };

  MFA.start(function () {
    // Cancel: back to the page that sent us here, else tell the app.
    var cancel = $("cancel-btn");
    if (MFA.next()) {
      cancel.hidden = false;
      cancel.textContent = MFA.t("common.cancel");
      cancel.onclick = function () { MFA.continueTo(MFA.next(), { next: null, purpose: null }); };
    } else {
      MFA.setupCancel("cancel-btn", "cancelled");
    }
    open();
  });
})();
