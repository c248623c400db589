/**
 * report.html: one self-contained page. The chart library (uPlot, read from node_modules),
 * the page's own script and style, and the data (a JSON block) are all inline; a Content
 * Security Policy forbids every network fetch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BenchalignError } from '../../errors.js';
import { localizeSectionHtml } from './localize.js';
import type { ReportData } from './view-model.js';

export interface HtmlAssets {
  uplotJs: string;
  uplotCss: string;
  clientJs: string;
  pageCss: string;
}

function assetDir(): string {
  // From src/ (tsx, vitest) the assets sit next to this file; from dist/ they stay in src/.
  for (const rel of ['./assets/', '../../../../src/reports/html/assets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}client.js`)) return dir;
  }
  throw new BenchalignError('E_INTERNAL', 'report.html assets not found (src/reports/html/assets/)');
}

let cached: HtmlAssets | undefined;

/** Reads uPlot and the page's script and style once per process. */
export function loadHtmlAssets(): HtmlAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const dir = assetDir();
  cached = {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    clientJs: readFileSync(`${dir}client.js`, 'utf8'),
    pageCss: readFileSync(`${dir}page.css`, 'utf8'),
  };
  return cached;
}

/** JSON safe inside a script element: no `<` at all, so no `</script` and no `<!--`. */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Inline script text: a literal `</script` inside it would end the element early. */
function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1');
}

function styleText(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}

function escHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:";

/** The page as a string. */
export function toHtml(data: ReportData, assets: HtmlAssets = loadHtmlAssets()): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="benchalign ${escHtml(data.toolVersion)}">
<title>${escHtml(data.title)}</title>
<style>${styleText(assets.uplotCss)}</style>
<style>${styleText(assets.pageCss)}</style>
</head>
<body>
<header><h1>${escHtml(data.title)}</h1><p id="meta"></p></header>
<main>
<section id="problems-section" hidden><h2>Problems</h2><ul id="problems"></ul></section>
<section><h2>Engine comparison</h2>
<div class="toolbar"><label>Filter <input id="filter" type="search" placeholder="model, engine, device, status…" autocomplete="off"></label><span id="count"></span><span class="hint">Click a header to sort, a row for its details.</span></div>
<div class="table-wrap"><table id="summary"><thead></thead><tbody></tbody></table></div>
</section>
<section id="detail-section" hidden><h2 id="detail-title">Job</h2><div id="detail"></div></section>
${localizeSectionHtml(data.localize ?? [])}
<section><h2>Charts</h2>
<div class="toolbar"><label>Model <select id="model-select"></select></label><span class="hint">Latency distribution and throughput are per model.</span></div>
<div class="charts">
<figure class="chart" id="chart-cdf"><figcaption>Latency distribution (CDF of steady-state samples)</figcaption></figure>
<figure class="chart" id="chart-throughput"><figcaption>Throughput against concurrency (batch 1)</figcaption></figure>
<figure class="chart wide" id="chart-speedup"><figcaption>Speedup of p50 over the baseline <b id="baseline-name"></b> (same model and device; &gt; 1 is faster)</figcaption></figure>
<figure class="chart" id="chart-accuracy"><figcaption>Accuracy against speed: <select id="accuracy-metric"><option value="maxAbsError">max abs error</option><option value="minSnrDb">min SNR dB</option></select> against p50</figcaption></figure>
<figure class="chart heat" id="chart-heatmap"><figcaption>Alignment: max abs error / atol per output (green passes, red fails)</figcaption><div class="table-wrap"><table id="heatmap"></table></div></figure>
</div>
</section>
<section><h2>Runs</h2><div class="table-wrap"><table id="runs"></table></div></section>
</main>
<script type="application/json" id="benchalign-data">${jsonForScript(data)}</script>
<script>${scriptText(assets.uplotJs)}</script>
<script>${scriptText(assets.clientJs)}</script>
</body>
</html>
`;
}
