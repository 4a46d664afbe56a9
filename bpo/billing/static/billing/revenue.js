// The revenue chart of the billing page: Chart.js over the series the page carries as JSON.
// A bar per month, stacked by client and service, one stack per currency; the values are also
// in the table under the chart.
(function () {
  "use strict";
  const source = document.getElementById("revenue-data");
  const canvas = document.getElementById("revenue-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"];
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (set, n) {
        return {
          label: set.label,
          stack: set.stack,
          data: set.data.map(Number),
          backgroundColor: palette[n % palette.length] + "cc",
          borderColor: palette[n % palette.length],
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
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "net amount" } } },
    },
  });
})();
