// b2m web app: the session's CSRF token on htmx requests, and the timeline charts (uPlot) fed by the service's
// JSON. No inline script anywhere (the pages' Content-Security-Policy forbids it): everything starts from here.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.verb !== "get") { e.detail.headers["X-CSRF-Token"] = csrf(); }
  });

  // ------------------------------------------------------------------------------------------ formats
  var lang = document.documentElement.lang || undefined;
  var dateFmt = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  // Month and four-digit year ("Feb 2025": "Feb 25" reads as a day); a tick that repeats its neighbour's label is left blank.
  var axisDateFmt = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", timeZone: "UTC" });
  var numFmt = new Intl.NumberFormat(lang, { maximumSignificantDigits: 3 });
  function num(v) { return v == null ? "–" : numFmt.format(v); }

  // Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
  var C = { blue: "#0072B2", orange: "#E69F00", green: "#009E73", verm: "#D55E00", purple: "#CC79A7",
            grey: "#555555", egfr: "#3a7d44", band: "rgba(0, 158, 115, 0.16)", line: "rgba(16, 42, 67, 0.08)" };
  var SYNC = "b2m-timeline";

  // ------------------------------------------------------------------------------------------ data
  function table(points) {
    var xs = [], ys = [], cens = {};
    points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); if (p[2]) { cens[p[0]] = p[2]; } });
    return { xs: xs, ys: ys, cens: cens };
  }
  function joined(tables) {
    var all = {};
    tables.forEach(function (t) { t.xs.forEach(function (x) { all[x] = true; }); });
    var xs = Object.keys(all).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs];
    tables.forEach(function (t) {
      var at = {};
      t.xs.forEach(function (x, i) { at[x] = t.ys[i]; });
      data.push(xs.map(function (x) { return x in at ? at[x] : null; }));
    });
    return data;
  }
  function range(tl) {
    var lo = Infinity, hi = -Infinity;
    Object.keys(tl.series).forEach(function (k) {
      tl.series[k].points.forEach(function (p) { lo = Math.min(lo, p[0]); hi = Math.max(hi, p[0]); });
    });
    (tl.therapy_lines || []).forEach(function (t) { lo = Math.min(lo, t.start); hi = Math.max(hi, t.end || t.start); });
    if (!isFinite(lo)) { return null; }
    var pad = Math.max((hi - lo) * 0.03, 86400 * 7);
    return [lo - pad, hi + pad];
  }

  // ------------------------------------------------------------------------------------------ drawing helpers
  function spansPlugin(tl) {
    // Therapy lines as light bands with their label, on every clinician chart (one time axis).
    return { hooks: { drawClear: [function (u) {
      var lines = tl.therapy_lines || [];
      if (!lines.length) { return; }
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      lines.forEach(function (t, i) {
        var x0 = u.valToPos(t.start, "x", true);
        var x1 = u.valToPos(t.end || u.scales.x.max, "x", true);
        ctx.fillStyle = i % 2 ? "rgba(204, 121, 167, 0.10)" : "rgba(0, 114, 178, 0.08)";
        ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
        ctx.strokeStyle = C.grey; ctx.setLineDash([4, 3]); ctx.beginPath();
        ctx.moveTo(x0, top); ctx.lineTo(x0, top + h); ctx.stroke(); ctx.setLineDash([]);
        ctx.fillStyle = "#1b1f24"; ctx.font = (12 * devicePixelRatio) + "px system-ui, sans-serif";
        ctx.fillText("L" + t.line + (t.regimen ? " " + t.regimen : ""), x0 + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
      });
      ctx.restore();
    }] } };
  }
  function bandPlugin(lower, upper, scale) {
    return { hooks: { drawClear: [function (u) {
      if (upper == null) { return; }
      var ctx = u.ctx;
      var y0 = u.valToPos(upper, scale, true), y1 = u.valToPos(lower || 0, scale, true);
      ctx.save(); ctx.fillStyle = C.band;
      ctx.fillRect(u.bbox.left, y0, u.bbox.width, y1 - y0);
      ctx.restore();
    }] } };
  }
  function hlinesPlugin(values, scale) {
    return { hooks: { draw: [function (u) {
      var ctx = u.ctx;
      ctx.save(); ctx.strokeStyle = C.grey; ctx.setLineDash([2, 4]); ctx.lineWidth = devicePixelRatio;
      values.forEach(function (v) {
        var y = u.valToPos(v, scale, true);
        if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) { return; }
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
      });
      ctx.restore();
    }] } };
  }
  function responsePlugin(tl) {
    // IMWG categories at their dates (bold: confirmed) and progression events, on a strip of their own.
    return { hooks: { draw: [function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, dpr = devicePixelRatio;
      ctx.save();
      ctx.textAlign = "center";
      (tl.assessments || []).forEach(function (a, i) {
        var x = u.valToPos(a.t, "x", true);
        var row = top + h * (i % 2 ? 0.72 : 0.45);
        ctx.font = (a.confirmed ? "bold " : "italic ") + (12 * dpr) + "px system-ui, sans-serif";
        ctx.fillStyle = a.category === "PD" ? C.verm : "#102a43";
        ctx.fillText(a.category === "not_evaluable" ? "NE" : a.category, x, row);
        ctx.fillRect(x - dpr, top + h * 0.85, 2 * dpr, h * 0.15);
      });
      (tl.progression || []).forEach(function (p) {
        var x = u.valToPos(p.t, "x", true);
        ctx.strokeStyle = C.verm; ctx.lineWidth = 2 * dpr; ctx.beginPath();
        ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
      });
      ctx.restore();
    }] } };
  }

  // Ticks at the first of a month in UTC, the time zone the dates and labels are written in, every 1, 2, 3, 6 or 12
  // months as the width allows. uPlot's own month ticks fall at the browser's local midnight: east of UTC that is
  // the last day of the month before in UTC, and every label named the month before.
  function monthSplits(u, axisIdx, min, max) {
    var d = new Date(min * 1000), y = d.getUTCFullYear(), m = d.getUTCMonth();
    var months = (max - min) / (86400 * 30.44), room = Math.max(1, Math.floor((u.width || 600) / 80));
    var step = [1, 2, 3, 6, 12, 24, 60].filter(function (s) { return months / s <= room; })[0] || 120;
    m += 1;  // the first month start after min
    while ((y * 12 + m) % step !== 0) { m += 1; }
    var out = [];
    for (var i = 0; i < 1000; i++) {
      var t = Date.UTC(y, m, 1) / 1000;
      if (t > max) { break; }
      if (t >= min) { out.push(t); }
      m += step;
    }
    return out;
  }

  function baseOpts(el, tl, height, extra) {
    var width = Math.max(280, el.clientWidth || el.parentNode.clientWidth || 600);
    var x = range(tl);
    return Object.assign({
      width: width,
      height: height,
      cursor: { sync: { key: SYNC }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: function () { return x; } } },
      legend: { live: true },
      axes: [{ splits: monthSplits,
               values: function (u, splits) {
                 var prev = null;
                 return splits.map(function (s) {
                   var t = axisDateFmt.format(new Date(s * 1000));
                   var shown = t === prev ? "" : t;
                   prev = t;
                   return shown;
                 });
               },
               stroke: "#1b1f24", grid: { stroke: C.line } }],
      series: [{ value: function (u, v) { return v == null ? "–" : dateFmt.format(new Date(v * 1000)); } }],
      plugins: []
    }, extra || {});
  }
  function valueFmt(unit, cens) {
    return function (u, v, sidx, didx) {
      if (v == null) { return "–"; }
      var x = u.data[0][didx];
      return (cens && cens[x] ? cens[x] : num(v)) + " " + unit;
    };
  }
  function yAxis(scale, label, side) {
    return { scale: scale, label: label, side: side || 3, stroke: "#1b1f24", grid: { stroke: side === 1 ? null : C.line },
             values: function (u, splits) { return splits.map(num); }, size: 56 };
  }

  // The charts of one timeline share the time axis, so their plot areas must line up: a chart without an axis on
  // one side gets an empty one of the same width there (a new user saw the FLC chart's dates shifted).
  function spacer(scale, side) {
    return { scale: scale, side: side, label: "", size: 56, stroke: "transparent", grid: { show: false },
             ticks: { show: false }, values: function (u, splits) { return splits.map(function () { return ""; }); } };
  }
  function aligned(o) {
    var scale = Object.keys(o.scales).filter(function (k) { return k !== "x"; })[0];
    [3, 1].forEach(function (side) {
      var has = o.axes.slice(1).some(function (a) { return (a.side || 3) === side && a.show !== false; });  // [0]: time
      if (!has) { o.axes.push(spacer(scale, side)); }
    });
    return o;
  }

  function chartB2M(el, tl, withEgfr) {
    var b = table(tl.series.b2m.points), e = table(tl.series.egfr.points);
    var tables = withEgfr && e.xs.length ? [b, e] : [b];
    var o = baseOpts(el, tl, 240);
    o.scales.y = { range: function (u, lo, hi) { return [0, Math.max(hi || 1, (tl.b2m_interval || {}).upper || 0) * 1.12]; } };
    o.series.push({ label: "B2M", scale: "y", stroke: C.blue, width: 2, points: { size: 7, fill: C.blue },
                    spanGaps: true, value: valueFmt("mg/L", b.cens) });
    o.axes.push(yAxis("y", "B2M, mg/L"));
    if (tables.length > 1) {
      o.scales.egfr = { range: function (u, lo, hi) { return [0, Math.max(hi || 60, 90) * 1.1]; } };
      o.series.push({ label: "eGFR", scale: "egfr", stroke: C.egfr, width: 2, dash: [6, 4], points: { size: 6, fill: "#fff" },
                      spanGaps: true, value: valueFmt("mL/min/1.73 m²", e.cens) });
      o.axes.push(yAxis("egfr", "eGFR", 1));
    }
    var iv = tl.b2m_interval;
    if (iv) { o.plugins.push(bandPlugin(iv.lower, iv.upper, "y")); }
    if (tl.therapy_lines) { o.plugins.push(spansPlugin(tl)); }
    return new uPlot(aligned(o), joined(tables), el);
  }
  function chartEgfr(el, tl) {
    var e = table(tl.series.egfr.points);
    var o = baseOpts(el, tl, 220);
    o.scales.y = { range: function (u, lo, hi) { return [0, Math.max(hi || 60, 90) * 1.1]; } };
    o.series.push({ label: "eGFR", stroke: C.egfr, width: 2, points: { size: 7, fill: C.egfr }, spanGaps: true,
                    value: valueFmt("mL/min/1.73 m²", e.cens) });
    o.axes.push(yAxis("y", "eGFR"));
    o.plugins.push(hlinesPlugin(tl.egfr_thresholds || [], "y"));
    return new uPlot(aligned(o), joined([e]), el);
  }
  function chartMProtein(el, tl) {
    var s = table(tl.series.m_protein.points), r = table(tl.series.urine_m_protein.points);
    var tables = [s], o = baseOpts(el, tl, 220);
    o.scales.y = { range: function (u, lo, hi) { return [0, (hi || 1) * 1.15]; } };
    o.series.push({ label: "Serum M-protein", scale: "y", stroke: C.verm, width: 2, points: { size: 7, fill: C.verm },
                    spanGaps: true, value: valueFmt("g/dL", s.cens) });
    o.axes.push(yAxis("y", "g/dL"));
    if (r.xs.length && !el.closest("[data-audience='patient']")) {
      tables.push(r);
      o.scales.urine = { range: function (u, lo, hi) { return [0, (hi || 1) * 1.15]; } };
      o.series.push({ label: "Urine M-protein", scale: "urine", stroke: C.purple, width: 2, dash: [6, 4],
                      points: { size: 6, fill: "#fff" }, spanGaps: true, value: valueFmt("mg/24 h", r.cens) });
      o.axes.push(yAxis("urine", "mg/24 h", 1));
    }
    if (tl.therapy_lines) { o.plugins.push(spansPlugin(tl)); }
    return new uPlot(aligned(o), joined(tables), el);
  }
  function chartFlc(el, tl) {
    var k = table(tl.series.flc_kappa.points), l = table(tl.series.flc_lambda.points);
    var inv = tl.involved_light_chain, o = baseOpts(el, tl, 220);
    o.scales.y = { distr: 3 };
    o.series.push({ label: "kappa" + (inv === "kappa" ? " (involved)" : ""), stroke: C.orange, width: 2,
                    points: { size: 7, fill: C.orange }, spanGaps: true, value: valueFmt("mg/L", k.cens) });
    o.series.push({ label: "lambda" + (inv === "lambda" ? " (involved)" : ""), stroke: C.purple, width: 2, dash: [6, 4],
                    points: { size: 7, fill: C.purple }, spanGaps: true, value: valueFmt("mg/L", l.cens) });
    o.axes.push(yAxis("y", "mg/L"));
    if (tl.therapy_lines) { o.plugins.push(spansPlugin(tl)); }
    return new uPlot(aligned(o), joined([k, l]), el);
  }
  function chartResponse(el, tl) {
    var xs = (tl.assessments || []).map(function (a) { return a.t; });
    var o = baseOpts(el, tl, 110);
    o.scales.y = { range: [0, 1] };
    o.series.push({ label: "Assessments", show: true, stroke: "transparent", points: { show: false },
                    value: function (u, v, sidx, didx) {
                      var a = tl.assessments[didx];
                      return a ? (a.category + (a.confirmed ? " (confirmed)" : " (unconfirmed)")) : "–";
                    } });
    o.plugins.push(spansPlugin(tl), responsePlugin(tl));
    return new uPlot(aligned(o), [xs, xs.map(function () { return 0.5; })], el);
  }

  var builders = {
    "b2m": function (el, tl) { return chartB2M(el, tl, true); },
    "b2m-only": function (el, tl) { return chartB2M(el, tl, false); },
    "egfr": chartEgfr, "mprotein": chartMProtein, "flc": chartFlc, "response": chartResponse
  };

  var made = [];
  function draw(root) {
    var groups = (root || document).querySelectorAll("[data-timeline]");
    var cache = {};
    groups.forEach(function (g) {
      var src = g.getAttribute("data-timeline");
      cache[src] = cache[src] || fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
      cache[src].then(function (tl) {
        g.querySelectorAll("[data-chart]").forEach(function (el) {
          var build = builders[el.getAttribute("data-chart")];
          if (!build || el.getAttribute("data-drawn")) { return; }
          el.setAttribute("data-drawn", "1");
          if (!range(tl)) { el.textContent = "No results to draw yet."; return; }
          try { var u = build(el, tl); el.b2mChart = u; made.push({ el: el, u: u }); } catch (err) { el.textContent = "The chart could not be drawn; the values are in the table below."; }
        });
        g.setAttribute("data-ready", "1");
      }).catch(function () {
        g.setAttribute("data-ready", "error");
      });
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      made.forEach(function (m) {
        var w = Math.max(280, m.el.clientWidth || m.el.parentNode.clientWidth);
        m.u.setSize({ width: w, height: m.u.height });
      });
    }, 150);
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
