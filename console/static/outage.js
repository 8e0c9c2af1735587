// The outage page's live delivery counts: poll the progress endpoint every 1.5 s while anything
// is still being sent (no libraries; the CSP allows only our own scripts).
(function () {
  var box = document.getElementById("progress");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var idle = 0;

  function card(e) {
    var el = box.querySelector('.event[data-event="' + e.event + '"]');
    if (el) return el;
    var gone = document.getElementById("not-sent");
    if (gone) gone.remove();
    el = document.createElement("div");
    el.className = "card event";
    el.setAttribute("data-event", e.event);
    el.innerHTML = '<h3></h3><progress></progress><p class="counts">' +
      '<span>共 <b data-k="total"></b></span> <span class="ok-text">已送达 <b data-k="sent"></b></span> ' +
      '<span>发送中 <b data-k="pending"></b></span> <span class="late-text">失败 <b data-k="failed"></b></span> ' +
      '<span>结果未知 <b data-k="unknown"></b></span></p><p class="muted small failed-by"></p>';
    el.querySelector("h3").textContent = e.label;
    box.appendChild(el);
    return el;
  }

  function show(data) {
    data.events.forEach(function (e) {
      var el = card(e);
      ["total", "sent", "pending", "failed", "unknown"].forEach(function (k) {
        el.querySelector('[data-k="' + k + '"]').textContent = e[k];
      });
      var bar = el.querySelector("progress");
      bar.max = e.total || 1;
      bar.value = e.sent + e.failed + e.unknown;
      el.querySelector(".failed-by").textContent = e.failed_by.map(function (f) {
        return "错误码 " + f.errcode + "：" + f.count + " 条";
      }).join("；");
    });
    box.setAttribute("data-finished", data.finished ? "true" : "false");
  }

  function tick() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) show(data);
        // Keep polling while sending; once all is done, check a little longer then stop.
        idle = data && data.finished && data.events.length ? idle + 1 : 0;
        if (idle < 20) setTimeout(tick, 1500);
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  tick();
})();
