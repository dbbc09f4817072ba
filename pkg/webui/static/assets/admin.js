// The admin console (/ui/admin): the user directory, one user's MFA status and audit log, the
// support desk's actions (each behind a confirmation step) and the policies. It calls only
// the admin routes (/v1/admin/…) with the admin token the page was opened with, so every
// action is audited with the admin's sub as actor.
(function () {
  "use strict";

  var MFA = window.MFA;
  var $ = MFA.$, el = MFA.el;

  // Every string this page builds at run time, from the page's catalog (the static ones are
  // {{t:…}} in admin.html).
  var t = MFA.t;
  var T = {
    notAdmin: t("admin.not_admin"),
    expired: t("admin.expired"),
    loading: t("layout.loading"),
    usersCaption: function (n, filtered) { return MFA.n(filtered ? "admin.users_caption_filtered" : "admin.users_caption", n); },
    noUsers: t("admin.no_users"),
    noUsersYet: t("admin.no_users_yet"),
    emptyFilteredPage: t("admin.empty_filtered_page"),
    yes: t("admin.yes"), no: t("admin.no"), never: "—",
    lockedUntil: function (d) { return t("admin.locked_until", { date: d }); },
    lockedForever: t("admin.locked_forever"),
    notLocked: t("admin.not_locked"),
    userTitle: function (id) { return t("admin.user_title", { user: id }); },
    summary: {
      challenge: t("admin.col.last_challenge"), verified: t("admin.col.last_verified"), failures: t("admin.failures"), lock: t("admin.lock")
    },
    noFactors: t("admin.no_factors"),
    factorMeta: function (f) {
      var parts = [];
      if (f.maskedDestination) parts.push(f.maskedDestination);
      if (f.createdAt) parts.push(t("admin.added", { date: MFA.date(f.createdAt) }));
      parts.push(f.lastUsedAt ? t("admin.last_used", { date: MFA.date(f.lastUsedAt) }) : t("admin.never_used"));
      return parts.join(" · ");
    },
    remove: t("admin.remove_btn"),
    revoke: t("admin.revoke_btn"),
    backupLeft: function (n, has) { return has ? MFA.n("admin.backup_left", n) : t("admin.no_backup"); },
    noDevices: t("admin.no_devices"),
    deviceMeta: function (d) {
      return [d.ip, t("admin.added", { date: MFA.date(d.createdAt) }), d.lastUsedAt ? t("admin.last_used", { date: MFA.date(d.lastUsedAt) }) : "",
        t("admin.expires", { date: MFA.date(d.expiresAt) })].filter(Boolean).join(" · ");
    },
    confirmRemove: function (f, u) { return t("admin.confirm_remove", { type: MFA.typeName(f.type), label: f.label, user: u }); },
    confirmReset: function (u) { return t("admin.confirm_reset", { user: u }); },
    confirmUnlock: function (u) { return t("admin.confirm_unlock", { user: u }); },
    confirmBind: function (type, dest, u) {
      if (type === "totp") return t("admin.confirm_bind.totp", { user: u });
      return t(type === "sms" ? "admin.confirm_bind.sms" : "admin.confirm_bind.email", { destination: dest, user: u });
    },
    confirmBackup: function (u) { return t("admin.confirm_backup", { user: u }); },
    confirmRevoke: function (d, u) { return t("admin.confirm_revoke", { device: d.label || d.id, user: u }); },
    confirmRevokeAll: function (u) { return t("admin.confirm_revoke_all", { user: u }); },
    confirmSave: function (org) { return org ? t("admin.confirm_save_org", { org: org }) : t("admin.confirm_save_global"); },
    confirmDelete: function (org) { return t("admin.confirm_delete", { org: org }); },
    yesRemove: t("admin.yes_remove"), yesReset: t("admin.reset"), yesUnlock: t("admin.unlock"), yesBind: t("admin.yes_bind"),
    yesBackup: t("admin.yes_backup"), yesRevoke: t("admin.yes_revoke"), yesSave: t("admin.yes_save"), yesDelete: t("admin.yes_delete"),
    removed: t("admin.removed"), reset: t("admin.reset_done"), unlocked: t("admin.unlocked"),
    bound: function (type) { return t("admin.bound", { type: MFA.typeName(type) }); },
    revoked: t("admin.revoked"), revokedAll: t("admin.revoked_all"), saved: t("admin.saved"), deleted: t("admin.deleted"),
    totpOnce: t("admin.totp_once"),
    codesOnce: t("admin.codes_once"),
    emailRequired: t("admin.email_required"),
    phoneRequired: t("admin.phone_required"),
    globalPolicy: t("admin.global_policy"),
    orgPolicy: function (org) { return t("admin.org_policy", { org: org }); },
    policyMeta: function (p) {
      if (!p.stored) return t("admin.no_policy");
      var args = { version: p.version, date: p.updatedAt ? MFA.date(p.updatedAt) : "", actor: p.updatedBy || "" };
      if (p.updatedAt) return t(p.updatedBy ? "admin.policy_version_changed_by" : "admin.policy_version_changed", args);
      return t(p.updatedBy ? "admin.policy_version_by" : "admin.policy_version", args);
    },
    noOrgPolicy: t("admin.no_org_policy"),
    badJSON: function (m) { return t("admin.bad_json", { message: m }); },
    badField: function (field, detail) { return t("admin.bad_field", { field: field, detail: detail }); },
    badPolicy: function (detail) { return t("admin.bad_policy", { detail: detail }); },
    badOrg: t("admin.bad_org"),
    noHistory: t("admin.no_history")
  };

  // Read-only fields of a policy answer, left out of the editor (PUT takes the rest).
  var policyMetaKeys = ["scope", "stored", "version", "updatedAt", "updatedBy", "effective", "sources", "source", "organizationId"];

  var dir = { cursor: "", next: "", query: null, seq: 0 };
  var current = null; // the open user's status
  var eventCursor = "";
  var policy = { org: "", historyCursor: "" };

  function enc(s) { return encodeURIComponent(s); }

  // call runs one admin route; a refusal of the token ends the page.
  function call(method, path, body) {
    return MFA.api(method, path, body).catch(function (err) {
      if (err.status === 403 && (err.code === "admin_scope_required" || err.code === "forbidden")) {
        MFA.fatal(T.notAdmin);
        $("console-nav").hidden = true;
        err.handled = true;
      } else if (err.status === 401) {
        MFA.fatal(T.expired);
        $("console-nav").hidden = true;
        err.handled = true;
      }
      throw err;
    });
  }

  function fail(err) {
    if (err && err.handled) return;
    MFA.error(MFA.describe(err));
  }

  // ---- confirmation step ----

  var confirmReturn = null;
  function confirmThen(text, yes, action) {
    confirmReturn = document.activeElement;
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yes;
    $("confirm").hidden = false;
    $("confirm-yes").onclick = function () { closeConfirm(false); action(); };
    $("confirm").scrollIntoView({ block: "nearest" });
    $("confirm-yes").focus();
  }
  function closeConfirm(restoreFocus) {
    $("confirm").hidden = true;
    if (restoreFocus && confirmReturn) confirmReturn.focus();
  }
  $("confirm-no").addEventListener("click", function () { closeConfirm(true); });
  $("confirm").addEventListener("keydown", function (ev) { if (ev.key === "Escape") closeConfirm(true); });

  // ---- navigation ----

  function tab(name) {
    $("nav-users").setAttribute("aria-current", name === "users" ? "page" : "false");
    $("nav-policies").setAttribute("aria-current", name === "policies" ? "page" : "false");
  }
  $("nav-users").addEventListener("click", function () { closeConfirm(false); MFA.clear(); tab("users"); MFA.show("directory"); });
  $("nav-policies").addEventListener("click", function () {
    closeConfirm(false); MFA.clear(); tab("policies"); MFA.show("policies");
    openPolicy(policy.org);
  });

  // ---- directory ----

  function dash(iso) { return iso ? MFA.date(iso) : T.never; }

  function lockText(u) {
    if (u.lockedPermanently) return T.lockedForever;
    if (u.lockedUntil) return T.lockedUntil(MFA.date(u.lockedUntil));
    return T.notLocked;
  }

  function searchQuery() {
    return { q: $("q").value.trim(), factorType: $("filter-type").value, locked: $("filter-locked").value };
  }

  function loadUsers(cursor) {
    var q = new URLSearchParams({ limit: "25" });
    var s = dir.query;
    Object.keys(s).forEach(function (k) { if (s[k]) q.set(k, s[k]); });
    if (cursor) q.set("cursor", cursor);
    // Only the answer to the newest request is shown, whatever order the answers come in, so
    // the search stays usable while a page loads.
    var seq = ++dir.seq;
    $("user-table").setAttribute("aria-busy", "true");
    return call("GET", "/v1/admin/users?" + q.toString()).then(function (page) {
      if (seq !== dir.seq) return;
      dir.cursor = cursor;
      dir.next = page.nextCursor || "";
      renderUsers(page.users, !!(s.q || s.factorType || s.locked));
    }).catch(fail).then(function () { if (seq === dir.seq) $("user-table").setAttribute("aria-busy", "false"); });
  }

  function renderUsers(users, filtered) {
    var rows = users.map(function (u) {
      return el("tr", { dataset: { user: u.userId } },
        el("th", { scope: "row" }, el("button", { type: "button", class: "link", dataset: { open: u.userId }, text: u.userId })),
        el("td", { text: u.factorTypes.map(MFA.typeName).join(", ") || T.never }),
        el("td", { text: u.mfaEnrolled ? T.yes : T.no }),
        el("td", { text: dash(u.lastChallengeAt) }),
        el("td", { text: dash(u.lastVerifiedAt) }),
        el("td", { class: u.lockedUntil || u.lockedPermanently ? "locked" : "", text: lockText(u) }));
    });
    $("user-rows").replaceChildren.apply($("user-rows"), rows);
    $("user-caption").textContent = T.usersCaption(users.length, filtered);
    var empty = $("users-empty");
    empty.hidden = users.length > 0;
    empty.textContent = dir.next ? T.emptyFilteredPage : filtered ? T.noUsers : T.noUsersYet;
    $("next-btn").hidden = !dir.next;
    $("first-btn").hidden = !dir.cursor;
  }

  $("search-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    MFA.clear();
    dir.query = searchQuery();
    loadUsers("");
  });
  $("next-btn").addEventListener("click", function () {
    loadUsers(dir.next).then(function () { $("directory-title").focus(); });
  });
  $("first-btn").addEventListener("click", function () { loadUsers(""); });
  $("user-rows").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-open]");
    if (b) openUser(b.dataset.open);
  });

  // ---- one user ----

  function userPath(suffix) { return "/v1/admin/users/" + enc(current.userId) + (suffix || ""); }

  function openUser(uid, focusId) {
    MFA.clear();
    closeConfirm(false);
    $("totp-once").hidden = true;
    $("codes-once").hidden = true;
    return call("GET", "/v1/admin/users/" + enc(uid)).then(function (st) {
      current = st;
      renderUser(st);
      MFA.show("user", focusId);
      eventCursor = "";
      $("event-rows").replaceChildren();
      return loadEvents();
    }).catch(fail);
  }

  function reloadUser(message, focusId) {
    return openUser(current.userId, focusId).then(function () { if (message) MFA.say(message); });
  }

  function renderUser(st) {
    $("user-title").textContent = T.userTitle(st.userId);
    var locked = !!(st.lockedUntil || st.lockedPermanently);
    var dl = $("user-summary");
    dl.replaceChildren(
      el("dt", { text: T.summary.challenge }), el("dd", { text: dash(st.lastChallengeAt) }),
      el("dt", { text: T.summary.verified }), el("dd", { text: dash(st.lastVerifiedAt) }),
      el("dt", { text: T.summary.failures }), el("dd", { text: String(st.failedAttempts) }),
      el("dt", { text: T.summary.lock }), el("dd", { id: "lock-state", class: locked ? "locked" : "", text: lockText(st) }));
    $("unlock-btn").hidden = !(locked || st.failedAttempts > 0);

    var primaries = st.factors.filter(function (f) { return f.type !== "backup_codes"; });
    var hasBackup = st.factors.some(function (f) { return f.type === "backup_codes"; });
    $("factors-empty").hidden = st.factors.length > 0;
    $("factors-empty").textContent = T.noFactors;
    var items = primaries.map(function (f) {
      return el("li", { dataset: { factor: f.id, type: f.type } },
        el("strong", { text: MFA.typeName(f.type) + (f.label && f.label !== MFA.typeName(f.type) ? " · " + f.label : "") }),
        el("span", { class: "meta", text: T.factorMeta(f) }),
        el("div", { class: "row" }, el("button", { type: "button", dataset: { remove: f.id }, text: T.remove })));
    });
    $("factor-list").replaceChildren.apply($("factor-list"), items);
    $("backup-left").textContent = T.backupLeft(st.backupCodesRemaining, hasBackup);

    $("devices-empty").hidden = st.devices.length > 0;
    $("devices-empty").textContent = T.noDevices;
    $("device-list").replaceChildren.apply($("device-list"), st.devices.map(function (d) {
      return el("li", { dataset: { device: d.id } },
        el("strong", { text: d.label || d.id }),
        el("span", { class: "meta", text: T.deviceMeta(d) }),
        el("div", { class: "row" }, el("button", { type: "button", dataset: { revoke: d.id }, text: T.revoke })));
    }));
    $("revoke-all-btn").hidden = st.devices.length === 0;
  }

  function loadEvents() {
    var q = new URLSearchParams({ limit: "20" });
    if (eventCursor) q.set("cursor", eventCursor);
    return call("GET", userPath("/events?" + q.toString())).then(function (page) {
      page.events.forEach(function (e) {
        $("event-rows").append(el("tr", {},
          el("td", { text: MFA.date(e.at) }), el("td", { text: e.action }), el("td", { class: "actor", text: e.actor }),
          el("td", { text: e.outcome + (e.reason ? " (" + e.reason + ")" : "") }),
          el("td", { text: e.factorType ? MFA.typeName(e.factorType) : "" }), el("td", { text: e.ip || "" })));
      });
      eventCursor = page.nextCursor || "";
      $("events-more-btn").hidden = !eventCursor;
    });
  }
  $("events-more-btn").addEventListener("click", function () { loadEvents().catch(fail); });
  $("back-btn").addEventListener("click", function () {
    MFA.clear();
    MFA.show("directory");
    loadUsers(dir.cursor);
  });

  $("factor-list").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-remove]");
    if (!b) return;
    var f = current.factors.filter(function (x) { return x.id === b.dataset.remove; })[0];
    confirmThen(T.confirmRemove(f, current.userId), T.yesRemove, function () {
      call("DELETE", userPath("/factors/" + enc(f.id))).then(function () { return reloadUser(T.removed, "factors-title"); }).catch(fail);
    });
  });

  $("reset-btn").addEventListener("click", function () {
    confirmThen(T.confirmReset(current.userId), T.yesReset, function () {
      call("DELETE", userPath("/factors")).then(function () { return reloadUser(T.reset); }).catch(fail);
    });
  });

  $("unlock-btn").addEventListener("click", function () {
    confirmThen(T.confirmUnlock(current.userId), T.yesUnlock, function () {
      call("POST", userPath("/unlock")).then(function () { return reloadUser(T.unlocked); }).catch(fail);
    });
  });

  $("backup-btn").addEventListener("click", function () {
    confirmThen(T.confirmBackup(current.userId), T.yesBackup, function () {
      call("POST", userPath("/factors"), { type: "backup_codes" }).then(function (out) {
        return reloadUser("", "factors-title").then(function () {
          $("codes-once-text").textContent = T.codesOnce;
          $("code-list").replaceChildren.apply($("code-list"), out.backupCodes.map(function (c) { return el("li", { text: c }); }));
          $("codes-once").hidden = false;
          $("codes-done-btn").focus();
        });
      }).catch(fail);
    });
  });
  $("codes-done-btn").addEventListener("click", function () {
    $("code-list").replaceChildren();
    $("codes-once").hidden = true;
    $("backup-btn").focus();
  });

  function syncBindType() {
    var kind = $("bind-type").value;
    $("bind-email-row").hidden = kind !== "email";
    $("bind-phone-row").hidden = kind !== "sms";
  }
  $("bind-type").addEventListener("change", syncBindType);

  $("bind-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    MFA.clear();
    var type = $("bind-type").value;
    var body = { type: type };
    var dest = "";
    if (type === "email") {
      dest = $("bind-email").value.trim();
      if (!dest) { MFA.invalid($("bind-email"), true); MFA.error(T.emailRequired); $("bind-email").focus(); return; }
      body.email = dest;
    } else if (type === "sms") {
      dest = $("bind-phone").value.trim();
      if (!dest) { MFA.invalid($("bind-phone"), true); MFA.error(T.phoneRequired); $("bind-phone").focus(); return; }
      body.phone = dest;
    }
    MFA.invalid($("bind-email"), false);
    MFA.invalid($("bind-phone"), false);
    var label = $("bind-label").value.trim();
    if (label) body.label = label;
    confirmThen(T.confirmBind(type, dest, current.userId), T.yesBind, function () {
      call("POST", userPath("/factors"), body).then(function (out) {
        $("bind-email").value = "";
        $("bind-phone").value = "";
        $("bind-label").value = "";
        return reloadUser(T.bound(type), "factors-title").then(function () {
          if (out.totp) showTOTPOnce(out.totp);
        });
      }).catch(function (err) {
        fail(err);
        if (err.problem && (err.problem.field === "email" || err.problem.field === "phone")) {
          var input = $(err.problem.field === "email" ? "bind-email" : "bind-phone");
          MFA.invalid(input, true);
          input.focus();
        }
      });
    });
  });

  function showTOTPOnce(totp) {
    $("totp-once-text").textContent = T.totpOnce;
    $("bind-qr").src = MFA.pngURL(totp.qrPng);
    $("bind-secret").textContent = totp.secret.replace(/(.{4})(?=.)/g, "$1 ");
    $("bind-otpauth").href = totp.otpauthUri;
    $("bind-otpauth").textContent = totp.otpauthUri;
    $("totp-once").hidden = false;
    $("totp-done-btn").focus();
  }
  $("totp-done-btn").addEventListener("click", function () {
    URL.revokeObjectURL($("bind-qr").src);
    $("bind-qr").removeAttribute("src");
    $("bind-secret").textContent = "";
    $("bind-otpauth").removeAttribute("href");
    $("bind-otpauth").textContent = "";
    $("totp-once").hidden = true;
    $("bind-type").focus();
  });

  $("device-list").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-revoke]");
    if (!b) return;
    var d = current.devices.filter(function (x) { return x.id === b.dataset.revoke; })[0];
    confirmThen(T.confirmRevoke(d, current.userId), T.yesRevoke, function () {
      call("DELETE", userPath("/devices/" + enc(d.id))).then(function () { return reloadUser(T.revoked, "devices-title"); }).catch(fail);
    });
  });
  $("revoke-all-btn").addEventListener("click", function () {
    confirmThen(T.confirmRevokeAll(current.userId), T.yesRevoke, function () {
      call("DELETE", userPath("/devices")).then(function () { return reloadUser(T.revokedAll, "devices-title"); }).catch(fail);
    });
  });

  // ---- policies ----

  function policyPath(org) { return org ? "/v1/admin/organizations/" + enc(org) + "/policy" : "/v1/admin/policy"; }

  // editable is what PUT takes: the stored document the answer holds (its "policy" or
  // "overlay"), else the answer without its read-only fields. The editor stays generic, so
  // new policy fields need no change here.
  function editable(p) {
    if (p.policy && typeof p.policy === "object") return p.policy;
    if (p.overlay && typeof p.overlay === "object") return p.overlay;
    var out = {};
    Object.keys(p).forEach(function (k) { if (policyMetaKeys.indexOf(k) < 0) out[k] = p[k]; });
    return out;
  }

  function setFieldError(msg) {
    $("policy-field-error").textContent = msg || "";
    MFA.invalid($("policy-json"), !!msg);
  }

  function openPolicy(org) {
    if (org && !/^[A-Za-z0-9._-]{1,128}$/.test(org)) {
      MFA.error(T.badOrg);
      $("policy-org").focus();
      return Promise.resolve();
    }
    policy.org = org;
    setFieldError("");
    $("policy-title").textContent = org ? T.orgPolicy(org) : T.globalPolicy;
    $("policy-delete-btn").hidden = true;
    $("policy-effective-box").hidden = true;
    return call("GET", policyPath(org)).then(function (p) {
      $("policy-json").value = JSON.stringify(editable(p), null, 2);
      $("policy-meta").textContent = T.policyMeta(p);
      $("policy-delete-btn").hidden = !org;
      if (p.effective) {
        var shown = { effective: p.effective };
        if (p.sources) shown.sources = p.sources;
        $("policy-effective").textContent = JSON.stringify(shown, null, 2);
        $("policy-effective-box").hidden = false;
      }
    }).catch(function (err) {
      if (err.code === "policy_not_found") {
        $("policy-json").value = "{\n}";
        $("policy-meta").textContent = T.noOrgPolicy;
        return;
      }
      fail(err);
    }).then(function () {
      policy.historyCursor = "";
      $("history-rows").replaceChildren();
      return loadHistory();
    });
  }

  function loadHistory() {
    var q = new URLSearchParams({ limit: "20" });
    if (policy.historyCursor) q.set("cursor", policy.historyCursor);
    return call("GET", "/v1/admin/policy/events?" + q.toString()).then(function (page) {
      if (!page.events.length && !policy.historyCursor) {
        $("history-rows").append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: T.noHistory })));
      }
      page.events.forEach(function (e) {
        $("history-rows").append(el("tr", {},
          el("td", { text: MFA.date(e.at) }), el("td", { text: e.action }), el("td", { class: "actor", text: e.actor }),
          el("td", { text: e.reason || "" }), el("td", { text: e.outcome })));
      });
      policy.historyCursor = page.nextCursor || "";
      $("history-more-btn").hidden = !policy.historyCursor;
    }).catch(fail);
  }
  $("history-more-btn").addEventListener("click", loadHistory);

  $("policy-scope-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    MFA.clear();
    openPolicy($("policy-org").value.trim());
  });

  $("policy-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    MFA.clear();
    setFieldError("");
    var doc;
    try {
      doc = JSON.parse($("policy-json").value);
    } catch (e) {
      setFieldError(T.badJSON(e.message));
      $("policy-json").focus();
      return;
    }
    var org = policy.org;
    confirmThen(T.confirmSave(org), T.yesSave, function () {
      call("PUT", policyPath(org), doc).then(function () {
        return openPolicy(org).then(function () { MFA.say(T.saved); $("policy-title").focus(); });
      }).catch(function (err) {
        if (err.handled) return;
        var p = err.problem || {};
        if (err.status === 400 && p.field) {
          setFieldError(T.badField(p.field, p.detail || p.code));
        } else if (err.status === 400) {
          setFieldError(T.badPolicy(p.detail || p.code));
        }
        fail(err);
        $("policy-json").focus();
      });
    });
  });

  $("policy-delete-btn").addEventListener("click", function () {
    var org = policy.org;
    confirmThen(T.confirmDelete(org), T.yesDelete, function () {
      call("DELETE", policyPath(org)).then(function () {
        return openPolicy(org).then(function () { MFA.say(T.deleted); });
      }).catch(fail);
    });
  });

  // ---- start ----

  MFA.start(function () {
    MFA.say(T.loading);
    dir.query = searchQuery();
    syncBindType();
    // The first call proves the token: a refused one ends the page before anything shows.
    call("GET", "/v1/admin/users?limit=25").then(function (page) {
      MFA.say("");
      $("console-nav").hidden = false;
      dir.cursor = "";
      dir.next = page.nextCursor || "";
      renderUsers(page.users, false);
      MFA.show("directory", "q");
    }).catch(fail);
  });
})();
