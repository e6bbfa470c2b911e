// The content editor (内容管理): a contenteditable with a small toolbar over the form's textarea.
// The textarea stays the form field (and the editor without JavaScript); the server sanitises
// whatever is sent (server/content/sanitize.py), so this file only helps with typing.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("content-form");
    if (!form) { return; }
    var source = form.querySelector(".editor-source");
    var editor = form.querySelector(".editor");
    var toolbar = form.querySelector(".editor-toolbar");
    if (!source || !editor || !toolbar) { return; }
    // The stored body is sanitised already; it is parsed into an inert document first, and only
    // its nodes are moved in (no script element can run from a parsed template).
    var doc = new DOMParser().parseFromString("<body>" + source.value + "</body>", "text/html");
    doc.querySelectorAll("script,style,iframe,object,embed").forEach(function (n) { n.remove(); });
    while (doc.body.firstChild) { editor.appendChild(document.importNode(doc.body.firstChild, true)); doc.body.removeChild(doc.body.firstChild); }
    editor.hidden = false;
    toolbar.hidden = false;
    source.hidden = true;
    toolbar.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-cmd]");
      if (!b) { return; }
      var cmd = b.getAttribute("data-cmd");
      var arg = b.getAttribute("data-arg");
      if (cmd === "createLink") {
        arg = window.prompt("链接地址（https://…）", "https://");
        if (!arg) { return; }
      }
      editor.focus();
      document.execCommand(cmd, false, arg);
    });
    form.addEventListener("submit", function () { source.value = editor.innerHTML; });
  });
})();
