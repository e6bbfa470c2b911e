/* 商户工作台: product photos. A photo is scaled in the browser to at most data-long-side pixels on its
   long side (JPEG) before upload, so a phone's 12 MB photo goes as a few hundred KB; what the browser
   cannot decode (HEIC in most browsers) is sent as it is and converted by the server. The server's own
   limit and checks still apply; its message is shown beside the field. No inline scripts (CSP). */
(function () {
  "use strict";

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function decode(file) {
    if (!window.createImageBitmap) { return Promise.reject(new Error("no decoder")); }
    return createImageBitmap(file, { imageOrientation: "from-image" });
  }

  function scaled(file, longSide, maxBytes) {
    return decode(file).then(function (bmp) {
      var w = bmp.width, h = bmp.height, longest = Math.max(w, h);
      var plain = /^image\/(jpeg|png|webp)$/.test(file.type);
      if (longest <= longSide && plain && file.size <= maxBytes) {
        if (bmp.close) { bmp.close(); }
        return { blob: file, name: file.name };
      }
      var k = Math.min(1, longSide / longest);
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * k));
      canvas.height = Math.max(1, Math.round(h * k));
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      if (bmp.close) { bmp.close(); }
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve({ blob: blob || file, name: (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg" });
        }, "image/jpeg", 0.88);
      });
    }, function () {
      return { blob: file, name: file.name };   // not decodable here (HEIC, or not an image): the server decides
    });
  }

  function upload(box, url, item) {
    var fd = new FormData();
    fd.append("file", item.blob, item.name || "photo");
    return fetch(url, { method: "POST", body: fd, credentials: "same-origin",
                        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" } })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var tpl = document.createElement("template");
        tpl.innerHTML = text.trim();
        var err = tpl.content.querySelector("[data-photo-error]");
        if (err) { throw new Error(err.textContent); }
        var li = tpl.content.querySelector("li.photo");
        if (!li) { throw new Error("上传失败，请重试。"); }
        box.querySelector(".photo-list").appendChild(li);
      });
  }

  function say(box, text, bad) {
    var status = box.querySelector(".photo-status");
    var err = box.querySelector(".photo-error");
    if (status) { status.textContent = bad ? "" : text; }
    if (err) { err.textContent = bad ? text : ""; err.hidden = !bad; }
    box.classList.toggle("bad", !!bad);
  }

  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-photo-upload")) { return; }
    var box = input.closest(".photos");
    var form = input.closest("form");
    var submit = form && form.querySelector("button[type=submit]");
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) { return; }
    var url = input.getAttribute("data-photo-upload");
    var longSide = parseInt(input.getAttribute("data-long-side"), 10) || 2048;
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10) || 5242880;
    if (submit) { submit.disabled = true; }
    say(box, "正在处理照片…", false);
    var chain = Promise.resolve(), failed = null;
    files.forEach(function (file) {
      chain = chain.then(function () { return scaled(file, longSide, maxBytes); })
        .then(function (item) { return upload(box, url, item); })
        .catch(function (e) { failed = e && e.message ? e.message : "上传失败，请重试。"; });
    });
    chain.then(function () {
      input.value = "";
      if (submit) { submit.disabled = false; }
      if (failed) { say(box, failed, true); } else { say(box, "照片已上传。", false); }
    });
  });

  document.addEventListener("click", function (ev) {
    var b = ev.target;
    if (b && b.hasAttribute && b.hasAttribute("data-photo-remove")) {
      var li = b.closest("li");
      if (li) { li.parentNode.removeChild(li); }
    }
  });
})();
