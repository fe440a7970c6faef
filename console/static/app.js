// Progressive enhancement only: every page works without this script.
// A batch page carries data-progress="URL": the figure is refreshed from
// that JSON every second until the batch is finished.
(function () {
  var el = document.querySelector("[data-progress]");
  if (!el) return;
  var url = el.getAttribute("data-progress");
  function set(name, v) {
    var n = document.querySelector('[data-field="' + name + '"]');
    if (n) n.textContent = v;
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        set("percent", p.percent + "%");
        set("finished", p.finished);
        set("pay_succeed", p.pay_succeed);
        set("pay_failed", p.pay_failed);
        set("declare_succeed", p.declare_succeed);
        set("declare_failed", p.declare_failed);
        var bar = document.getElementById("bar");
        if (bar) bar.setAttribute("width", p.percent);
        if (p.finished >= p.total) { el.setAttribute("data-done", "true"); return; }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
})();
