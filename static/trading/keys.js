// Exchange-key forms: show the passphrase field only for exchanges that use one, and the
// withdraw confirmation only when withdraw scope is ticked. The server validates regardless.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function setupWithdraw() {
    var box = byId("id_scope_withdraw");
    var row = byId("withdraw-confirmation-row");
    if (!box || !row) { return; }
    function update() { row.classList.toggle("hidden", !box.checked); }
    box.addEventListener("change", update);
    update();
  }

  function setupExchange() {
    var data = byId("exchange-credentials");
    var input = byId("id_exchange");
    var passphraseRow = byId("passphrase-row");
    var note = byId("exchange-note");
    if (!data || !input || !passphraseRow || !note) { return; }
    var exchanges = JSON.parse(data.textContent);

    function lookup(text) {
      var wanted = (text || "").trim().toLowerCase();
      if (Object.prototype.hasOwnProperty.call(exchanges, wanted)) { return wanted; }
      for (var id in exchanges) {
        if (exchanges[id].name.toLowerCase() === wanted) { return id; }
      }
      return null;
    }

    function update() {
      var id = lookup(input.value);
      var info = id === null ? null : exchanges[id];
      passphraseRow.classList.toggle("hidden", !(info && info.passphrase));
      if (!info) {
        note.textContent = input.value.trim() ? "Not a known exchange: pick one from the list." : "";
      } else if (info.unsupported.length) {
        note.textContent = info.name + " needs credentials keytrade cannot store yet (" +
          info.unsupported.join(", ") + ").";
      } else {
        note.textContent = info.name + " needs an API key and a secret" +
          (info.passphrase ? " and a passphrase." : ".");
      }
    }

    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  }

  setupWithdraw();
  setupExchange();
})();
