// The service dashboard's charts: Chart.js over the series the page carries as JSON.
// Every chart's values are also in the table under it (for screen readers and copying).
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"];
  const shortDays = data.labels.map(function (day) { return day.slice(5); });

  function series(named, type) {
    return Object.keys(named).map(function (name, n) {
      return {
        label: name,
        data: named[name],
        type: type,
        borderColor: palette[n % palette.length],
        backgroundColor: palette[n % palette.length] + (type === "bar" ? "cc" : "33"),
        spanGaps: true,
        tension: 0.25,
        pointRadius: 2,
      };
    });
  }

  function draw(key, config) {
    const canvas = document.querySelector('canvas[data-chart="' + key + '"]');
    if (canvas) {
      config.options = Object.assign(
        { responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { position: "bottom" } } },
        config.options || {}
      );
      new Chart(canvas, config);
    }
  }

  draw("sla", {
    type: "line",
    data: { labels: shortDays, datasets: series(data.sla, "line") },
    options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "% met" } } } },
  });
  draw("created", {
    type: "bar",
    data: { labels: shortDays, datasets: series(data.created, "bar") },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "items" } } } },
  });
  const quality = series(data.quality, "line");
  quality.forEach(function (s) { s.yAxisID = "percent"; });
  const aht = series({ "AHT (minutes)": data.aht }, "bar")[0];
  aht.yAxisID = "minutes";
  aht.backgroundColor = "#adb5bd88";
  aht.borderColor = "#adb5bd";
  draw("quality", {
    type: "bar",
    data: { labels: shortDays, datasets: quality.concat([aht]) },
    options: { scales: {
      percent: { position: "left", min: 0, max: 100, title: { display: true, text: "%" } },
      minutes: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "minutes" } },
    } },
  });
  const states = Object.keys(data.backlog.counts);
  draw("backlog", {
    type: "bar",
    data: {
      labels: states,
      datasets: data.backlog.ages.map(function (age, n) {
        return { label: age, data: states.map(function (s) { return data.backlog.counts[s][n]; }),
                 backgroundColor: ["#9ec5fe", "#6ea8fe", "#fd9843", "#dc3545"][n] };
      }),
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } },
  });
})();
