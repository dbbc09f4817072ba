// The enrollment page: passkey, authenticator app, email or text message, then the backup
// codes after the first factor.
(function () {
  "use strict";

  var MFA = window.MFA, $ = MFA.$, params = MFA.params;
  var factors = [];       // the user's factors when the page loaded, plus what it added
  var enrollment = null;  // the enrollment in progress
  var contact = null;     // {type, body} of the email/SMS enrollment in progress
  var enrolled = null;    // the factor just turned on
  var qrURL = null, stopResend = null;

  function primaries() { return factors.filter(function (f) { return f.type !== "backup_codes"; }); }

  function load() {
    MFA.show("loading");
    MFA.api("GET", "/v1/users/me/factors").then(function (r) {
      factors = r.factors || [];
      choose();
    }, function (err) { MFA.fatal(MFA.describe(err)); });
  }

  // choose shows the list of methods, or asks for a step-up first when the user already has
  // a factor (the service requires one to add another).
  function choose(keepMessages) {
    if (!keepMessages) MFA.clear();
    if (stopResend) stopResend();
    enrollment = null;
    if (primaries().length && !MFA.hasStepUp()) {
      MFA.show("stepup");
      return;
    }
    var have = primaries().map(function (f) { return f.label || MFA.typeName(f.type); });
    $("existing").hidden = !have.length;
    $("existing").textContent = have.length ? MFA.t("enroll.existing", { methods: have.join(MFA.t("common.list_separator")) }) : "";
    $("skip-btn").hidden = !(MFA.flag("skippable") && !primaries().length);
    MFA.show("choose");
  }

  $("stepup-btn").onclick = function () {
    MFA.continueTo("challenge", { purpose: "step_up", next: "enroll", skippable: null });
  };

  Array.prototype.forEach.call(document.querySelectorAll("#type-list button"), function (b) {
    b.onclick = function () { start(b.dataset.type); };
  });
  Array.prototype.forEach.call(document.querySelectorAll(".back-btn"), function (b) {
    b.onclick = function () { choose(); };
  });

  function start(type) {
    MFA.clear();
    if (type === "totp") {
      MFA.busy($("choose"), true);
      begin({ type: "totp", label: MFA.t("type.totp") }).then(function (r) {
        MFA.busy($("choose"), false);
        showTOTP(r);
      }, function (err) {
        MFA.busy($("choose"), false);
        failed(err);
      });
    } else if (type === "webauthn") {
      if (!window.PublicKeyCredential) {
        MFA.error(MFA.t("enroll.no_passkeys"));
        return;
      }
      MFA.show("passkey", "passkey-label");
    } else {
      showContact(type);
    }
  }

  function begin(body) {
    body.locale = MFA.locale;
    // Enrolling for an organization is held to its effective policy, like its challenges.
    if (params.org) body.organizationId = params.org;
    return MFA.api("POST", "/v1/users/me/enrollments", body, { stepUp: true }).then(function (r) {
      enrollment = r;
      return r;
    });
  }

  function complete(body) {
    return MFA.api("POST", "/v1/users/me/enrollments/" + enrollment.enrollmentId + "/complete", body, { stepUp: true });
  }

  // failed shows why an enrollment step failed and where the user can go on.
  function failed(err, input) {
    var msg = MFA.describe(err);
    switch (err.code) {
      case "step_up_required":
      case "invalid_mfa_token":
        MFA.dropStepUp();
        MFA.show("stepup");
        MFA.error(msg);
        return;
      case "enrollment_expired":
      case "enrollment_not_found":
        choose();
        MFA.error(msg);
        return;
      case "verification_failed":
        if (err.problem.attemptsRemaining === 0) {
          choose();
          MFA.error(MFA.t("enroll.no_tries_left"));
          return;
        }
        break;
      case "unauthenticated":
        MFA.fatal(msg);
        return;
    }
    MFA.error(msg);
    if (input) {
      MFA.invalid(input, true);
      input.focus();
      input.select();
    }
  }

  // ---- authenticator app ----

  function showTOTP(r) {
    if (qrURL) URL.revokeObjectURL(qrURL);
    qrURL = MFA.pngURL(r.totp.qrPng);
    $("qr").src = qrURL;
    $("totp-secret").textContent = r.totp.secret.match(/.{1,4}/g).join(" ");
    $("totp-secret").dataset.secret = r.totp.secret;
    $("otpauth-link").href = r.totp.otpauthUri;
    $("totp-code").value = "";
    MFA.invalid($("totp-code"), false);
    MFA.show("totp");
  }

  $("copy-secret-btn").onclick = function () {
    MFA.copy($("totp-secret").dataset.secret).then(function () { MFA.say(MFA.t("enroll.key_copied")); },
      function () { MFA.error(MFA.t("enroll.key_copy_failed")); });
  };

  $("totp-form").addEventListener("submit", function (e) {
    e.preventDefault();
    codeSubmit($("totp-form"), $("totp-code"));
  });

  function codeSubmit(form, input) {
    var code = input.value.replace(/[\s-]/g, "");
    if (!/^[0-9]{6}$/.test(code)) {
      MFA.invalid(input, true);
      MFA.error(MFA.t("common.enter_six"));
      input.focus();
      return;
    }
    MFA.invalid(input, false);
    MFA.clear();
    MFA.busy(form, true);
    complete({ code: code }).then(function (res) {
      MFA.busy(form, false);
      completed(res);
    }, function (err) {
      MFA.busy(form, false);
      failed(err, input);
    });
  }

  // ---- passkey ----

  $("passkey-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = $("passkey-form");
    var label = $("passkey-label").value.trim() || MFA.t("type.webauthn");
    MFA.clear();
    MFA.busy(form, true);
    begin({ type: "webauthn", label: label }).then(function (r) {
      return window.createCredential(r.webauthn);
    }).then(function (credential) {
      return complete({ credential: credential });
    }).then(function (res) {
      MFA.busy(form, false);
      completed(res);
    }, function (err) {
      MFA.busy(form, false);
      failed(err);
      if (!$("passkey").hidden) MFA.focus("passkey-label");
    });
  });

  // ---- email and text message ----

  function showContact(type) {
    var sms = type === "sms";
    contact = { type: type };
    $("contact-title").textContent = MFA.t(sms ? "enroll.contact.sms_title" : "enroll.contact.email_title");
    $("contact-label").textContent = MFA.t(sms ? "enroll.contact.sms_label" : "enroll.contact.email_label");
    $("contact-hint").textContent = sms ?
      MFA.t("enroll.contact.sms_hint", { example: "+1 415 555 0123" }) : MFA.t("enroll.contact.email_hint");
    var input = $("contact-input");
    input.type = sms ? "tel" : "email";
    input.setAttribute("autocomplete", sms ? "tel" : "email");
    input.setAttribute("inputmode", sms ? "tel" : "email");
    input.value = (sms ? params.phone : params.email) || "";
    MFA.invalid(input, false);
    MFA.show("contact", "contact-input");
  }

  $("contact-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = $("contact-input"), value = input.value.trim(), sms = contact.type === "sms";
    if (sms) value = value.replace(/[\s().-]/g, "");
    var bad = !value ? MFA.t(sms ? "enroll.contact.sms_empty" : "enroll.contact.email_empty") :
      sms && !/^\+[0-9]{7,15}$/.test(value) ? MFA.t("enroll.contact.sms_invalid") :
      !sms && !/^[^\s@]+@[^\s@]+$/.test(value) ? MFA.t("enroll.contact.email_invalid", { example: "name@example.com" }) : "";
    if (bad) {
      MFA.invalid(input, true);
      MFA.error(bad);
      input.focus();
      return;
    }
    MFA.invalid(input, false);
    contact.body = sms ? { type: "sms", phone: value } : { type: "email", email: value };
    sendContact($("contact-form"), input);
  });

  function sendContact(form, input) {
    MFA.clear();
    MFA.busy(form, true);
    begin(contact.body).then(function (r) {
      MFA.busy(form, false);
      if (r.status === "active") {
        // A verified address is bound at once.
        completed({ factor: r.factor, backupCodes: r.backupCodes });
        return;
      }
      showContactCode(r);
    }, function (err) {
      MFA.busy(form, false);
      failed(err, input);
      if (err.code === "send_limited" && !$("contact-code").hidden) resendCountdown(Date.now() + err.retryAfter * 1000);
    });
  }

  function showContactCode(r) {
    var d = r.delivery || {};
    $("contact-code-hint").textContent = d.maskedDestination ? MFA.t("common.code_sent_to", { destination: d.maskedDestination }) : MFA.t("common.code_sent");
    $("contact-code-input").value = "";
    MFA.invalid($("contact-code-input"), false);
    MFA.show("contact-code", "contact-code-input");
    if (d.resendAfter) resendCountdown(d.resendAfter);
  }

  function resendCountdown(at) {
    if (stopResend) stopResend();
    stopResend = MFA.resendCountdown($("contact-resend-btn"), at);
  }

  $("contact-resend-btn").onclick = function () {
    sendContact($("contact-code-form"), $("contact-code-input"));
  };

  $("contact-code-form").addEventListener("submit", function (e) {
    e.preventDefault();
    codeSubmit($("contact-code-form"), $("contact-code-input"));
  });

  // ---- after the factor is on ----

  function completed(res) {
    if (stopResend) stopResend();
    enrolled = res.factor;
    factors.push(res.factor);
    if (res.backupCodes && res.backupCodes.length) {
      factors.push({ type: "backup_codes" });
      MFA.showCodes(res.backupCodes);
      MFA.show("codes");
      return;
    }
    done();
  }

  $("codes-continue-btn").onclick = function () {
    if (!$("saved").checked) {
      MFA.error(MFA.t("common.save_codes_first"));
      MFA.focus("saved");
      return;
    }
    $("code-list").replaceChildren();
    done();
  };

  function done() {
    MFA.clear();
    var type = MFA.typeName(enrolled.type);
    var name = enrolled.label && enrolled.label !== type ? MFA.t("enroll.done.named", { type: type, name: enrolled.label }) : type;
    var next = MFA.next();
    var text = MFA.t("enroll.done.text", { method: name });
    var b = $("continue-btn");
    b.hidden = !(next || MFA.canHandBack());
    if (b.hidden) text += MFA.t("common.sentence_gap") + MFA.t("common.close_page_short");
    b.onclick = function () {
      if (next) {
        MFA.continueTo(next, { next: null, skippable: null });
        return;
      }
      var result = { status: "enrolled", factorType: enrolled.type, factorId: enrolled.id };
      if (MFA.hasStepUp()) result.mfaToken = params.mfaToken;
      MFA.handBack(result);
    };
    $("done-text").textContent = text;
    MFA.show("done");
  }

  $("another-btn").onclick = function () { choose(); };

  $("skip-btn").onclick = function () {
    MFA.busy($("choose"), true);
    MFA.api("POST", "/v1/users/me/enrollment-prompt/skip", params.org ? { organizationId: params.org } : {}).then(function () {
      MFA.busy($("choose"), false);
      if (MFA.next()) {
        MFA.continueTo(MFA.next(), { next: null, skippable: null });
        return;
      }
      if (MFA.handBack({ status: "skipped" }) === "none") MFA.say(MFA.t("enroll.skipped"));
    }, function (err) {
      MFA.busy($("choose"), false);
      MFA.error(MFA.describe(err));
      if (err.code === "prompt_not_skippable") $("skip-btn").hidden = true;
    });
  };

  MFA.start(function () {
    var cancel = $("cancel-btn");
    if (MFA.next()) {
      cancel.hidden = false;
      cancel.onclick = function () { MFA.continueTo(MFA.next(), { next: null, skippable: null }); };
    } else {
      MFA.setupCancel("cancel-btn", "cancelled");
    }
    load();
  });
})();
