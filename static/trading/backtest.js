// Backtest charts, fed by JSON endpoints: a run's equity and its price with trade markers
// (arrows plus B / S, not colour alone), or several runs' returns overlaid (each line has its
// own dash style as well as its own colour, named in the legend).
"use strict";
(function () {
  const LC = window.LightweightCharts;
  const status = document.getElementById("chart-status");
  if (!LC) return;
  const COLORS = ["#1f5fa8", "#b3261e", "#1b6e3a", "#8a5300", "#6a3d9a", "#333333"];
  const DASH = ["solid", "dotted", "dashed", "large dashes", "sparse dots", "solid"];

  function chartIn(box) {
    return LC.createChart(box, {
      autoSize: true,
      layout: { attributionLogo: false },
      // A small minimum spacing lets fitContent show a long run whole (the default, 0.5 px a
      // bar, cut a 10-day minute-bar equity curve to its last few days).
      timeScale: { timeVisible: true, secondsVisible: false, minBarSpacing: 0.01 },
    });
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  async function runCharts(equityBox, priceBox) {
    const data = await fetchJson(equityBox.dataset.chartUrl);
    const equityChart = chartIn(equityBox);
    const equity = equityChart.addSeries(LC.AreaSeries, {
      lineColor: COLORS[0], topColor: "rgba(31, 95, 168, .25)", bottomColor: "rgba(31, 95, 168, .02)",
    });
    equity.setData(data.equity);
    equityChart.timeScale().fitContent();  // the whole run, not only its last bars
    const price = chartIn(priceBox);
    const candles = price.addSeries(LC.CandlestickSeries, {
      upColor: "#1b6e3a", downColor: "#b3261e", borderVisible: false,
      wickUpColor: "#1b6e3a", wickDownColor: "#b3261e",
    });
    candles.setData(data.candles);
    LC.createSeriesMarkers(candles, data.markers);
    price.timeScale().fitContent();
    status.textContent = data.candles.length
      ? data.candles.length + " " + data.timeframe + " candles; " + data.markers.length + " trade markers (B = buy, S = sell)."
      : "The stored candles of this run are gone; the equity curve is still shown.";
  }

  async function compareChart(box) {
    const data = await fetchJson(box.dataset.chartUrl);
    const chart = chartIn(box);
    const legend = document.getElementById("compare-legend");
    data.series.forEach((s, i) => {
      const line = chart.addSeries(LC.LineSeries, {
        color: COLORS[i % COLORS.length], lineStyle: i % 5, lineWidth: 2, title: "#" + (i + 1),
        priceFormat: { type: "custom", formatter: (v) => v.toFixed(2) + " %" },
      });
      line.setData(s.points);
      const item = document.createElement("li");
      item.className = "legend-" + (i % COLORS.length);
      item.textContent = s.name + " (" + DASH[i % DASH.length] + " line)";
      legend.appendChild(item);
    });
    chart.timeScale().fitContent();
    status.textContent = data.series.length + " runs overlaid.";
  }

  function fail(error) {
    if (status) status.textContent = "Could not load the chart (" + error.message + ").";
  }

  const equityBox = document.getElementById("equity-chart");
  const priceBox = document.getElementById("price-chart");
  const compareBox = document.getElementById("compare-chart");
  if (equityBox && priceBox) runCharts(equityBox, priceBox).catch(fail);
  if (compareBox) compareChart(compareBox).catch(fail);
})();
