// The account security page: factors (rename, remove), backup codes, trusted devices.
(function () {
  "use strict";

  var MFA = window.MFA, $ = MFA.$, el = MFA.el;
  var factors = [], devices = [], backupRemaining = 0;
  var stopNote = null;

  function primaries() { return factors.filter(function (f) { return f.type !== "backup_codes"; }); }

  function load(focusId) {
    return Promise.all([
      MFA.api("GET", "/v1/users/me/factors"),
      MFA.api("GET", "/v1/users/me/devices")
    ]).then(function (r) {
      factors = r[0].factors || [];
      backupRemaining = r[0].backupCodesRemaining || 0;
      devices = r[1].devices || [];
      render();
      if ($("account").hidden) MFA.show("account", focusId);
      else if (focusId) MFA.focus(focusId);
    }, function (err) {
      if (err.code === "unauthenticated") return MFA.fatal(MFA.describe(err));
      if ($("account").hidden) return MFA.fatal(MFA.describe(err));
      MFA.error(MFA.describe(err));
    });
  }

  function render() {
    stepUpNote();
    renderFactors();
    renderBackup();
    renderDevices();
  }

  // ---- step-up ----

  function stepUpNote() {
    if (stopNote) stopNote();
    var text = $("stepup-text"), btn = $("stepup-btn");
    if (MFA.hasStepUp()) {
      btn.hidden = true;
      var end = Date.now() + MFA.stepUpSecondsLeft() * 1000 - 5000;
      stopNote = MFA.countdown(end, function (left) {
        text.textContent = MFA.t("security.stepup.active", { time: MFA.duration(left) });
      }, function () {
        MFA.dropStepUp();
        stepUpNote();
      });
      return;
    }
    text.textContent = primaries().length ? MFA.t("security.stepup.needed") : MFA.t("security.stepup.none");
    btn.hidden = !primaries().length;
  }

  function verifyFirst() { MFA.continueTo("challenge", { purpose: "step_up", next: "security" }); }
  $("stepup-btn").onclick = verifyFirst;

  function stepUpFailed(err) {
    if (err.code === "step_up_required" || err.code === "invalid_mfa_token") {
      MFA.dropStepUp();
      stepUpNote();
      MFA.error(MFA.describe(err));
      MFA.focus("stepup-btn");
      return true;
    }
    return false;
  }

  // ---- factors ----

  function nameOf(f) { return f.label || MFA.typeName(f.type); }

  function renderFactors() {
    var list = $("factor-list");
    var items = primaries().map(function (f) {
      var name = nameOf(f);
      var li = el("li", { "data-id": f.id, "data-type": f.type });
      var title = el("strong", { class: "name", text: name });
      var kind = el("span", { class: "meta", text: MFA.typeName(f.type) + (f.maskedDestination ? " · " + f.maskedDestination : "") });
      var used = el("span", {
        class: "meta",
        text: (f.createdAt ? MFA.t("security.added", { date: MFA.date(f.createdAt) }) + " · " : "") +
          (f.lastUsedAt ? MFA.t("security.last_used", { date: MFA.date(f.lastUsedAt) }) : MFA.t("security.never_used"))
      });
      var panel = el("div", { class: "confirm", hidden: true });
      var renameBtn = el("button", { type: "button", class: "rename-btn", "aria-label": MFA.t("security.rename_named", { name: name }), text: MFA.t("security.rename") });
      var removeBtn = el("button", { type: "button", class: "remove-btn", "aria-label": MFA.t("security.remove_named", { name: name }), text: MFA.t("security.remove") });
      renameBtn.onclick = function () { renameForm(f, panel, renameBtn); };
      removeBtn.onclick = function () { removeConfirm(f, panel, removeBtn); };
      li.append(title, kind, used, el("div", { class: "row" }, renameBtn, removeBtn), panel);
      return li;
    });
    list.replaceChildren.apply(list, items);
    $("factors-empty").hidden = items.length > 0;
  }

  function renameForm(f, panel, back) {
    var id = "rename-" + f.id;
    var input = el("input", { id: id, name: "label", maxlength: "64", value: f.label || "" });
    var form = el("form", { class: "rename-form", novalidate: true },
      el("label", { for: id, text: MFA.t("security.new_name", { name: nameOf(f) }) }), input,
      el("div", { class: "row" },
        el("button", { type: "submit", class: "primary", text: MFA.t("security.save") }),
        el("button", { type: "button", text: MFA.t("common.cancel"), onclick: function () { panel.hidden = true; back.focus(); } })));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var label = input.value.trim();
      if (!label) {
        MFA.invalid(input, true);
        MFA.error(MFA.t("security.enter_name"));
        input.focus();
        return;
      }
      MFA.clear();
      MFA.busy(form, true);
      MFA.api("PATCH", "/v1/users/me/factors/" + f.id, { label: label }).then(function () {
        MFA.say(MFA.t("security.renamed", { name: label }));
        return load();
      }).then(function () {
        var b = document.querySelector('#factor-list li[data-id="' + f.id + '"] .rename-btn');
        if (b) b.focus();
      }, function (err) {
        MFA.busy(form, false);
        MFA.error(MFA.describe(err));
        input.focus();
      });
    });
    panel.classList.remove("confirm");
    panel.replaceChildren(form);
    panel.hidden = false;
    input.focus();
    input.select();
  }

  function removeConfirm(f, panel, back) {
    var name = nameOf(f);
    var cancel = el("button", { type: "button", text: MFA.t("common.cancel"), onclick: function () { panel.hidden = true; back.focus(); } });
    panel.classList.add("confirm");
    if (!MFA.hasStepUp()) {
      var verify = el("button", { type: "button", class: "primary verify-btn", text: MFA.t("common.verify_its_you"), onclick: verifyFirst });
      panel.replaceChildren(el("p", { text: MFA.t("security.remove_stepup", { name: name }) }), el("div", { class: "row" }, verify, cancel));
      panel.hidden = false;
      verify.focus();
      return;
    }
    var last = primaries().length === 1;
    var remove = el("button", { type: "button", class: "danger confirm-remove-btn", text: MFA.t("security.remove_named", { name: name }) });
    remove.onclick = function () {
      MFA.clear();
      MFA.busy(panel, true);
      MFA.api("DELETE", "/v1/users/me/factors/" + f.id, undefined, { stepUp: true }).then(function () {
        MFA.say(MFA.t("security.removed", { name: name }));
        return load("factors-title");
      }, function (err) {
        MFA.busy(panel, false);
        if (stepUpFailed(err)) return;
        MFA.error(MFA.describe(err));
        if (err.code === "factor_not_found") load("factors-title");
      });
    };
    panel.replaceChildren(
      el("p", { text: MFA.t("security.remove_confirm", { name: name }) +
        (last ? MFA.t("common.sentence_gap") + MFA.t("security.remove_last") : "") }),
      el("div", { class: "row" }, remove, cancel));
    panel.hidden = false;
    remove.focus();
  }

  $("add-btn").onclick = function () { MFA.continueTo("enroll", { next: "security" }); };

  // ---- backup codes ----

  function renderBackup() {
    var has = factors.some(function (f) { return f.type === "backup_codes"; });
    $("backup-text").textContent = !primaries().length ? MFA.t("security.backup.first") :
      has ? MFA.n("security.backup.left", backupRemaining) +
        (backupRemaining <= 3 ? MFA.t("common.sentence_gap") + MFA.t("security.backup.low") : "") :
      MFA.t("security.backup.none");
    $("regen-btn").hidden = !primaries().length || !$("new-codes").hidden;
    $("regen-confirm").hidden = true;
  }

  $("regen-btn").onclick = function () {
    if (!MFA.hasStepUp()) {
      MFA.error(MFA.t("security.regen.stepup"));
      MFA.focus("stepup-btn");
      return;
    }
    $("regen-confirm").hidden = false;
    MFA.focus("regen-confirm-btn");
  };
  $("regen-cancel-btn").onclick = function () {
    $("regen-confirm").hidden = true;
    MFA.focus("regen-btn");
  };
  $("regen-confirm-btn").onclick = function () {
    MFA.clear();
    MFA.busy($("regen-confirm"), true);
    MFA.api("POST", "/v1/users/me/backup-codes", undefined, { stepUp: true }).then(function (r) {
      MFA.busy($("regen-confirm"), false);
      $("regen-confirm").hidden = true;
      $("regen-btn").hidden = true;
      MFA.showCodes(r.backupCodes);
      $("new-codes").hidden = false;
      MFA.say(MFA.t("security.regen.done"));
      MFA.focus("backup-title");
    }, function (err) {
      MFA.busy($("regen-confirm"), false);
      $("regen-confirm").hidden = true;
      if (stepUpFailed(err)) return;
      MFA.error(MFA.describe(err));
    });
  };
  $("codes-done-btn").onclick = function () {
    if (!$("saved").checked) {
      MFA.error(MFA.t("common.save_codes_first"));
      MFA.focus("saved");
      return;
    }
    MFA.clear();
    $("code-list").replaceChildren();
    $("new-codes").hidden = true;
    load("backup-title");
  };

  // ---- trusted devices ----

  function renderDevices() {
    var list = $("device-list");
    var items = devices.map(function (d) {
      var name = d.label || MFA.t("security.device");
      var btn = el("button", { type: "button", class: "revoke-btn", "aria-label": MFA.t("security.device.remove_named", { name: name }), text: MFA.t("security.remove") });
      btn.onclick = function () {
        MFA.clear();
        btn.disabled = true;
        MFA.api("DELETE", "/v1/users/me/devices/" + d.id).then(function () {
          MFA.say(MFA.t("security.device.removed", { name: name }));
          return load("devices-title");
        }, function (err) {
          btn.disabled = false;
          MFA.error(MFA.describe(err));
          if (err.code === "device_not_found") load("devices-title");
        });
      };
      return el("li", { "data-id": d.id },
        el("strong", { text: name }),
        el("span", { class: "meta", text: (d.ip ? MFA.t("security.device.ip", { ip: d.ip }) + " · " : "") + MFA.t("security.added", { date: MFA.date(d.createdAt) }) +
          (d.lastUsedAt ? " · " + MFA.t("security.last_used", { date: MFA.date(d.lastUsedAt) }) : "") }),
        el("span", { class: "meta", text: MFA.t("security.device.until", { date: MFA.date(d.expiresAt) }) }),
        el("div", { class: "row" }, btn));
    });
    list.replaceChildren.apply(list, items);
    $("devices-empty").hidden = items.length > 0;
  }

  MFA.start(function () {
    var back = $("back-btn");
    back.hidden = !MFA.canHandBack();
    back.onclick = function () { MFA.handBack({ status: "done" }); };
    MFA.show("loading");
    load();
  });
})();
