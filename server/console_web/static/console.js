/* The console's few behaviours that htmx attributes do not cover. No inline scripts. */
(function () {
  "use strict";
  // A button with data-confirm asks first (irreversible actions: reject, suspend, take down, revoke).
  document.addEventListener("htmx:confirm", function (ev) {
    var el = ev.detail.elt;
    var q = el && el.getAttribute("data-confirm");
    if (!q) { return; }
    ev.preventDefault();
    if (window.confirm(q)) { ev.detail.issueRequest(true); }
  });
  // A file larger than the form allows is refused here, before it is sent (the server refuses it too).
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var form = ev.detail.elt;
    var input = form && form.querySelector && form.querySelector("input[type=file][data-max-bytes]");
    if (!input || !input.files || !input.files.length) { return; }
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    if (input.files[0].size > max) {
      ev.preventDefault();
      var f = document.getElementById("flash");
      if (f) {
        f.innerHTML = '<div class="flash error" role="alert">文件太大（' + (input.files[0].size / 1048576).toFixed(1) +
          ' MB），上限 ' + Math.round(max / 1048576) + ' MB。请分批导入。</div>';
      }
    }
  });
  // A plain form (not htmx) with a photo over its limit: refused here, beside the field, before the
  // file is sent (the server refuses it too, but a browser cut off mid-upload shows only a reset).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.querySelectorAll || form.hasAttribute("hx-post")) { return; }
    var refused = false;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file][data-max-bytes]"), function (input) {
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var field = input.closest(".field") || input.parentNode;
      var old = field.querySelector("em.err[data-client]");
      if (old) { old.parentNode.removeChild(old); }
      var big = Array.prototype.filter.call(input.files || [], function (f) { return f.size > max; })[0];
      if (!big) { return; }
      refused = true;
      var em = document.createElement("em");
      em.className = "err";
      em.setAttribute("data-field", input.name);
      em.setAttribute("data-client", "1");
      em.textContent = "照片 " + big.name + " 太大（" + (big.size / 1048576).toFixed(1) + " MB），每张不超过 " +
        Math.floor(max / 1048576) + " MB，请换一张较小的照片。";
      field.appendChild(em);
      field.classList.add("bad");
    });
    if (refused) { ev.preventDefault(); }
  });
  // Network failure: say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var f = document.getElementById("flash");
    if (f) { f.innerHTML = '<div class="flash error" role="alert">网络连接失败，请检查网络后重试。</div>'; }
  });
  // The sign-in page's send button counts down once a code went out (one code a minute per phone).
  document.addEventListener("htmx:afterRequest", function (ev) {
    var b = ev.detail.elt;
    if (!b || !b.hasAttribute || !b.hasAttribute("data-countdown")) { return; }
    if (!ev.detail.xhr || ev.detail.xhr.getResponseHeader("X-Kz-Sent") !== "1") { return; }
    var left = parseInt(b.getAttribute("data-countdown"), 10) || 60;
    var text = b.getAttribute("data-text") || b.textContent;
    b.setAttribute("data-text", text);
    b.disabled = true;
    var t = setInterval(function () {
      left -= 1;
      b.textContent = left + " 秒后可重发";
      if (left <= 0) { clearInterval(t); b.disabled = false; b.textContent = text; }
    }, 1000);
  });
})();
