// The charts of the finance overview: Chart.js over the series each section carries as JSON.
// "cash": each account's closing balance per daily report (a line per account and currency);
// "lines": each account's bank lines, reconciled and open (stacked bars). The figures are also
// in the tables beside the chart.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  const palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    const data = JSON.parse(source.textContent);
    const cash = data.kind === "cash";
    const colours = cash ? palette : ["#198754", "#fd7e14"];
    new Chart(canvas, {
      type: cash ? "line" : "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, n) {
          const colour = colours[n % colours.length];
          return {
            label: set.label,
            data: set.data.map(function (v) { return v === null ? null : Number(v); }),
            backgroundColor: colour + "cc",
            borderColor: colour,
            spanGaps: true,
            tension: 0.2,
          };
        }),
      },
      options: {
        locale: data.locale,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: cash
          ? { y: { title: { display: true, text: "closing balance" } } }
          : {
              x: { stacked: true },
              y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "bank lines" } },
            },
      },
    });
  });
})();
