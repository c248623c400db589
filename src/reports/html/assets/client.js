/* benchalign report.html: reads the embedded JSON, builds the table and draws the charts with uPlot. */
/* global uPlot, document, window, performance */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('benchalign-data').textContent);
  var jobs = data.jobs;
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#ad494a', '#637939'];
  var multiDevice = data.devices.length > 1;
  var charts = {};
  window.__benchalignCharts = charts;
  window.__benchalignPalette = PALETTE;

  // ---- formatting: mirrors src/reports/format.ts ----
  function fmtMs(ms) {
    if (ms === undefined || ms === null || !isFinite(ms)) return '–';
    if (ms >= 100) return ms.toFixed(0);
    if (ms >= 10) return ms.toFixed(1);
    if (ms >= 1) return ms.toFixed(2);
    return ms.toFixed(3);
  }
  function fmtEst(e) { return e ? fmtMs(e[0]) + ' [' + fmtMs(e[1]) + ', ' + fmtMs(e[2]) + ']' : '–'; }
  function fmtBytes(b) {
    if (b === undefined || b === null || !isFinite(b)) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var v = Math.abs(b), u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return (b < 0 ? '-' : '') + (v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[u];
  }
  function fmtNum(x, digits) {
    if (digits === undefined) digits = 3;
    if (x === undefined) return '–';
    if (x === null) return '∞';
    if (isNaN(x)) return 'NaN';
    if (!isFinite(x)) return x > 0 ? '∞' : '-∞';
    if (x === 0) return '0';
    var a = Math.abs(x);
    if (a < 1e-3 || a >= 1e6) return x.toExponential(digits - 1);
    return String(Number(x.toPrecision(digits)));
  }
  function fmtPct(x, digits) { return x === undefined || x === null || !isFinite(x) ? '–' : x.toFixed(digits === undefined ? 1 : digits) + '%'; }
  /** Output figures: absent (undefined) when the output was not compared; SNR null is ∞. */
  function fmtCos(x) { return x === undefined ? '–' : x.toFixed(6); }
  function fmtSnr(x) { return x === undefined ? '–' : x === null ? '∞' : x.toFixed(1); }
  function esc(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
  function el(id) { return document.getElementById(id); }
  function uniq(xs) { var seen = new Set(), out = []; xs.forEach(function (x) { if (!seen.has(x)) { seen.add(x); out.push(x); } }); return out; }

  function deviceLabel(j) { var d = data.devices[j.device]; return d ? d.label : 'unknown device'; }
  /** Series label: engine variant, plus the device when the runs span several. */
  function runLabel(j) { return data.runs[j.run].label; }
  function seriesLabel(j) { return (multiDevice ? j.variant + ' · ' + deviceLabel(j) : j.variant) + (data.multiRun ? ' · ' + runLabel(j) : ''); }
  function baseKey(j) { return j.model + '\u0000' + j.device + (data.multiRun ? '\u0000' + j.run : ''); }
  var seriesLabels = uniq(jobs.map(seriesLabel));
  function colorOf(label) { var i = seriesLabels.indexOf(label); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }
  var models = uniq(jobs.map(function (j) { return j.model; }));

  // ---- header ----
  el('meta').textContent = jobs.length + ' job(s) from ' + data.runs.length + ' run(s) on ' + data.devices.length + ' device(s) · baseline ' + data.baseline +
    ' · generated ' + data.generatedAt + ' · benchalign ' + data.toolVersion;
  el('baseline-name').textContent = data.baseline;

  // ---- problems: failed, errored, skipped and unstable jobs are never dropped ----
  var problems = jobs.filter(function (j) { return j.status !== 'ok' || j.statusText !== 'ok' || j.notes.length > 0; });
  if (problems.length > 0) {
    el('problems-section').hidden = false;
    el('problems').innerHTML = problems.map(function (j) {
      var why = [j.reason || (j.status !== 'ok' ? 'no reason recorded' : j.unstableWhy || '')].concat(j.notes).filter(Boolean).join('; ');
      return '<li data-i="' + j.i + '" class="problem"><b>' + esc(j.model + ' / ' + j.variant) + '</b>' + (multiDevice ? ' on ' + esc(deviceLabel(j)) : '') +
        ' (<span class="status-' + esc(j.status) + '">' + esc(j.statusText) + '</span>): <span class="why">' + esc(why) + '</span>' +
        (j.stderrTail ? '<details><summary>worker stderr</summary><pre>' + esc(j.stderrTail) + '</pre></details>' : '') + '</li>';
    }).join('');
  }

  // ---- summary table ----
  var COLUMNS = [
    { key: 'model', label: 'model', v: function (j) { return j.model; } },
    { key: 'engine', label: 'engine', v: function (j) { return j.variant; }, t: function (j) { return j.variant + (j.version ? ' ' + j.version : ''); } },
    { key: 'precision', label: 'precision', v: function (j) { return j.precision; } },
  ].concat(data.multiRun ? [{ key: 'run', label: 'run', v: runLabel }] : []).concat([
    { key: 'device', label: 'device', v: deviceLabel },
    { key: 'status', label: 'status', v: function (j) { return j.statusText; }, html: function (j) {
      var cls = j.statusText === 'ok (unstable)' ? 'status-unstable' : 'status-' + j.status;
      return '<span class="' + cls + '">' + esc(j.statusText) + '</span>' + (j.reason ? '<span class="reason">' + esc(j.reason) + '</span>' : '');
    } },
    { key: 'p50', label: 'p50 ms [95% CI]', num: true, v: function (j) { return j.p50 && j.p50[0]; }, t: function (j) { return fmtEst(j.p50); } },
    { key: 'p99', label: 'p99 ms [95% CI]', num: true, v: function (j) { return j.p99 && j.p99[0]; }, t: function (j) { return fmtEst(j.p99); } },
    { key: 'samples', label: 'samples', num: true, v: function (j) { return j.count; }, t: function (j) { return j.count === undefined ? '–' : String(j.count); } },
    { key: 'throughput', label: 'inf/s', num: true, v: function (j) { return j.throughput; }, t: function (j) { return fmtNum(j.throughput, 4); } },
    { key: 'peakRss', label: 'peak RSS', num: true, v: function (j) { return j.peakRssBytes; }, t: function (j) { return fmtBytes(j.peakRssBytes); } },
    { key: 'cpu', label: 'CPU', num: true, v: function (j) { return j.cpuPct; }, t: function (j) { return fmtPct(j.cpuPct, 0); } },
    { key: 'gpu', label: 'GPU util', num: true, v: function (j) { return j.gpuUtilPct; }, t: function (j) { return fmtPct(j.gpuUtilPct, 0); } },
    { key: 'energy', label: 'J/inference', num: true, v: function (j) { return j.energyPerInferenceJ; }, t: function (j) { return fmtNum(j.energyPerInferenceJ); } },
    { key: 'alignment', label: 'alignment', v: function (j) { return j.verdict; }, html: function (j) {
      var t = j.verdict === '–' ? '–' : j.verdict + (j.failedOutputs ? ' (' + j.failedOutputs + '/' + j.outputs.length + ')' : '');
      return '<span class="verdict-' + esc(j.verdict) + '">' + esc(t) + '</span>';
    } },
    { key: 'cosine', label: 'min cosine', num: true, v: function (j) { return j.minCosine; }, t: function (j) { return j.minCosine === undefined ? '–' : j.minCosine.toFixed(6); } },
    { key: 'maxAbs', label: 'max abs err', num: true, v: function (j) { return j.maxAbsError; }, t: function (j) { return fmtNum(j.maxAbsError); } },
  ]);
  var thead = el('summary').tHead, tbody = el('summary').tBodies[0];
  thead.innerHTML = '<tr>' + COLUMNS.map(function (c) { return '<th data-col="' + c.key + '"' + (c.num ? ' class="num"' : '') + '>' + esc(c.label) + '</th>'; }).join('') + '</tr>';
  tbody.innerHTML = jobs.map(function (j) {
    return '<tr data-i="' + j.i + '" data-key="' + esc(j.key) + '" data-run="' + esc(data.runs[j.run].id) + '">' + COLUMNS.map(function (c) {
      var v = c.v(j);
      var attr = v === undefined || v === null ? '' : ' data-v="' + esc(v) + '"';
      var body = c.html ? c.html(j) : esc(c.t ? c.t(j) : v === undefined ? '–' : String(v));
      return '<td data-col="' + c.key + '"' + attr + (c.num ? ' class="num"' : '') + '>' + body + '</td>';
    }).join('') + '</tr>';
  }).join('');
  var rows = Array.prototype.slice.call(tbody.rows);
  var searchText = rows.map(function (r) { return r.textContent.toLowerCase(); });

  function updateCount() {
    var shown = rows.filter(function (r) { return !r.hidden; }).length;
    el('count').textContent = shown === rows.length ? rows.length + ' jobs' : shown + ' of ' + rows.length + ' jobs';
  }
  el('filter').addEventListener('input', function (e) {
    var terms = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    rows.forEach(function (r, i) { r.hidden = !terms.every(function (t) { return searchText[i].indexOf(t) >= 0; }); });
    updateCount();
  });
  updateCount();

  var sortState = { col: null, dir: 1 };
  thead.addEventListener('click', function (e) {
    var th = e.target.closest('th');
    if (!th) return;
    var col = th.getAttribute('data-col');
    var c = COLUMNS.filter(function (x) { return x.key === col; })[0];
    sortState.dir = sortState.col === col ? -sortState.dir : 1;
    sortState.col = col;
    Array.prototype.forEach.call(thead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', sortState.dir > 0 ? 'ascending' : 'descending');
    var ci = COLUMNS.indexOf(c);
    var keyed = rows.map(function (r) { var raw = r.cells[ci].getAttribute('data-v'); return { r: r, v: raw === null ? null : c.num ? Number(raw) : raw }; });
    keyed.sort(function (a, b) {
      if (a.v === null || b.v === null) return a.v === b.v ? 0 : a.v === null ? 1 : -1; // missing values last either way
      if (c.num) return (a.v - b.v) * sortState.dir;
      return a.v.localeCompare(b.v) * sortState.dir;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k.r); });
    tbody.appendChild(frag);
  });
  tbody.addEventListener('click', function (e) {
    var tr = e.target.closest('tr');
    if (tr) showDetail(Number(tr.getAttribute('data-i')));
  });
  el('problems').addEventListener('click', function (e) {
    var li = e.target.closest('li.problem');
    if (li && !e.target.closest('details')) showDetail(Number(li.getAttribute('data-i')));
  });

  // ---- charts ----
  var mainCharts = ['cdf', 'throughput', 'speedup', 'accuracy'];
  var drawn = {};
  function markDrawn(name) {
    if (drawn[name]) return;
    drawn[name] = true;
    if (mainCharts.every(function (n) { return drawn[n]; }) && window.__benchalignRendered === undefined) {
      window.__benchalignRendered = performance.now();
    }
  }
  function widthOf(fig) { return Math.max(320, fig.clientWidth - 18); }
  function empty(name, msg) {
    var fig = el('chart-' + name);
    var old = fig.querySelector('.uplot, .empty');
    if (old) old.remove();
    if (charts[name]) { charts[name].destroy(); delete charts[name]; }
    var d = document.createElement('div');
    d.className = 'empty';
    d.textContent = msg;
    fig.appendChild(d);
    markDrawn(name);
  }
  function plot(name, opts, plotData, target) {
    var fig = target || el('chart-' + name);
    var old = fig.querySelector('.empty');
    if (old) old.remove();
    if (charts[name]) charts[name].destroy();
    opts.width = opts.width || widthOf(fig);
    opts.height = opts.height || 300;
    opts.hooks = opts.hooks || {};
    opts.hooks.draw = (opts.hooks.draw || []).concat([function () { markDrawn(name); }]);
    charts[name] = new uPlot(opts, plotData, fig);
    return charts[name];
  }
  function lineSeries(label, color, extra) {
    var s = { label: label, stroke: color, width: 2, spanGaps: true, points: { show: false } };
    for (var k in extra) s[k] = extra[k];
    return s;
  }
  var probs = [];
  for (var k = 0; k < data.cdfPoints; k++) probs.push(k / (data.cdfPoints - 1));

  function drawCdf(model) {
    var js = jobs.filter(function (j) { return j.model === model && j.cdf.length > 0; });
    if (js.length === 0) return empty('cdf', 'No latency samples for ' + model + '.');
    plot('cdf', {
      scales: { x: { time: false, ori: 1, dir: 1, range: [0, 1] }, y: { ori: 0, dir: 1, distr: 3 } },
      axes: [
        { scale: 'x', side: 3, label: 'fraction of inferences ≤ latency', values: function (u, v) { return v.map(function (x) { return Math.round(x * 100) + '%'; }); } },
        { scale: 'y', side: 2, label: 'latency (ms, log)', values: function (u, v) { return v.map(function (x) { return logTick(x) ? fmtNum(x, 2) : ''; }); } },
      ],
      legend: { live: true },
      series: [{ label: 'P', value: function (u, v) { return v === null ? '–' : (v * 100).toFixed(1) + '%'; } }].concat(js.map(function (j) { return lineSeries(seriesLabel(j), colorOf(seriesLabel(j)), { value: function (u, v) { return fmtMs(v) + ' ms'; } }); })),
    }, [probs].concat(js.map(function (j) { return j.cdf; })));
  }

  function drawThroughput(model) {
    var js = jobs.filter(function (j) { return j.model === model && j.throughputPoints.length > 0; });
    if (js.length === 0) return empty('throughput', 'No throughput measured for ' + model + '.');
    var pts = js.map(function (j) {
      var minBatch = Math.min.apply(null, j.throughputPoints.map(function (p) { return p[1]; }));
      return j.throughputPoints.filter(function (p) { return p[1] === minBatch; });
    });
    var xs = uniq([].concat.apply([], pts.map(function (ps) { return ps.map(function (p) { return p[0]; }); }))).sort(function (a, b) { return a - b; });
    var ys = pts.map(function (ps) { return xs.map(function (x) { var p = ps.filter(function (q) { return q[0] === x; })[0]; return p ? p[2] : null; }); });
    plot('throughput', {
      scales: { x: { time: false, range: function (u, min, max) { return min === max ? [min - 1, max + 1] : [min, max]; } }, y: { range: function (u, min, max) { return [0, max * 1.1 || 1]; } } },
      axes: [{ label: 'concurrent requests', incrs: [1, 2, 4, 8, 16, 32] }, { label: 'items/s' }],
      series: [{ label: 'concurrency' }].concat(js.map(function (j) { return lineSeries(seriesLabel(j), colorOf(seriesLabel(j)), { points: { show: true, size: 9 } }); })),
    }, [xs].concat(ys));
  }

  function drawSpeedup() {
    var base = {};
    jobs.forEach(function (j) { var key = baseKey(j); if (j.variant === data.baseline && j.p50 && !base[key]) base[key] = j; });
    var slots = [], centers = [], names = [];
    models.forEach(function (m) {
      var first = slots.length;
      jobs.forEach(function (j) {
        var b = base[baseKey(j)];
        if (j.model === m && j.p50 && b) slots.push({ label: seriesLabel(j), v: b.p50[0] / j.p50[0], j: j });
      });
      if (slots.length > first) { centers.push((first + slots.length - 1) / 2); names.push(m); }
    });
    if (slots.length === 0) return empty('speedup', 'No model has a measured baseline job (' + data.baseline + ') to compare with.');
    var labels = uniq(slots.map(function (s) { return s.label; }));
    var xs = slots.map(function (_, i) { return i; });
    var ys = labels.map(function (l) { return slots.map(function (s) { return s.label === l ? s.v : null; }); });
    var maxV = Math.max.apply(null, slots.map(function (s) { return s.v; }));
    plot('speedup', {
      height: 320,
      scales: { x: { time: false, range: [-0.6, slots.length - 0.4] }, y: { range: [0, Math.max(1.2, maxV * 1.1)] } },
      axes: [
        { label: 'model', splits: function () { return centers; }, values: function () { return names.length <= 40 ? names : names.map(function () { return ''; }); } },
        { label: '× baseline p50' },
      ],
      series: [{ label: 'job', value: function (u, i) { var s = slots[Math.round(i)]; return s ? s.j.model : '–'; } }].concat(labels.map(function (l) {
        return { label: l, fill: colorOf(l), stroke: colorOf(l), width: 0, paths: uPlot.paths.bars({ size: [0.85, 80], align: 0 }), points: { show: false }, value: function (u, v) { return v === null ? '–' : v.toFixed(2) + '×'; } };
      })),
      hooks: { drawAxes: [function (u) {
        var ctx = u.ctx, y = Math.round(u.valToPos(1, 'y', true));
        ctx.save(); ctx.strokeStyle = '#555'; ctx.setLineDash([6, 4]); ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke(); ctx.restore();
      }] },
    }, [xs].concat(ys));
  }

  /** Labels only 1, 2 and 5 times a power of ten on a log axis. */
  function logTick(x) { var m = x / Math.pow(10, Math.floor(Math.log10(x) + 1e-9)); return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6; }
  var ERR_FLOOR = 1e-12;
  function drawAccuracy(metric) {
    var js = jobs.filter(function (j) { return j.p50 && j.p50[0] > 0 && j.outputs.length > 0 && j[metric] !== undefined; });
    if (js.length === 0) return empty('accuracy', 'No job has both latency and alignment numbers.');
    js.sort(function (a, b) { return a.p50[0] - b.p50[0]; });
    var labels = uniq(js.map(seriesLabel));
    var xs = js.map(function (j) { return j.p50[0]; });
    var yOf = function (j) {
      var v = j[metric];
      if (metric === 'maxAbsError') return Math.max(v, ERR_FLOOR);
      return v === null ? null : v; // infinite SNR is not drawn
    };
    var ys = labels.map(function (l) { return js.map(function (j) { return seriesLabel(j) === l ? yOf(j) : null; }); });
    var log = metric === 'maxAbsError';
    plot('accuracy', {
      scales: { x: { time: false, distr: 3 }, y: log ? { distr: 3 } : {} },
      axes: [{ label: 'p50 latency (ms, log)' }, { label: log ? 'max abs error (log; 0 drawn at 1e-12)' : 'min SNR (dB)', size: 70, values: function (u, v) { return v.map(function (x) { return !log || logTick(x) ? fmtNum(x, 2) : ''; }); } }],
      cursor: { points: { size: 10 } },
      series: [{ label: 'p50 ms', value: function (u, v) { return fmtMs(v); } }].concat(labels.map(function (l) {
        return { label: l, stroke: colorOf(l), fill: colorOf(l), paths: function () { return null; }, points: { show: true, size: 9, fill: colorOf(l), stroke: colorOf(l) }, value: function (u, v) { return v === null ? '–' : fmtNum(v); } };
      })),
    }, [xs].concat(ys));
  }

  function drawHeatmap() {
    var cols = uniq(jobs.filter(function (j) { return j.outputs.length > 0 || j.status === 'errored'; }).map(seriesLabel));
    var rowsKeys = [];
    var cell = {};
    jobs.forEach(function (j) {
      j.outputs.forEach(function (o) {
        var rk = j.model + ' · ' + o.name;
        if (rowsKeys.indexOf(rk) < 0) rowsKeys.push(rk);
        cell[rk + '\u0000' + seriesLabel(j)] = { o: o, j: j };
      });
    });
    var t = el('heatmap');
    if (rowsKeys.length === 0) { t.innerHTML = '<tr><td class="empty">No outputs were aligned.</td></tr>'; return; }
    var html = '<thead><tr><th>model · output</th>' + cols.map(function (c) { return '<th>' + esc(c) + '</th>'; }).join('') + '</tr></thead><tbody>';
    rowsKeys.forEach(function (rk) {
      html += '<tr><th>' + esc(rk) + '</th>' + cols.map(function (c) {
        var x = cell[rk + '\u0000' + c];
        if (!x) {
          var model = rk.split(' · ')[0];
          var failedJob = jobs.filter(function (j) { return j.model === model && seriesLabel(j) === c && j.status !== 'ok' && j.outputs.length === 0; })[0];
          return failedJob ? '<td class="cell missing status-' + esc(failedJob.status) + '" title="' + esc(failedJob.reason || '') + '">' + esc(failedJob.status) + '</td>' : '<td class="cell missing">–</td>';
        }
        var o = x.o;
        var ratio = o.maxAbs === undefined ? Infinity : o.atol > 0 ? o.maxAbs / o.atol : o.maxAbs > 0 ? Infinity : 0;
        // Log scale from 1e-4 x atol (pale) to atol (saturated); failures are red.
        var s = ratio <= 0 ? 0 : Math.min(1, Math.max(0, (Math.log10(ratio) + 4) / 4));
        var bg = o.passed ? 'hsl(130, 55%, ' + (92 - 30 * s) + '%)' : 'hsl(0, 75%, ' + (80 - 20 * Math.min(1, Math.log10(Math.max(ratio, 1)) / 3)) + '%)';
        var title = 'max abs ' + fmtNum(o.maxAbs) + ', atol ' + fmtNum(o.atol) + ', rtol ' + fmtNum(o.rtol) + ', cosine ' + fmtCos(o.cosine) + ', SNR ' + fmtSnr(o.snrDb) + ' dB' + (o.reasons.length ? '; ' + o.reasons.join('; ') : '');
        return '<td class="cell ' + (o.passed ? 'pass' : 'fail') + '" data-passed="' + o.passed + '" style="background:' + bg + '" title="' + esc(title) + '">' + esc(fmtNum(o.maxAbs)) + (o.passed ? '' : ' ✗') + '</td>';
      }).join('') + '</tr>';
    });
    t.innerHTML = html + '</tbody>';
  }

  function drawRuns() {
    var html = '<thead><tr><th>run</th><th>suite</th><th>read from</th><th>started</th><th>status</th><th>mode</th><th>jobs</th><th>devices</th></tr></thead><tbody>';
    data.runs.forEach(function (r, ri) {
      var js = jobs.filter(function (j) { return j.run === ri; });
      html += '<tr><td>' + esc(r.id) + '</td><td>' + esc(r.suite) + '</td><td>' + esc(r.source) + '</td><td>' + esc(r.startedAt) + '</td><td>' + esc(r.status) + '</td><td>' + esc(r.mode) +
        '</td><td class="num">' + js.length + '</td><td>' + esc(uniq(js.map(deviceLabel)).join(', ')) + '</td></tr>';
    });
    el('runs').innerHTML = html + '</tbody>';
  }

  // ---- drill-down ----
  function kv(pairs) {
    return '<table class="kv">' + pairs.filter(function (p) { return p[1] !== undefined && p[1] !== '' && p[1] !== '–'; }).map(function (p) { return '<tr><th>' + esc(p[0]) + '</th><td>' + esc(p[1]) + '</td></tr>'; }).join('') + '</table>';
  }
  function showDetail(i) {
    var j = jobs[i];
    if (!j) return;
    rows.forEach(function (r) { r.classList.toggle('selected', Number(r.getAttribute('data-i')) === i); });
    ['timeline', 'latency-timeline'].forEach(function (n) { if (charts[n]) { charts[n].destroy(); delete charts[n]; } });
    var sec = el('detail-section');
    sec.hidden = false;
    sec.setAttribute('data-i', String(i));
    el('detail-title').textContent = j.model + ' / ' + j.variant + ' (' + j.precision + ') on ' + deviceLabel(j);
    var d = data.devices[j.device] || {};
    var fp = d.fingerprint || {};
    var html = '<p>Status <b class="status-' + esc(j.status) + '">' + esc(j.statusText) + '</b>' + (j.reason ? ': ' + esc(j.reason) : '') + '</p>';
    if (j.notes.length) html += '<p>Notes: ' + esc(j.notes.join('; ')) + '</p>';
    if (j.stderrTail) html += '<h3>Worker stderr (tail)</h3><pre>' + esc(j.stderrTail) + '</pre>';
    html += '<div class="grid"><div><h3>Latency (ms, 95% CI)</h3>' + kv([
      ['p50', fmtEst(j.p50)], ['p90', fmtEst(j.p90)], ['p95', fmtEst(j.p95)], ['p99', fmtEst(j.p99)], ['p99.9', fmtEst(j.p999)],
      ['min / mean / max', j.count ? fmtMs(j.minMs) + ' / ' + fmtMs(j.meanMs) + ' / ' + fmtMs(j.maxMs) : undefined],
      ['samples', j.count === undefined ? undefined : String(j.count) + (j.repeats > 1 ? ' in ' + j.repeats + ' repeats' : '')],
      ['cold start', j.coldStartMs === undefined ? undefined : fmtMs(j.coldStartMs) + ' ms'], ['first inference', j.firstInferenceMs === undefined ? undefined : fmtMs(j.firstInferenceMs) + ' ms'],
    ]) + '</div>';
    html += '<div><h3>Engine</h3>' + kv([
      ['engine', j.engine + (j.version ? ' ' + j.version : '')], ['variant', j.variant], ['precision', j.precision + (j.effectivePrecision ? ' (' + j.effectivePrecision + ')' : '')],
      ['options', JSON.stringify(j.engineOptions)], ['notes', j.engineNotes.join('; ')], ['run', data.runs[j.run].id], ['key', j.key],
    ]) + '</div>';
    html += '<div><h3>Environment</h3>' + kv([
      ['host', fp.hostname], ['CPU', fp.cpuModel ? fp.cpuModel + ' · ' + fp.cpuCores + ' cores' + (fp.cpuPhysicalCores ? ' (' + fp.cpuPhysicalCores + ' physical)' : '') : undefined],
      ['arch', fp.arch], ['memory', fp.memoryBytes ? fmtBytes(fp.memoryBytes) : undefined], ['OS', fp.os], ['kernel', fp.kernel], ['governor', fp.governor],
      ['GPUs', (fp.gpus || []).map(function (g) { return g.model + (g.driver ? ' (driver ' + g.driver + ')' : '') + (g.memoryBytes ? ' ' + fmtBytes(g.memoryBytes) : ''); }).join(', ')],
      ['engine versions', Object.keys(fp.engineVersions || {}).map(function (k) { return k + ' ' + fp.engineVersions[k]; }).join(', ')],
      ['fingerprint', d.id],
    ]) + '</div></div>';
    if (j.outputs.length) {
      html += '<h3>Alignment per output</h3><div class="table-wrap"><table><thead><tr><th>output</th><th>verdict</th><th>max abs</th><th>max rel</th><th>cosine</th><th>SNR dB</th><th>mismatch</th><th>top-1</th><th>atol / rtol</th><th>reasons</th></tr></thead><tbody>' +
        j.outputs.map(function (o) {
          return '<tr><td>' + esc(o.name) + '</td><td class="verdict-' + (o.passed ? 'pass">pass' : 'FAIL">FAIL') + '</td><td>' + fmtNum(o.maxAbs) + '</td><td>' + fmtNum(o.maxRel) + '</td><td>' + fmtCos(o.cosine) +
            '</td><td>' + fmtSnr(o.snrDb) + '</td><td>' + fmtPct(o.mismatchPct, 2) + '</td><td>' + (o.top1 === undefined ? '–' : fmtPct(o.top1 * 100)) +
            '</td><td>' + fmtNum(o.atol) + ' / ' + fmtNum(o.rtol) + '</td><td>' + esc(o.reasons.join('; ') || '–') + '</td></tr>';
        }).join('') + '</tbody></table></div>';
    }
    if (j.throughputPoints.length) {
      html += '<h3>Throughput</h3><table><thead><tr><th>batch</th><th>concurrency</th><th>items/s</th><th>p50 ms</th></tr></thead><tbody>' +
        j.throughputPoints.map(function (p) { return '<tr><td>' + p[1] + '</td><td>' + p[0] + '</td><td>' + fmtNum(p[2], 4) + '</td><td>' + fmtMs(p[3]) + '</td></tr>'; }).join('') + '</tbody></table>';
    }
    html += '<div class="charts"><figure class="chart" id="chart-timeline"><figcaption>Resource timeline (job clock)</figcaption></figure>' +
      '<figure class="chart" id="chart-latency-timeline"><figcaption>Latency samples over the steady-state loop (first repeat)</figcaption></figure></div>';
    el('detail').innerHTML = html;
    drawTimeline(j);
    drawLatencyTimeline(j);
    sec.scrollIntoView({ block: 'nearest' });
  }

  function drawTimeline(j) {
    var t = j.timeline;
    if (!t) return empty('timeline', 'No resource samples were recorded for this job.');
    var series = [{ label: 't (s)', value: function (u, v) { return v === null ? '–' : v.toFixed(2) + ' s'; } }], cols = [t.tMs.map(function (x) { return x / 1000; })];
    var MiB = function (a) { return a.map(function (x) { return x === null ? null : x / 1048576; }); };
    if (t.cpuPct) { series.push(lineSeries('CPU %', PALETTE[0], { scale: '%' })); cols.push(t.cpuPct); }
    if (t.gpuUtilPct) { series.push(lineSeries('GPU util %', PALETTE[2], { scale: '%' })); cols.push(t.gpuUtilPct); }
    if (t.rssBytes) { series.push(lineSeries('RSS MiB', PALETTE[1], { scale: 'MiB' })); cols.push(MiB(t.rssBytes)); }
    if (t.gpuMemBytes) { series.push(lineSeries('GPU mem MiB', PALETTE[4], { scale: 'MiB' })); cols.push(MiB(t.gpuMemBytes)); }
    plot('timeline', {
      height: 260,
      scales: { x: { time: false }, '%': { range: function (u, min, max) { return [0, Math.max(100, max)]; } }, MiB: { range: function (u, min, max) { return [0, max * 1.1 || 1]; } } },
      axes: [{ label: 'seconds on the job clock (same clock as the latency samples)' }, { scale: '%', label: '%' }, { scale: 'MiB', side: 1, label: 'MiB', grid: { show: false } }],
      series: series,
    }, cols, el('chart-timeline'));
  }

  function drawLatencyTimeline(j) {
    var l = j.latencyTimeline;
    if (!l) return empty('latency-timeline', 'No latency samples were recorded for this job.');
    plot('latency-timeline', {
      height: 260,
      scales: { x: { time: false }, y: { range: function (u, min, max) { return [0, max * 1.05 || 1]; } } },
      axes: [{ label: (l.onJobClock ? 'seconds on the job clock (as the resource timeline), ' : 'cumulative inference time (s), ') + l.samples + ' samples in ' + l.tS.length + ' buckets' }, { label: 'ms' }],
      series: [{ label: 't (s)' }, lineSeries('mean per bucket', PALETTE[0], {}), lineSeries('max per bucket', PALETTE[3], { width: 1 })],
    }, [l.tS, l.meanMs, l.maxMs], el('chart-latency-timeline'));
  }

  // ---- wiring ----
  var select = el('model-select');
  select.innerHTML = models.map(function (m) { return '<option>' + esc(m) + '</option>'; }).join('');
  var firstMeasured = jobs.filter(function (j) { return j.cdf.length > 0; })[0];
  if (firstMeasured) select.value = firstMeasured.model;
  select.addEventListener('change', function () { drawCdf(select.value); drawThroughput(select.value); });
  el('accuracy-metric').addEventListener('change', function (e) { drawAccuracy(e.target.value); });

  drawRuns();
  drawHeatmap();
  drawCdf(select.value);
  drawThroughput(select.value);
  drawSpeedup();
  drawAccuracy('maxAbsError');
})();
