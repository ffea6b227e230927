// Team, owner and status filters, all in the page: no server, no library.
// The selection lives in the URL's hash (#team=growth&owner=...), so a filtered view can be
// bookmarked or sent to someone; counts and the "shown" line follow the selection.
(function () {
  "use strict";
  var team = document.getElementById("team-filter");
  var owner = document.getElementById("owner-filter");
  var statusButtons = Array.prototype.slice.call(document.querySelectorAll("[data-status-filter]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll(".kr"));
  var risks = Array.prototype.slice.call(document.querySelectorAll(".risk"));
  var byPerson = Array.prototype.slice.call(document.querySelectorAll(".objective-risk, .owner-due"));
  var objectives = Array.prototype.slice.call(document.querySelectorAll(".objective")).reverse();
  var themes = Array.prototype.slice.call(document.querySelectorAll(".theme"));
  var status = "";

  function matches(el, withStatus) {
    // an element with no team (an owner's check-ins) follows the owner filter alone
    return (!team.value || el.dataset.team === undefined || el.dataset.team === team.value) &&
      (!owner.value || el.dataset.owner === owner.value) &&
      (!withStatus || !status || el.dataset.status === status);
  }

  function apply() {
    var filtered = Boolean(team.value || owner.value || status);
    var counts = {};
    var shown = 0;
    var dataProblems = 0;
    cards.forEach(function (card) {
      var visible = matches(card, false);
      if (visible) {
        counts[card.dataset.status] = (counts[card.dataset.status] || 0) + 1;
        if (card.dataset.data !== "ok") { dataProblems += 1; }
      }
      visible = visible && matches(card, true);
      card.hidden = !visible;
      if (visible) { shown += 1; }
    });
    // Children come after their parents in the page: walking backwards settles them first.
    objectives.forEach(function (node) {
      var own = !status && (team.value || owner.value) && matches(node, false);
      node.hidden = filtered && !own && !node.querySelector(".kr:not([hidden]), .objective:not([hidden])");
    });
    themes.forEach(function (node) {
      node.hidden = filtered && !node.querySelector(".objective:not([hidden])");
    });
    var risksShown = 0;
    risks.forEach(function (item) {
      item.hidden = !matches(item, true);
      if (!item.hidden) { risksShown += 1; }
    });
    byPerson.forEach(function (item) { item.hidden = !matches(item, false); });
    var riskEmpty = document.getElementById("risks-empty");
    if (riskEmpty) { riskEmpty.hidden = risksShown > 0; }
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var key = el.dataset.count;
      var n = key === "data" ? dataProblems : (counts[key] || 0);
      el.textContent = String(n);
      el.parentNode.classList.toggle("zero", n === 0);
    });
    statusButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.statusFilter === status));
    });
    document.getElementById("shown").textContent = shown + " of " + cards.length + " key results";
    document.getElementById("tree-empty").hidden = shown > 0 || cards.length === 0;
  }

  function save() {
    var params = new URLSearchParams();
    if (team.value) { params.set("team", team.value); }
    if (owner.value) { params.set("owner", owner.value); }
    if (status) { params.set("status", status); }
    var hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function load() {
    var params = new URLSearchParams(location.hash.slice(1));
    if (!params.has("team") && !params.has("owner") && !params.has("status")) { return; }
    team.value = params.get("team") || "";
    owner.value = params.get("owner") || "";
    status = params.get("status") || "";
  }

  function changed() { apply(); save(); }

  team.addEventListener("change", changed);
  owner.addEventListener("change", changed);
  statusButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      status = status === button.dataset.statusFilter ? "" : button.dataset.statusFilter;
      changed();
    });
  });
  document.getElementById("clear-filters").addEventListener("click", function () {
    team.value = "";
    owner.value = "";
    status = "";
    changed();
  });
  load();
  apply();
})();
