/* 直播工作台: copy buttons for the push URL, and the live figures. The page holds the session's own
   websocket (/api/v1/live/sessions/<id>/ws); every event on it (an order's stock, viewers, products,
   status) makes the page fetch the figures fragment again (at most twice a second). No inline scripts. */
(function () {
  "use strict";

  document.addEventListener("click", function (ev) {
    var b = ev.target;
    if (!b || !b.hasAttribute) { return; }
    if (b.hasAttribute("data-copy")) {
      var input = document.querySelector(b.getAttribute("data-copy"));
      if (!input) { return; }
      var done = function () {
        var m = document.querySelector(".copy-msg");
        if (m) { m.textContent = "已复制"; }
        b.textContent = "已复制";
        setTimeout(function () { b.textContent = "复制"; }, 2000);
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    }
    if (b.hasAttribute("data-fill-sku")) {
      var f = document.querySelector("#tiein-form input[name=sku_id], #consent-form input[name=sku_id]");
      if (f) { f.value = b.getAttribute("data-fill-sku"); f.focus(); }
    }
  });

  var socket = null, socketPath = null, timer = null, retry = null;

  function box() { return document.getElementById("live-figures"); }

  function refresh() {
    if (timer) { return; }
    timer = setTimeout(function () {
      timer = null;
      var el = box();
      if (el && window.htmx) {
        window.htmx.ajax("GET", el.getAttribute("data-figures"), { target: "#live-figures", swap: "innerHTML" });
      }
    }, 500);
  }

  function connect() {
    var el = box();
    var path = el && el.getAttribute("data-ws");
    if (!path || !window.WebSocket) { return; }
    if (socket && socketPath === path) { return; }
    if (socket) { socket.onclose = null; socket.close(); }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    socketPath = path;
    socket = new WebSocket(url);
    socket.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "viewers") {
        var v = document.querySelector("[data-fig=viewers_now]");
        if (v) { v.textContent = msg.data.viewers; }
        return;
      }
      if (msg.type === "stock" && msg.data && msg.data.remaining !== null && msg.data.remaining !== undefined) {
        var cell = document.querySelector('[data-remaining="' + msg.data.tiein_id + '"]');
        if (cell) { cell.textContent = msg.data.remaining; }
      }
      if (msg.type !== "snapshot") { refresh(); }
    };
    socket.onclose = function () {
      socket = null;
      if (retry) { clearTimeout(retry); }
      retry = setTimeout(connect, 3000);   // the server restarted or the network dropped: come back
    };
  }

  document.addEventListener("DOMContentLoaded", connect);
  document.addEventListener("htmx:afterSettle", connect);   // the session part was swapped (on-air, tie-ins)
  window.addEventListener("pagehide", function () { if (socket) { socket.onclose = null; socket.close(); } });
})();
