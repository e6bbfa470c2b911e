/* The statistics page's charts, drawn with the vendored Chart.js (chart.umd.js) from the page's data
   block (<script type="application/json" id="chart-data">, written by console_web/statistics.py).
   No inline script: the page's Content-Security-Policy allows scripts from our own static files only.
   Money arrives in fen and is shown in yuan; the tables beside the charts carry the exact figures. */
(function () {
  "use strict";
  function yuan(fen) { return fen === null || fen === undefined ? null : fen / 100; }
  function money(v) { return "¥" + Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}); }
  var FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

  function daily(canvas, d) {
    return new window.Chart(canvas, {
      data: {
        labels: d.labels.map(function (s) { return s.slice(5); }),
        datasets: [
          {type: "bar", label: "成交额（元）", data: d.gmv_fen.map(yuan), backgroundColor: "#c0392b", yAxisID: "y"},
          {type: "line", label: "订单数", data: d.orders, borderColor: "#1d63c9", backgroundColor: "#1d63c9",
           pointRadius: 2, tension: 0.2, yAxisID: "orders"}
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false, interaction: {mode: "index", intersect: false},
        scales: {
          y: {beginAtZero: true, position: "left", ticks: {callback: function (v) { return "¥" + v; }}},
          orders: {beginAtZero: true, position: "right", grid: {drawOnChartArea: false}, ticks: {precision: 0}}
        },
        plugins: {tooltip: {callbacks: {label: function (c) {
          return c.dataset.label + "：" + (c.dataset.yAxisID === "y" ? money(c.parsed.y) : c.parsed.y);
        }}}}
      }
    });
  }

  function targets(canvas, d) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          {label: "本期成交额", data: d.gmv_fen.map(yuan), backgroundColor: "#c0392b"},
          {label: "去年同期", data: d.last_year_gmv_fen.map(yuan), backgroundColor: "#9aa5b1"},
          {label: "目标", data: d.target_gmv_fen.map(yuan), backgroundColor: "#f0b429"}
        ]
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        scales: {x: {beginAtZero: true, ticks: {callback: function (v) { return "¥" + v; }}}},
        plugins: {tooltip: {callbacks: {label: function (c) {
          return c.dataset.label + "：" + (c.parsed.x === null ? "无" : money(c.parsed.x));
        }}}}
      }
    });
  }

  var KINDS = {daily: daily, targets: targets};

  function draw() {
    var block = document.getElementById("chart-data");
    if (!block || !window.Chart) { return; }
    var data = JSON.parse(block.textContent);
    window.Chart.defaults.font.family = FONT;
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      var kind = canvases[i].getAttribute("data-chart");
      if (KINDS[kind] && data[kind]) { KINDS[kind](canvases[i], data[kind]); }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
