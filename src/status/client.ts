import type UPlot from "uplot";

/**
 * The status page's PromQL box, run in the browser. Compiled to plain JS by scripts/gen-assets.mjs and
 * served as /-/static/status.js (never inline, so the page's CSP can forbid inline scripts). It asks
 * `/api/v1/query_range` on the same origin — the browser resends the Basic credentials it used for the
 * page — and draws the matrix with uPlot (loaded before this script as the global `uPlot`).
 * Everything from the server or the query is put on the page as text, never as HTML.
 */

declare const uPlot: typeof UPlot;

interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}
interface QueryAnswer {
  status: "success" | "error";
  data?: { resultType: string; result: MatrixSeries[] };
  error?: string;
  warnings?: string[];
}

/** What the browser test (and a curious user in the console) can read back about the drawn chart. */
interface ChartInfo {
  plot: UPlot | undefined;
  series: number;
  points: number;
}
declare global {
  interface Window {
    promgateChart?: ChartInfo;
  }
}

/** Series drawn at most: beyond this the legend stops being readable. */
const MAX_SERIES = 20;
/** Points per series the step aims at, like Grafana's default resolution. */
const TARGET_POINTS = 250;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`status page: #${id} is missing`);
  return el as T;
}

const form = byId<HTMLFormElement>("query-form");
const input = byId<HTMLInputElement>("query-input");
const rangeSelect = byId<HTMLSelectElement>("query-range");
const message = byId<HTMLParagraphElement>("query-message");
const chartBox = byId<HTMLDivElement>("chart");
let plot: UPlot | undefined;

function seriesName(metric: Record<string, string>): string {
  const { __name__: name = "", ...rest } = metric;
  const labels = Object.entries(rest)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return labels.length > 0 ? `${name}{${labels.join(", ")}}` : name || "{}";
}

/** Matrix → uPlot's columns: one shared, sorted x axis (seconds) and one y array per series, null for gaps. */
function toColumns(result: MatrixSeries[]): { xs: number[]; ys: (number | null)[][] } {
  const xs = [...new Set(result.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
  const at = new Map(xs.map((t, i) => [t, i]));
  const ys = result.map((s) => {
    const col: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s.values) {
      const n = Number(v);
      col[at.get(t)!] = Number.isFinite(n) ? n : null;
    }
    return col;
  });
  return { xs, ys };
}

function draw(result: MatrixSeries[], startSec: number, endSec: number, warnings: string[]): void {
  const shown = result.slice(0, MAX_SERIES);
  const { xs, ys } = toColumns(shown);
  plot?.destroy();
  plot = undefined;
  const points = ys.reduce((n, col) => n + col.filter((v) => v !== null).length, 0);
  window.promgateChart = { plot: undefined, series: shown.length, points };
  if (shown.length === 0) {
    message.textContent = "no data in this range";
    return;
  }
  const opts: UPlot.Options = {
    width: Math.max(320, chartBox.clientWidth),
    height: 300,
    // The whole range asked for, not just the part that has data: a series that began recently looks it.
    scales: { x: { time: true, range: () => [startSec, endSec] } },
    series: [
      {},
      ...shown.map((s, i) => ({ label: seriesName(s.metric), stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false })),
    ],
    axes: [{}, { size: 70 }],
  };
  plot = new uPlot(opts, [xs, ...ys], chartBox);
  window.promgateChart = { plot, series: shown.length, points };
  message.textContent =
    `${result.length} series, ${points} points` +
    (result.length > shown.length ? ` (showing the first ${shown.length})` : "") +
    (warnings.length > 0 ? ` — ${warnings.join("; ")}` : "");
}

/** Runs started so far: an answer that arrives after a newer run started is stale and is dropped. */
let runs = 0;

async function run(): Promise<void> {
  const query = input.value.trim();
  if (query === "") return;
  const current = ++runs;
  const range = Number(rangeSelect.value);
  const end = Math.floor(Date.now() / 1000);
  const params = new URLSearchParams({
    query,
    start: String(end - range),
    end: String(end),
    step: String(Math.max(1, Math.ceil(range / TARGET_POINTS))),
  });
  // Keep the page's own URL in step, so a query can be bookmarked or shared.
  history.replaceState(null, "", `?${new URLSearchParams({ query, range: rangeSelect.value })}`);
  message.textContent = "running…";
  message.classList.remove("error");
  try {
    const res = await fetch(`/api/v1/query_range?${params}`, { credentials: "same-origin" });
    const answer = (await res.json()) as QueryAnswer;
    if (current !== runs) return;
    if (answer.status !== "success" || !answer.data) throw new Error(answer.error ?? `promgate answered ${res.status}`);
    if (answer.data.resultType !== "matrix") throw new Error(`expected a matrix, got ${answer.data.resultType}`);
    draw(answer.data.result, end - range, end, answer.warnings ?? []);
  } catch (e) {
    if (current !== runs) return;
    plot?.destroy();
    plot = undefined;
    window.promgateChart = { plot: undefined, series: 0, points: 0 };
    message.textContent = e instanceof Error ? e.message : String(e);
    message.classList.add("error");
  }
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  void run();
});
rangeSelect.addEventListener("change", () => void run());
window.addEventListener("resize", () => plot?.setSize({ width: Math.max(320, chartBox.clientWidth), height: 300 }));
void run();
