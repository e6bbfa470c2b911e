/* The warehouse and station desks: scanner fields, printing, the camera as an optional scanner.
   A USB/Bluetooth scanner types the code and Enter into the focused field. Every scan is sent with its
   own id (the server writes a scan id once), in order, one after the other, so a slow network neither
   loses nor doubles a scan. A scan that meets an expired session is kept in this tab and offered again
   after signing in (with the same id: it still counts once). No inline scripts (CSP). */
(function () {
  "use strict";
  var KEY = "kz-pending:" + location.pathname;
  var queue = Promise.resolve();

  function newId() {
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function pending() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function setPending(list) {
    try {
      if (list.length) { sessionStorage.setItem(KEY, JSON.stringify(list)); } else { sessionStorage.removeItem(KEY); }
    } catch (e) { /* private mode: nothing kept */ }
    var n = document.getElementById("scan-pending");
    if (n) { n.textContent = list.length ? ("正在提交 " + list.length + " 次扫描…") : ""; }
  }
  function drop(sid) { setPending(pending().filter(function (p) { return p.sid !== sid; })); }
  function focusScan() {
    var el = document.querySelector(".scan-input[autofocus]") || document.querySelector(".scan-input");
    if (el && document.activeElement !== el && !(document.activeElement && document.activeElement.closest &&
        document.activeElement.closest("form:not([data-scan])"))) { el.focus(); }
  }

  // Scan forms: Enter sends (code, scan id) through htmx, queued in order; the field is free at once.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-scan") || !window.htmx) { return; }
    ev.preventDefault();
    ev.stopPropagation();
    var input = form.querySelector(".scan-input");
    var code = (input.value || "").trim();
    input.value = "";
    if (!code) { return; }
    var sid = form.getAttribute("data-retry-code") === code ? form.getAttribute("data-retry-id") : newId();
    form.removeAttribute("data-retry-code");
    var list = pending();
    // a wave's or task's code only opens another page: nothing to keep for it
    if (!/^[WT]:/.test(code)) { list.push({ code: code, sid: sid }); }
    setPending(list);
    queue = queue.then(function () {
      return htmx.ajax("POST", form.getAttribute("data-url"), {
        source: form, target: form.getAttribute("data-target"), swap: form.getAttribute("data-swap") || "innerHTML",
        values: { code: code, scan_id: sid }
      });
    }).then(function () {
      if (!form.hasAttribute("data-expired")) { drop(sid); }
      focusScan();
    }, function () {
      // network failure: the scan stays pending; offered again on Enter with the same id
      form.setAttribute("data-retry-code", code);
      form.setAttribute("data-retry-id", sid);
      if (!input.value) { input.value = code; }
    });
  }, true);

  // An expired session during a scan: keep what was not written, sign in, come back to this page.
  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    var xhr = ev.detail.xhr;
    var to = xhr && xhr.getResponseHeader("HX-Redirect");
    var form = ev.detail.elt && ev.detail.elt.closest && ev.detail.elt.closest("[data-scan]");
    if (!to || to.indexOf("/console/login") !== 0 || !form) { return; }
    ev.preventDefault();
    form.setAttribute("data-expired", "1");
    location.href = "/console/login?reason=expired&next=" + encodeURIComponent(location.pathname);
  });

  // Counter forms (station): after each answer the field is empty and focused for the next code.
  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.detail.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-reset")) { return; }
    var input = form.querySelector(".scan-input");
    if (input) { input.value = ""; input.focus(); }
  });

  function offerPending() {
    var list = pending();
    var form = document.querySelector("form[data-scan]");
    if (!list.length || !form) { return; }
    var box = document.getElementById("scan-kept");
    if (box) {
      box.hidden = false;
      box.querySelector(".codes").textContent = list.map(function (p) { return p.code; }).join("、");
    }
    // the first unsent scan goes back into the field with its own id: Enter sends it (counted once)
    form.setAttribute("data-retry-code", list[0].code);
    form.setAttribute("data-retry-id", list[0].sid);
    form.querySelector(".scan-input").value = list[0].code;
    setPending(list.slice(1));
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t && t.hasAttribute && t.hasAttribute("data-print")) { ev.preventDefault(); window.print(); }
  });

  // The phone camera as a scanner where the browser offers BarcodeDetector (HTTPS); never required.
  function camera() {
    var buttons = document.querySelectorAll("[data-camera]");
    if (!buttons.length || !window.isSecureContext || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
    Array.prototype.forEach.call(buttons, function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var form = document.getElementById(b.getAttribute("data-camera"));
        var video = document.getElementById("camera-view");
        var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128", "ean_13"] });
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          video.play();
          var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
          var look = function () {
            detector.detect(video).then(function (codes) {
              if (codes.length) {
                stop();
                var input = form.querySelector("input[name=code], input[name=qr], .scan-input");
                input.value = codes[0].rawValue;
                if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
              } else { setTimeout(look, 250); }
            }, function () { setTimeout(look, 500); });
          };
          look();
        }, function () { /* no permission: typing and the scanner still work */ });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    offerPending();
    focusScan();
    camera();
  });
})();
