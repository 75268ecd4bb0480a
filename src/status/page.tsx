/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import type { ClusterFacts, Part, Status, StreamRow, TemplateState } from "./collect.js";
import { RATE_WINDOW_MS } from "./collect.js";

/**
 * The status page's HTML. Hono's JSX escapes every text and attribute value, so names from Elasticsearch
 * and the query from the URL are shown as text whatever they contain. No inline script or style: the CSP
 * set by the route forbids them, and the browser files come from /-/static/ (see routes.tsx).
 */

export interface PageProps {
  status: Status;
  version: string;
  /** The PromQL box's initial query and range (seconds), from the page URL. */
  query: string;
  range: number;
  assetsVersion: string;
}

export const RANGES: [seconds: number, label: string][] = [
  [900, "last 15m"],
  [3600, "last 1h"],
  [21600, "last 6h"],
];

const count = (n: number) => n.toLocaleString("en-US");

function ago(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return "in the future";
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** A part that Elasticsearch could not answer shows why, in place of its value. */
function show<T>(p: Part<T>, render: (v: T) => Child): Child {
  return p.ok ? render(p.value) : <span class="bad">unavailable: {p.reason}</span>;
}

function templateState(state: TemplateState): Child {
  if (state === "installed") return <span class="ok">installed</span>;
  if (state === "missing") return <span class="bad">missing — run <code>promgate setup</code></span>;
  return <span class="warn">differs ({state.differs}) — run <code>promgate setup</code></span>;
}

function StreamTable({ rows, now }: { rows: StreamRow[]; now: number }) {
  if (rows.length === 0) return <p class="muted">No data streams with samples yet.</p>;
  return (
    <table id="streams">
      <thead>
        <tr>
          <th>data stream</th>
          <th class="num">documents</th>
          <th>last sample</th>
          <th class="num">samples/s (last {RATE_WINDOW_MS / 1000}s)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-stream={r.name}>
            <td><code>{r.name}</code></td>
            <td class="num docs">{count(r.docs)}</td>
            <td>
              {r.lastSample === undefined ? (
                "—"
              ) : (
                <time datetime={new Date(r.lastSample).toISOString()}>
                  {new Date(r.lastSample).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")} ({ago(r.lastSample, now)})
                </time>
              )}
            </td>
            <td class="num">{r.ratePerSecond.toFixed(1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Cluster-wide facts: shown to admins only (see collectStatus). */
function ClusterSection({ facts }: { facts: ClusterFacts }) {
  return (
    <>
      <h2>Elasticsearch</h2>
      <dl class="facts" id="elasticsearch">
        <dt>version</dt>
        <dd id="es-version">{show(facts.esVersion, (ver) => ver)}</dd>
        <dt>cluster</dt>
        <dd id="es-health">
          {show(facts.cluster, (c) => (
            <>
              <code>{c.name}</code> <b class={`state-${c.status}`}>{c.status}</b>, {c.nodes} {c.nodes === 1 ? "node" : "nodes"}
            </>
          ))}
        </dd>
        <dt>templates</dt>
        <dd id="templates">
          {show(facts.templates, (ts) => (
            <>
              {ts.map((t, i) => (
                <>
                  {i > 0 ? "; " : ""}
                  <code>{t.name}</code> {templateState(t.state)}
                </>
              ))}
            </>
          ))}
        </dd>
      </dl>
    </>
  );
}

export function StatusPage({ status, version, query, range, assetsVersion }: PageProps) {
  const v = `?v=${assetsVersion}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>promgate status</title>
        <link rel="stylesheet" href={`/-/static/uplot.css${v}`} />
        <link rel="stylesheet" href={`/-/static/status.css${v}`} />
      </head>
      <body>
        <header>
          <h1>promgate</h1>
          <span class="muted">version {version}</span>
          <span class="muted">tenant <b id="tenant">{status.tenant}</b></span>
        </header>

        {status.clusterFacts ? <ClusterSection facts={status.clusterFacts} /> : ""}

        <h2>Data streams</h2>
        {show(status.streams, (rows) => <StreamTable rows={rows} now={status.generatedAt} />)}

        <h2>PromQL</h2>
        <form id="query-form" method="get" action="/">
          <input id="query-input" name="query" value={query} placeholder="e.g. rate(prometheus_http_requests_total[5m])" autocomplete="off" spellcheck={false} aria-label="PromQL query" />
          <select id="query-range" name="range" aria-label="time range">
            {RANGES.map(([seconds, label]) => (
              <option value={String(seconds)} selected={seconds === range}>{label}</option>
            ))}
          </select>
          <button type="submit">Run</button>
        </form>
        <p id="query-message" class="muted" role="status"></p>
        <div id="chart"></div>

        <script src={`/-/static/uplot.js${v}`}></script>
        <script type="module" src={`/-/static/status.js${v}`}></script>
      </body>
    </html>
  );
}
