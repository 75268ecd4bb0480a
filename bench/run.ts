import { benchE2e } from "./e2e.js";
import { benchForward } from "./forward.js";
import { benchFrontend } from "./frontend.js";
import { benchDashboard } from "./dashboard.js";
import { benchHa, benchHistograms, benchIngest, benchProtocols } from "./ingest.js";
import { benchChunks } from "./chunks.js";
import { benchPromql } from "./promql.js";
import { benchRead } from "./read.js";
import { benchDfaCap, benchPathological, benchTypical } from "./regex.js";
import { benchRuntimes } from "./runtimes.js";
import { benchShards } from "./shards.js";

/** `node --import tsx bench/run.ts [ingest|forward|regex|runtimes|e2e|runtimes-es|read|promql|chunks|frontend|dashboard|shards|all]` — scripts/bench.sh runs them all. */

const fmt = (n: number, d = 2) => n.toFixed(d);

function printIngest(): void {
  const rows = benchIngest();
  console.log(`ingest: decode → _bulk body (node ${process.version}, one core; median of 7 alternating rounds)`);
  console.log("samples  compressed  decoded   naive ms  ours ms  speedup  ours samples/s  peak buffers (× decoded)");
  for (const r of rows) {
    console.log(
      [
        String(r.samples).padStart(7),
        `${r.compressedBytes} B`.padStart(11),
        `${r.decodedBytes} B`.padStart(9),
        fmt(r.naiveMs, 3).padStart(9),
        fmt(r.oursMs, 3).padStart(8),
        `${fmt(r.speedup, 1)}×`.padStart(8),
        `${(r.oursSamplesPerSec / 1e6).toFixed(2)} M`.padStart(15),
        `  ${(r.peakBytes / 1024).toFixed(0)} KiB (${fmt(r.peakRatio, 2)}×)`,
      ].join(" "),
    );
  }
  console.log("\ningest: remote write 1.0 vs 2.0, the same scrape (2.0 with per-series metadata), decode → the same _bulk body");
  console.log("samples  1.0 body  2.0 body   1.0 ms   2.0 ms  1.0 samples/s  2.0 samples/s");
  for (const r of benchProtocols()) {
    console.log(
      [
        String(r.samples).padStart(7),
        `${r.v1Bytes} B`.padStart(9),
        `${r.v2Bytes} B`.padStart(9),
        fmt(r.v1Ms, 3).padStart(8),
        fmt(r.v2Ms, 3).padStart(8),
        `${(r.v1SamplesPerSec / 1e6).toFixed(2)} M`.padStart(14),
        `${(r.v2SamplesPerSec / 1e6).toFixed(2)} M`.padStart(14),
      ].join(" "),
    );
  }
  console.log("\ningest: HA deduplication's share (every series with cluster and __replica__, elections decided): label pass + replica label removed");
  console.log("samples  without ha ms  with ha ms  ratio");
  for (const r of benchHa()) {
    console.log(`${String(r.samples).padStart(7)}${fmt(r.plainMs, 3).padStart(15)}${fmt(r.haMs, 3).padStart(12)}${`${fmt(r.ratio, 2)}×`.padStart(7)}`);
  }
  const h = benchHistograms();
  console.log(`native histograms (2.0, schema 3, 40 buckets): ${h.histograms} in ${fmt(h.ms, 3)} ms = ${(h.perSec / 1e3).toFixed(0)} k histograms/s`);
}

function printForward(): void {
  console.log("\nforwarding: the work a rule adds to a 2,000-sample request (after the response), vs ingest's decode → _bulk body of the same request");
  console.log("rule                          series taken  ingest ms  forward ms  forward / ingest");
  for (const r of benchForward()) {
    console.log(`${r.rule.padEnd(30)}${String(r.taken).padStart(12)}${fmt(r.ingestMs, 3).padStart(11)}${fmt(r.forwardMs, 3).padStart(12)}${`${fmt(r.ratio, 2)}×`.padStart(18)}`);
  }
}

function printRegex(): void {
  console.log(`\nlabel regexes: promgate's engine (re2js, literal lists as sets, cached) vs JavaScript's RegExp on ^(?:re)$ (node ${process.version}; median of 3 alternating rounds)`);
  console.log("pattern                     chars  compile RegExp µs  compile ours µs  cached µs  match RegExp µs  match ours µs  match ratio");
  for (const r of benchTypical()) {
    console.log(
      `${r.name.padEnd(26)}${String(r.length).padStart(7)}${fmt(r.compileJsUs, 1).padStart(19)}${fmt(r.compileOursUs, 1).padStart(17)}${fmt(r.cachedUs, 3).padStart(11)}${fmt(r.matchJsUs, 3).padStart(17)}${fmt(r.matchOursUs, 3).padStart(15)}${`${fmt(r.matchOursUs / r.matchJsUs, 1)}×`.padStart(13)}`,
    );
  }
  console.log("pathological: one match of a value of n characters (no match)");
  console.log("pattern      n        RegExp ms      ours ms");
  for (const r of benchPathological()) {
    console.log(`${r.pattern.padEnd(11)}${String(r.length).padStart(8)}${(r.jsMs === undefined ? "(not run)" : fmt(r.jsMs, 3)).padStart(13)}${fmt(r.oursMs, 3).padStart(13)}`);
  }
  console.log("a DFA of up to 2^21 states ((?:a|b)*a(?:a|b){20}) against 100 random a/b values of 4,000 characters");
  console.log("engine                        ms   DFA bytes kept (re2js' estimate)");
  for (const r of benchDfaCap()) console.log(`${r.what.padEnd(24)}${fmt(r.ms, 0).padStart(8)}${String(r.dfaBytes).padStart(12)}`);
}

async function printRuntimes(intoEs = false): Promise<void> {
  const env = process.env;
  if (intoEs && !env.ES_URL) return;
  const es = intoEs ? { url: env.ES_URL!, username: env.ES_USERNAME ?? "elastic", password: env.ES_PASSWORD ?? "promgate-dev" } : undefined;
  const rows = await benchRuntimes(es ? { es, rounds: 3, requestsPerRound: 10 } : {});
  if (es) {
    console.log(`\ningest per runtime into Elasticsearch at ${es.url}: one 2,000-sample request at a time, new series each; median of 3 alternating rounds of 10`);
  } else {
    console.log("\ningest per runtime: one 2,000-sample remote_write request at a time over loopback HTTP; Elasticsearch replaced");
    console.log("by a sink answering every _bulk at once (so: runtime + promgate, not ES); median of 7 alternating rounds of 40");
  }
  console.log("runtime    ms/request  requests/s   samples/s  vs Node");
  for (const r of rows) {
    console.log(
      `${r.runtime.padEnd(9)}${fmt(r.msPerRequest).padStart(12)}${fmt(r.requestsPerSec, 1).padStart(12)}${Math.round(r.samplesPerSec).toString().padStart(12)}${`${fmt(r.vsNode)}×`.padStart(9)}`,
    );
  }
}

async function printE2e(): Promise<void> {
  if (!process.env.ES_URL) {
    console.log("\n(ES_URL not set: end-to-end part skipped; `npm run bench` starts Elasticsearch for it)");
    return;
  }
  // BENCH_CONCURRENCY: requests in flight (default 4); a cluster of several nodes takes more.
  const inFlight = Number(process.env.BENCH_CONCURRENCY ?? 4);
  const rows = await benchE2e(40, inFlight);
  console.log(`\nend to end into Elasticsearch at ${process.env.ES_URL} (2,000-sample requests, ${inFlight} in flight; median of 3 alternating rounds after a warm-up)`);
  console.log("mode                          requests  samples  seconds  samples/s");
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(30)}${String(r.requests).padStart(8)}${String(r.samples).padStart(9)}${fmt(r.seconds).padStart(9)}${Math.round(r.samplesPerSec).toString().padStart(11)}`,
    );
  }
  const [direct, gate] = rows;
  console.log(`promgate / direct: ${fmt((100 * gate!.samplesPerSec) / direct!.samplesPerSec, 1)} %`);
}

async function printRead(): Promise<void> {
  if (!process.env.ES_URL) return;
  const rows = await benchRead();
  console.log(`\nread path against Elasticsearch at ${process.env.ES_URL} (median of 5; bare = the same ES requests replayed with fetch alone)`);
  console.log("what                                                          promgate ms   bare ES ms   ratio  ES requests");
  for (const r of rows) {
    console.log(
      `${r.what.padEnd(62)}${fmt(r.promgateMs, 1).padStart(11)}${fmt(r.bareMs, 1).padStart(13)}${`${fmt(r.promgateMs / r.bareMs, 2)}×`.padStart(8)}${String(r.esRequests).padStart(13)}`,
    );
  }
}

async function printPromql(): Promise<void> {
  const bin = process.env.PROMETHEUS3_BIN;
  if (!process.env.ES_URL || !bin) return;
  const rows = await benchPromql(bin);
  console.log("\nPromQL query_range (median of 3): 1h/15s over 1,000 counters / 50 histograms × 10 buckets scraped every 15 s;");
  console.log("24h/5m over 1,000 series scraped every 60 s; unpushed = promgate's engine over the raw samples (pushdown off)");
  console.log("shape   query                                                           promgate ms  unpushed ms  Prometheus 3 ms   ratio  equal");
  for (const r of rows) {
    const unpushed = r.unpushedMs === undefined ? "-" : fmt(r.unpushedMs, 1);
    console.log(`${r.shape.padEnd(8)}${r.query.padEnd(64)}${fmt(r.promgateMs, 1).padStart(12)}${unpushed.padStart(13)}${fmt(r.prometheusMs, 1).padStart(17)}${`${fmt(r.promgateMs / r.prometheusMs, 1)}×`.padStart(8)}  ${r.equal ? "yes" : "NO"}`);
  }
}

async function printChunks(): Promise<void> {
  const bin = process.env.PROMETHEUS3_BIN;
  if (!process.env.ES_URL || !bin) return;
  const b = await benchChunks(bin);
  console.log("\nchunk index: query_range over compacted windows (median of 3), promgate with chunks on / off vs Prometheus 3;");
  console.log("1h/15s over 1,000 counters at 15 s, 24h/5m over 1,000 series at 60 s, 7d/1h over 200 counters at 120 s");
  console.log("shape   query                                                  chunks ms    raw ms  Prometheus 3 ms   ratio  equal");
  for (const r of b.rows) {
    console.log(`${r.shape.padEnd(8)}${r.query.padEnd(55)}${fmt(r.chunksMs, 1).padStart(9)}${fmt(r.rawMs, 1).padStart(10)}${fmt(r.prometheusMs, 1).padStart(17)}${`${fmt(r.chunksMs / r.prometheusMs, 1)}×`.padStart(8)}  ${r.equal ? "yes" : "NO"}`);
  }
  console.log(`compactor: ${b.compactSamples} samples in ${fmt(b.compactSeconds, 1)} s = ${Math.round(b.compactSamples / b.compactSeconds)} samples/s (one process, Elasticsearch on the same cores)`);
  console.log(`storage (force-merged, _stats store): raw TSDS ${fmt(b.rawBytesPerSample, 2)} B/sample, chunk documents ${fmt(b.chunkBytesPerSample, 2)} B/sample`);
}

async function printFrontend(): Promise<void> {
  if (!process.env.ES_URL) return;
  for (const split of ["15m", "1h", "1d"]) {
    const b = await benchFrontend(split);
    console.log(`\nquery frontend, dashboard refresh: sum by (job) (rate(x[5m])), last 1h45m at 15 s over 200 counters (median of 5, new cache each round)`);
    console.log("what                                               ms");
    for (const r of b.rows) console.log(`${r.what.padEnd(46)}${fmt(r.ms, 1).padStart(9)}`);
    console.log(`warm answer equals the whole evaluation of the moved range: ${b.equal ? "yes" : "NO"}; last round: ${b.hits} hits, ${b.misses} misses`);
  }
}

async function printDashboard(): Promise<void> {
  const bin = process.env.PROMETHEUS3_BIN;
  if (!process.env.ES_URL || !bin) return;
  const b = await benchDashboard(bin);
  console.log(`\nGrafana dashboard refresh: ${b.queries} "Node Exporter Full" panels, last 24 h at a 60 s step, rate interval 2m, 6 in flight;`);
  console.log(`${b.series} series scraped every 30 s (${b.samples.toLocaleString("en")} samples). Refresh = 30 s later, range moved, results cache on`);
  console.log("                         promgate total  p95    Prometheus 3 total  p95    ratio (total)");
  for (const [what, g, p] of [
    ["cold (first refresh)", b.promgateCold, b.prometheusCold],
    ["refresh 30 s later", b.promgateRefresh, b.prometheusRefresh],
    ["chunk index on: cold", b.chunksCold, b.prometheusCold],
    ["chunk index on: refresh", b.chunksRefresh, b.prometheusRefresh],
  ] as const) {
    console.log(`${what.padEnd(25)}${fmt(g.totalMs, 0).padStart(11)} ms${fmt(g.p95Ms, 0).padStart(6)}${fmt(p.totalMs, 0).padStart(16)} ms${fmt(p.p95Ms, 0).padStart(8)}${`${fmt(g.totalMs / p.totalMs, 1)}×`.padStart(13)}`);
  }
  console.log(`every panel equal to Prometheus 3's answer: ${b.equal ? "yes" : `NO\n  ${b.mismatches.join("\n  ")}`}`);
}

async function printShards(): Promise<void> {
  if (!process.env.ES_URL) return;
  const rows = await benchShards();
  console.log("\nprimary shards per backing index (the same data in 1, 2 and 4 shards; query_range whole, ES request cache cleared; median of 5)");
  console.log("shards  query                                                              ms");
  for (const r of rows) console.log(`${String(r.shards).padStart(6)}  ${r.query.padEnd(62)}${fmt(r.ms, 1).padStart(8)}`);
}

const part = process.argv[2] ?? "all";
if (part === "all" || part === "ingest") printIngest();
if (part === "all" || part === "forward") printForward();
if (part === "all" || part === "regex") printRegex();
if (part === "all" || part === "runtimes") await printRuntimes();
if (part === "all" || part === "e2e") await printE2e();
if (part === "all" || part === "e2e" || part === "runtimes-es") await printRuntimes(true);
if (part === "all" || part === "e2e" || part === "read") await printRead();
if (part === "all" || part === "e2e" || part === "promql") await printPromql();
if (part === "all" || part === "e2e" || part === "frontend") await printFrontend();
if (part === "all" || part === "e2e" || part === "dashboard") await printDashboard();
if (part === "all" || part === "shards") await printShards();
if (part === "all" || part === "e2e" || part === "chunks") await printChunks();
