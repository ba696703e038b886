// The market page's candle chart, fed by the candles.json endpoint; the user's fills are marked
// with arrows and letters (B / S), not colour alone. Polls every 5 s for new candles and fills.
"use strict";
(function () {
  const box = document.getElementById("chart");
  const status = document.getElementById("chart-status");
  if (!box || !window.LightweightCharts) return;
  const LC = window.LightweightCharts;
  const chart = LC.createChart(box, {
    autoSize: true,
    layout: { attributionLogo: false },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const series = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#1b6e3a", downColor: "#b3261e", borderVisible: false,
    wickUpColor: "#1b6e3a", wickDownColor: "#b3261e",
  });
  const markers = LC.createSeriesMarkers(series, []);
  let timeframe = "1h";
  let fitted = false;
  let timer = null;

  function toMarkers(fills) {
    return fills.map((f) => ({
      time: f.time,
      position: f.side === "buy" ? "belowBar" : "aboveBar",
      color: f.side === "buy" ? "#1b6e3a" : "#b3261e",
      shape: f.side === "buy" ? "arrowUp" : "arrowDown",
      text: (f.side === "buy" ? "B " : "S ") + f.amount + " @ " + f.price,
    }));
  }

  async function load() {
    try {
      const response = await fetch(box.dataset.candlesUrl + "?tf=" + encodeURIComponent(timeframe),
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      series.applyOptions({ priceFormat: { type: "price", precision: data.price_decimals,
        minMove: Math.pow(10, -data.price_decimals) } });
      series.setData(data.candles);
      markers.setMarkers(toMarkers(data.fills));
      if (data.candles.length && !fitted) { chart.timeScale().fitContent(); fitted = true; }
      status.textContent = data.candles.length
        ? data.candles.length + " candles (" + data.timeframe + "), " + data.fills.length + " of your fills marked."
        : "Fetching candles from the exchange…";
    } catch (error) {
      status.textContent = "Could not load candles (" + error.message + "); retrying.";
    }
  }

  document.querySelectorAll("[data-timeframe]").forEach((button) => {
    button.addEventListener("click", () => {
      timeframe = button.dataset.timeframe;
      fitted = false;
      document.querySelectorAll("[data-timeframe]").forEach((b) =>
        b.setAttribute("aria-pressed", String(b === button)));
      load();
    });
  });
  load();
  timer = window.setInterval(load, 5000);
  window.addEventListener("pagehide", () => window.clearInterval(timer));
})();
