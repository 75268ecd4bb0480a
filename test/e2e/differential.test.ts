import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateEnv, uniquePart } from "../helpers/es.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * Differential e2e: the reference Prometheus 3.x (scripts/prometheus3.sh) scrapes itself and
 * Debian's node_exporter every 2 s into its own TSDB and remote_writes the same samples (PRW 1.0) to promgate
 * under `wrangler dev` (workerd) → the real Elasticsearch. After ~3 minutes, dashboard-style queries run
 * against both HTTP APIs for the same range: same series, same timestamps, values within 1e-6 relative.
 * Then promtool (3.x, a real client) queries both and must print the same thing.
 *
 * Left out of the comparison, each for a reason that is not a promgate bug:
 * - samples after `end`: Prometheus answers from what it scraped, promgate from what the queue has sent, so
 *   the range ends in the past and the queue is waited for;
 * - which of several equal values topk/bottomk keep, and the order of equal values after sort (see modeOf);
 * - experimental functions (limitk, mad_over_time, …): Prometheus refuses them without a feature flag (the
 *   experimental syntax is compared apart, with Prometheus 3.16 and its feature flags on).
 */

const ROOT = resolve(import.meta.dirname, "../..");
const PROMETHEUS3 = process.env.PROMETHEUS3_BIN ?? resolve(ROOT, ".cache/prometheus3/v0.305.0/prometheus");
const PROMTOOL3 = process.env.PROMTOOL3_BIN ?? join(PROMETHEUS3, "..", "promtool");
/**
 * Prometheus 3.16 with its experimental PromQL on, fed the reference's samples by remote_write (the same
 * samples, timestamps and staleness markers): the reference for the syntax promgate keeps behind
 * PROMGATE_PROMQL_EXPERIMENTAL, switched on for this promgate.
 */
const PROMETHEUS316 = process.env.PROMETHEUS316_BIN ?? resolve(ROOT, ".cache/prometheus3/v0.316.0/prometheus");
const EXPERIMENTAL = "promql-duration-expr,promql-experimental-functions,promql-extended-range-selectors,promql-binop-fill-modifiers";
const NODE_EXPORTER = process.env.NODE_EXPORTER_BIN ?? "/usr/bin/prometheus-node-exporter";
/**
 * Seconds of scraped data before comparing (CI budget: the whole file stays under 5 minutes). node_exporter
 * goes down for a while in the middle: a target that fails its scrapes (up 0, staleness markers for all its
 * series) and then comes back as a new process (counter resets, a new start time) is what dashboards show.
 */
const DATA_SECONDS = { before: 100, down: 20, after: 60 };
const SCRAPE = 2;
const namespace = uniquePart("diff");
const scoped = `/metrics/diff/${namespace}`;
const AUTH = { username: "dev", password: "promgate-dev" };
const gateAuth = { authorization: `Basic ${btoa(`${AUTH.username}:${AUTH.password}`)}` };

const running: Running[] = [];
let gate = "";
let ref = "";
/** Prometheus 3.16 (experimental PromQL on), holding the reference's samples. */
let ref316 = "";
let workDir = "";
/** First scrape (s) and the comparison window's end (s): everything up to `end` is stored in promgate. */
let firstScrape = 0;
let end = 0;
/** When node_exporter went down (s). */
let downAt = 0;

async function ready(what: string, url: string, proc: Running, timeoutMs: number): Promise<void> {
  await waitFor(what, async () => ((await fetch(url)).ok ? true : undefined), timeoutMs).catch((e: Error) => {
    throw new Error(`${e.message}\n${proc.output()}`);
  });
}

type Point = [number, string];
interface Series {
  metric: Record<string, string>;
  value?: Point;
  values?: Point[];
}
interface Answer {
  status: string;
  error?: string;
  data: { resultType: string; result: Series[] | Point };
}

async function refScalar(query: string): Promise<number> {
  const body = (await (await fetch(`${ref}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as Answer;
  if (body.status !== "success") throw new Error(`${query}: ${body.error}`);
  return (body.data.result as Series[]).reduce((n, s) => n + Number(s.value![1]), 0);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "promgate-diff-"));
  const [gatePort, refPort, nodePort, ref316Port] = [await freePort(), await freePort(), await freePort(), await freePort()];

  // Collectors a "Node Exporter Full" dashboard reads; the rest add series without adding query shapes.
  const collectors = ["cpu", "meminfo", "filesystem", "netdev", "loadavg", "diskstats", "stat", "time", "uname", "vmstat"];
  const nodeExporter = () => start(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${nodePort}`, "--collector.disable-defaults", ...collectors.map((c) => `--collector.${c}`)]);
  let node = nodeExporter();

  writeFileSync(
    join(workDir, "promgate.env"),
    [
      ...Object.entries(gateEnv()).filter(([, v]) => v !== "").map(([k, v]) => `${k}=${v}`),
      `PROMGATE_TENANTS=${JSON.stringify({ [AUTH.username]: { password: AUTH.password, namespace } })}`,
      `PROMGATE_PROMQL_EXPERIMENTAL=${EXPERIMENTAL}`,
      "",
    ].join("\n"),
  );
  const wrangler = start(
    process.execPath,
    [
      join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(gatePort),
      "--env-file", join(workDir, "promgate.env"),
      "--show-interactive-dev-session=false",
      "--persist-to", join(workDir, "wrangler-state"),
    ],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  running.push(wrangler);
  gate = `http://127.0.0.1:${gatePort}`;
  await ready("wrangler dev to serve promgate", `${gate}/-/ready`, wrangler, 120_000);
  await ready("node_exporter", `http://127.0.0.1:${nodePort}/metrics`, node, 30_000);
  running.push(node); // stopping an exited process is a no-op, so afterAll may stop it again

  // Prometheus 3.16 scrapes nothing: it receives the reference's samples.
  writeFileSync(join(workDir, "prometheus316.yml"), "global: {}\n");
  ref316 = `http://127.0.0.1:${ref316Port}`;
  const prometheus316 = start(PROMETHEUS316, [
    `--config.file=${join(workDir, "prometheus316.yml")}`,
    `--storage.tsdb.path=${join(workDir, "prometheus316-data")}`,
    `--web.listen-address=127.0.0.1:${ref316Port}`,
    "--web.enable-remote-write-receiver",
    `--enable-feature=${EXPERIMENTAL}`,
  ]);
  running.push(prometheus316);
  await ready("Prometheus 3.16", `${ref316}/-/ready`, prometheus316, 60_000);

  // PRW 1.0 (promgate does not speak 2.0 yet); a short deadline so the queue trails the scrapes by ~1 s.
  // evaluation_interval stays at its default (1m): Prometheus steps subqueries without a step on it, and
  // promgate, which has no such setting, on the same default.
  writeFileSync(
    join(workDir, "prometheus.yml"),
    `global:
  scrape_interval: ${SCRAPE}s
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ["127.0.0.1:${refPort}"] }]
  - job_name: node
    static_configs: [{ targets: ["127.0.0.1:${nodePort}"] }]
remote_write:
  - url: ${gate}${scoped}/api/v1/write
    protobuf_message: prometheus.WriteRequest
    basic_auth: { username: ${AUTH.username}, password: ${AUTH.password} }
    queue_config: { batch_send_deadline: 1s, max_shards: 2 }
  - url: ${ref316}/api/v1/write
    protobuf_message: prometheus.WriteRequest
    queue_config: { batch_send_deadline: 1s, max_shards: 2 }
`,
  );
  ref = `http://127.0.0.1:${refPort}`;
  const prometheus = start(PROMETHEUS3, [
    `--config.file=${join(workDir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(workDir, "prometheus-data")}`,
    `--web.listen-address=127.0.0.1:${refPort}`,
  ]);
  running.push(prometheus);
  await ready("Prometheus 3", `${ref}/-/ready`, prometheus, 60_000);

  firstScrape = await waitFor("the first scrapes of both targets", async () => ((await refScalar("count(up == 1)")) === 2 ? Math.floor(Date.now() / 1000) - SCRAPE : undefined), 60_000);
  const sleep = (seconds: number) => new Promise((r) => setTimeout(r, seconds * 1000));
  await sleep(DATA_SECONDS.before);
  await node.stop();
  downAt = Math.floor(Date.now() / 1000);
  await sleep(DATA_SECONDS.down);
  node = nodeExporter();
  await ready("node_exporter again", `http://127.0.0.1:${nodePort}/metrics`, node, 30_000);
  running.push(node);
  await sleep(DATA_SECONDS.after);
  // Prometheus sees what it scraped at once, promgate only once the queue has sent it: compare up to a
  // past instant, after the queue's highest sent sample has gone beyond it.
  end = Math.floor(Date.now() / 1000) - 10;
  await waitFor(
    "remote_write to send everything up to the end of the range",
    // min: each queue (promgate's, Prometheus 3.16's) on its own.
    async () => ((await refScalar("min(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)")) > end + SCRAPE ? true : undefined),
    60_000,
  );
  // Per queue, so a failure names the receiver that refused.
  const perQueue = async (metric: string) => {
    const body = (await (await fetch(`${ref}/api/v1/query?query=${encodeURIComponent(`${metric} > 0`)}`)).json()) as Answer;
    return (body.data.result as Series[]).map((s) => `${s.metric.url ?? s.metric.remote_name}: ${s.value![1]}`);
  };
  // promgate's request log lines of writes not answered 204 say why.
  const refused = () => wrangler.output().split("\n").filter((l) => l.includes("/api/v1/write") && /"status":(?!204)/.test(l)).slice(0, 5).join("\n");
  expect(await perQueue("prometheus_remote_storage_samples_failed_total"), `samples a remote_write queue failed to send; promgate's refusals:\n${refused()}`).toEqual([]);
  expect(await perQueue("prometheus_remote_storage_samples_dropped_total"), "samples a remote_write queue dropped").toEqual([]);
  // The highest sent timestamp is per queue, and shards send in parallel: also wait until promgate holds as
  // many samples of each target's last minute as Prometheus does.
  const lastMinute = `sum(count_over_time(scrape_samples_scraped[1m])) + sum(count_over_time(node_load1[1m])) + sum(count_over_time(prometheus_tsdb_head_series[1m]))`;
  const count = async (base: string, headers?: Record<string, string>) => {
    const a = await ask(base, "/api/v1/query", new URLSearchParams({ query: lastMinute, time: String(end) }), headers);
    return (a.data.result as Series[])[0]?.value?.[1];
  };
  const expected = await count(ref);
  expect(Number(expected)).toBeGreaterThan(0);
  await waitFor("promgate to hold every sample up to the end of the range", async () => ((await count(`${gate}${scoped}`, gateAuth)) === expected ? true : undefined), 30_000);
  await waitFor("Prometheus 3.16 to hold every sample up to the end of the range", async () => ((await count(ref316)) === expected ? true : undefined), 30_000);
}, 420_000);

afterAll(async () => {
  for (const p of running.reverse()) await p.stop();
});

/** Values equal within 1e-6 relative; NaN equals NaN (string compare covers "NaN", "+Inf", "-Inf"). */
function close(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  return Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y));
}

const keyOf = (s: Series) =>
  `{${Object.entries(s.metric)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;

/**
 * How two answers are compared, chosen by the query's outer function:
 * - sort, sort_desc: the order of an instant vector counts too — by value only, since the order of equal
 *   values is Go's unstable sort's business;
 * - topk, bottomk: among equal values Prometheus keeps whichever series its storage listed first (the head
 *   lists series in creation order), which no other store can know: compared are the values at each
 *   timestamp (as a sorted list), not which of several equal series carries them.
 */
type Mode = "exact" | "ordered" | "ties";
const modeOf = (query: string): Mode => (/^sort(_desc)?\(/.test(query) ? "ordered" : /^(topk|bottomk)\(/.test(query) ? "ties" : "exact");

/** Values at each timestamp, sorted: what topk/bottomk answers are compared by. */
function valuesByTime(r: Series[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const s of r) for (const [t, v] of s.values ?? [s.value!]) out.set(t, [...(out.get(t) ?? []), v]);
  for (const vs of out.values()) vs.sort((a, b) => Number(a) - Number(b));
  return out;
}

/** The first difference between two answers, worded for a failure message; undefined when they agree. */
function diff(ours: Answer, theirs: Answer, mode: Mode = "exact"): string | undefined {
  if (ours.status !== "success") return `promgate answered ${ours.status}: ${ours.error}`;
  if (ours.data.resultType !== theirs.data.resultType) return `result type ${ours.data.resultType}, reference ${theirs.data.resultType}`;
  if (theirs.data.resultType === "scalar" || theirs.data.resultType === "string") {
    const [t, v] = theirs.data.result as Point;
    const [ot, ov] = ours.data.result as Point;
    return ot === t && close(ov, v) ? undefined : `scalar ${ot}=${ov}, reference ${t}=${v}`;
  }
  const mine = new Map((ours.data.result as Series[]).map((s) => [keyOf(s), s]));
  const refs = theirs.data.result as Series[];
  if (mode === "ties") {
    const [mv, rv] = [valuesByTime(ours.data.result as Series[]), valuesByTime(refs)];
    for (const [t, vs] of rv) {
      const o = mv.get(t) ?? [];
      if (o.length !== vs.length || vs.some((v, i) => !close(o[i]!, v))) return `at ${t}: promgate ${o.join(" ")}, reference ${vs.join(" ")}`;
    }
    const extraTime = [...mv.keys()].find((t) => !rv.has(t));
    return extraTime === undefined ? undefined : `promgate answers at ${extraTime}, the reference does not`;
  }
  if (mode === "ordered") {
    const values = (r: Series[]) => r.map((s) => s.value?.[1] ?? "");
    const [ov, rv] = [values(ours.data.result as Series[]), values(refs)];
    const at = rv.findIndex((v, i) => ov[i] === undefined || !close(ov[i]!, v));
    if (at >= 0) return `order differs at position ${at}: promgate ${ov.join(" ")}, reference ${rv.join(" ")}`;
  }
  const missing = refs.map(keyOf).filter((k) => !mine.has(k));
  const extra = [...mine.keys()].filter((k) => !refs.some((s) => keyOf(s) === k));
  if (missing.length > 0 || extra.length > 0) {
    return `series differ (${mine.size} vs reference ${refs.length}); missing: ${missing.slice(0, 3).join(" ")}; extra: ${extra.slice(0, 3).join(" ")}`;
  }
  for (const s of refs) {
    const o = mine.get(keyOf(s))!;
    // Prometheus writes label names in order; legends show them as written.
    if (Object.keys(o.metric).join() !== Object.keys(s.metric).join()) return `label order: promgate ${JSON.stringify(o.metric)}, reference ${JSON.stringify(s.metric)}`;
    const points = s.values ?? [s.value!];
    const opoints = o.values ?? [o.value!];
    const times = new Set(opoints.map((p) => p[0]));
    const rtimes = new Set(points.map((p) => p[0]));
    const onlyRef = points.find((p) => !times.has(p[0]));
    const onlyOurs = opoints.find((p) => !rtimes.has(p[0]));
    if (onlyRef || onlyOurs) {
      return `${keyOf(s)}: timestamps differ (${opoints.length} points vs reference ${points.length}); first only in reference: ${onlyRef?.[0]}, first only in promgate: ${onlyOurs?.[0]}`;
    }
    for (let i = 0; i < points.length; i++) {
      if (!close(opoints[i]![1], points[i]![1])) return `${keyOf(s)} at ${points[i]![0]}: promgate ${opoints[i]![1]}, reference ${points[i]![1]}`;
    }
  }
  return undefined;
}

/**
 * "Node Exporter Full"-style panels plus Prometheus' own dashboards, each a range query from before the first
 * scrape to `end`, and instant queries at three times.
 */
const QUERIES = [
  // CPU
  `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])))`,
  "sum by (mode) (rate(node_cpu_seconds_total[1m]))",
  "sum by (instance, mode) (irate(node_cpu_seconds_total[30s]))",
  `count by (instance) (count by (instance, cpu) (node_cpu_seconds_total))`,
  "scalar(node_load1) * 100 / count(count(node_cpu_seconds_total) by (cpu))",
  `sum by (instance) (increase(node_cpu_seconds_total{mode!="idle"}[1m]))`,
  "node_load1 / on(instance) group_left count by (instance) (node_cpu_seconds_total{mode=\"system\"})",
  `avg_over_time(node_load1[1m])`,
  // memory
  "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
  "node_memory_MemTotal_bytes - node_memory_MemFree_bytes - (node_memory_Cached_bytes + node_memory_Buffers_bytes + node_memory_SReclaimable_bytes)",
  `node_memory_Active_bytes / on(instance, job) (node_memory_MemTotal_bytes > 0)`,
  "deriv(node_memory_MemAvailable_bytes[1m])",
  // filesystem
  // (no fstype filter: which filesystems a CI machine has is not ours to know, only that it has some)
  `100 - 100 * node_filesystem_avail_bytes / node_filesystem_size_bytes`,
  `predict_linear(node_filesystem_free_bytes[1m], 3600)`,
  `count by (fstype) (node_filesystem_size_bytes)`,
  // network and disk
  `sum by (device) (rate(node_network_receive_bytes_total{device!="lo"}[1m]))`,
  "irate(node_network_transmit_packets_total[30s]) * 8",
  "topk(3, rate(node_network_receive_bytes_total[1m]))",
  `topk(10, count by (__name__) ({__name__=~".+"}))`,
  "bottomk(2, rate(node_disk_io_time_seconds_total[1m]))",
  "rate(node_disk_read_bytes_total[1m]) + rate(node_disk_written_bytes_total[1m])",
  // an idle disk: 0 / 0 = NaN, which both must print as "NaN"
  "irate(node_disk_read_time_seconds_total[8s]) / irate(node_disk_reads_completed_total[8s])",
  "rate(node_network_receive_errs_total[1m]) / rate(node_network_receive_packets_total[1m])",
  // labels and presence
  `label_replace(node_uname_info, "host", "$1", "instance", "([^:]+):.*")`,
  `label_join(up, "target", "/", "job", "instance")`,
  "up == 1",
  // Grafana's "this value or no such label" idiom: an empty alternative in the regex
  `sum by (job) (up{job=~"node|"})`,
  `up{job=~"|node||prometheus"}`,
  `count by (job) (up{job=~"n[o-]de|[]p]rometheus"})`,
  `count by (job) (up{job=~"[[:lower:]]+", instance=~"127\\\\.0\\\\.0\\\\.1:[[:digit:]]+"})`,
  "sum by (job) (up)",
  `absent(up{job="nonexistent"})`,
  "absent(node_load1)",
  // across node_exporter's restart: staleness markers, a gap, counter resets, a new start time
  `up{job="node"} == 0`,
  "last_over_time(node_load1[1m])",
  "count_over_time(node_load1[1m])",
  `rate(process_cpu_seconds_total{job="node"}[1m])`,
  `resets(process_cpu_seconds_total[5m])`,
  `changes(process_start_time_seconds[5m])`,
  "increase(node_cpu_seconds_total[2m])",
  "time() - node_boot_time_seconds",
  "time() - process_start_time_seconds",
  "timestamp(node_time_seconds) - node_time_seconds",
  // Prometheus' own dashboards
  "rate(prometheus_tsdb_head_samples_appended_total[1m])",
  `histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket{handler="/metrics"}[1m])))`,
  `histogram_quantile(0.5, sum by (le, handler) (rate(prometheus_http_response_size_bytes_bucket{handler="/metrics"}[1m])))`,
  `sum by (job) (scrape_samples_scraped) / on(job) group_left sum by (job) (up)`,
  "max_over_time(rate(node_cpu_seconds_total[1m])[2m:10s])",
  "avg_over_time(sum(rate(node_network_receive_packets_total[30s]))[1m:5s])",
  "min_over_time(sum by (mode) (irate(node_cpu_seconds_total[10s]))[2m:])",
  "rate(go_memstats_alloc_bytes_total[1m] offset 30s)",
  "delta(go_goroutines[1m])",
  "quantile by (job) (0.9, go_goroutines)",
  "stddev_over_time(process_resident_memory_bytes[1m])",
  "changes(node_boot_time_seconds[2m])",
  "resets(node_network_receive_bytes_total[2m])",
  `sort_desc(sum by (job) (scrape_series_added))`,
  "sort(rate(node_cpu_seconds_total[1m]))",
  `count_values("goroutines", go_goroutines) > 0`,
  "clamp_min(node_load1 - 0.5, 0)",
  `rate(prometheus_http_requests_total{handler="/metrics"}[1m]) / ignoring(code) group_left sum without(code) (rate(prometheus_http_requests_total{handler="/metrics"}[1m]))`,
];

/**
 * Prometheus 3.16's experimental PromQL, against Prometheus 3.16 with its feature flags. A smoothed selector
 * reads the first sample after its time: `offset 10s` keeps that sample before `end`, where both hold
 * every sample (after `end` each has what its remote_write queue has sent so far).
 */
const EXPERIMENTAL_QUERIES = [
  "sum by (mode) (rate(node_cpu_seconds_total[1m] anchored))",
  "increase(node_network_receive_bytes_total[1m] anchored)",
  "delta(node_load1[30s] anchored)",
  "resets(process_cpu_seconds_total[2m] anchored)",
  "changes(process_start_time_seconds[2m] anchored)",
  "rate(node_cpu_seconds_total[30s] smoothed offset 10s)",
  "increase(prometheus_http_requests_total[1m] smoothed offset 10s)",
  "node_load1 smoothed offset 10s",
  `node_network_receive_bytes_total - on(device) fill(0) node_network_transmit_bytes_total{device!="lo"}`,
  `sum by (instance) (rate(node_cpu_seconds_total{mode="user"}[1m])) / on(instance) fill_right(1) sum by (instance) (rate(node_cpu_seconds_total{mode="nice"}[1m]))`,
  `up + ignoring(job) group_left fill_left(-1) sum by (instance) (scrape_samples_scraped)`,
  "integral(node_load1[1m])",
  "integral(rate(node_cpu_seconds_total[30s])[1m:10s], 0)",
  `histogram_quantiles(sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])), "q", 0.5, 0.9, 0.99)`,
  "rate(node_cpu_seconds_total[max_of(step() * 4, 30s)] anchored)",
];

describe("Prometheus 3.16 with its experimental PromQL on and promgate with PROMGATE_PROMQL_EXPERIMENTAL (the same samples)", () => {
  it("answer range queries and instant queries alike", async () => {
    const failures: string[] = [];
    for (const query of EXPERIMENTAL_QUERIES) {
      const forms = [
        ["/api/v1/query_range", new URLSearchParams({ query, start: String(firstScrape - 20), end: String(end), step: "7" })],
        ...[end, downAt + DATA_SECONDS.down / 2, firstScrape + 60].map((time) => ["/api/v1/query", new URLSearchParams({ query, time: String(time) })] as const),
      ] as const;
      for (const [path, form] of forms) {
        const theirs = await ask(ref316, path, form);
        expect(theirs.status, `${query}: ${theirs.error}`).toBe("success");
        if (path === "/api/v1/query_range") expect((theirs.data.result as Series[]).length, `${query}: the reference answered nothing`).toBeGreaterThan(0);
        const problem = diff(await ask(gate, `${scoped}${path}`, form, gateAuth), theirs);
        if (problem) failures.push(`${query} (${path} ${form.get("time") ?? "range"})\n    ${problem}`);
      }
    }
    expect(failures, `queries that differ:\n${failures.join("\n")}`).toEqual([]);
  });
});

async function ask(base: string, path: string, form: URLSearchParams, headers: Record<string, string> = {}): Promise<Answer> {
  return (await (await fetch(`${base}${path}`, { method: "POST", body: form, headers })).json()) as Answer;
}

describe("Prometheus 3 (own TSDB) and promgate (the same samples via remote_write → Elasticsearch)", () => {
  it("answer dashboard range queries alike", async () => {
    // From before the first scrape (both must answer nothing there) to `end`, on a step scrapes don't align with.
    const form = (query: string) => new URLSearchParams({ query, start: String(firstScrape - 20), end: String(end), step: "7" });
    const failures: string[] = [];
    for (const query of QUERIES) {
      const theirs = await ask(ref, "/api/v1/query_range", form(query));
      expect(theirs.status, `${query}: ${theirs.error}`).toBe("success");
      // Filesystems and disks depend on the machine (node_exporter skips overlay roots and pseudo mounts):
      // there an empty answer is possible, and still compared (promgate must answer nothing too).
      if (!/node_(filesystem|disk)_/.test(query)) {
        expect((theirs.data.result as Series[]).length, `${query}: the reference answered nothing, the comparison would prove nothing`).toBeGreaterThan(0);
      }
      const ours = await ask(gate, `${scoped}/api/v1/query_range`, form(query), gateAuth);
      const problem = diff(ours, theirs, modeOf(query) === "ties" ? "ties" : "exact");
      if (problem) failures.push(`${query}\n    ${problem}`);
      // A matrix comes sorted by label set (Prometheus' labels.Compare); Grafana's legend keeps that order.
      const order = (a: Answer) => (a.data.result as Series[]).map(keyOf).join(" ");
      if (!problem && modeOf(query) !== "ties" && order(ours) !== order(theirs)) failures.push(`${query}\n    series order: promgate ${order(ours)}, reference ${order(theirs)}`);
    }
    expect(failures, `range queries that differ:\n${failures.join("\n")}`).toEqual([]);
  });

  it("answer the same queries as instant queries (at the end, while node_exporter is down, after a minute)", async () => {
    const failures: string[] = [];
    for (const time of [end, downAt + DATA_SECONDS.down / 2, firstScrape + 60]) {
      for (const query of QUERIES) {
        const form = new URLSearchParams({ query, time: String(time) });
        const theirs = await ask(ref, "/api/v1/query", form);
        expect(theirs.status, `${query}: ${theirs.error}`).toBe("success");
        const problem = diff(await ask(gate, `${scoped}/api/v1/query`, form, gateAuth), theirs, modeOf(query));
        if (problem) failures.push(`${query} @ ${time}\n    ${problem}`);
      }
    }
    expect(failures, `instant queries that differ:\n${failures.join("\n")}`).toEqual([]);
  });
});

describe("Grafana's variable and metric browser queries (labels, label values, series, metadata) against both", () => {
  it("answer byte for byte alike", async () => {
    const range = `start=${firstScrape - 20}&end=${end}`;
    for (const path of [
      `/api/v1/labels?${range}`,
      `/api/v1/labels?match[]=up&${range}`,
      `/api/v1/label/job/values?${range}`,
      `/api/v1/label/mode/values?match[]=node_cpu_seconds_total&${range}`,
      `/api/v1/label/__name__/values?match[]={job="node"}&${range}`,
      `/api/v1/series?match[]=node_filesystem_size_bytes&match[]=up&${range}`,
      // Grafana's metric browser shows type and help: Prometheus has them from its targets, promgate from
      // the metadata remote_write sends (once a minute by default).
      "/api/v1/metadata?metric=node_cpu_seconds_total",
      "/api/v1/metadata?metric=prometheus_http_request_duration_seconds",
    ]) {
      const get = async (url: string, headers = {}) => (await fetch(url.replaceAll("[]", "%5B%5D"), { headers })).text();
      const theirs = await get(`${ref}${path}`);
      expect(theirs, `${path}: the reference answered nothing`).toMatch(/^\{"status":"success","data":(\[\{?"|\{")/);
      expect(await get(`${gate}${scoped}${path}`, gateAuth), path).toBe(theirs);
    }
  });
});

describe("promtool query instant|range|series|labels|analyze (a real client) against promgate and Prometheus 3", () => {
  it("prints the same for both servers", () => {
    // Credentials through an HTTP client config file, as a user would pass them (never on the command line).
    const httpConfig = join(workDir, "promtool-http.yml");
    writeFileSync(httpConfig, `basic_auth: { username: ${AUTH.username}, password: ${AUTH.password} }\n`, { mode: 0o600 });
    const promtool = (args: string[]) => execFileSync(PROMTOOL3, ["query", ...args, `--http.config.file=${httpConfig}`], { encoding: "utf8" });
    const range = [`--start=${firstScrape - 20}`, `--end=${end}`];
    // Each case: promtool's arguments for a server URL.
    const cases: ((server: string) => string[])[] = [
      (server) => ["instant", `--time=${end}`, server, "sum by (mode) (rate(node_cpu_seconds_total[1m]))"],
      (server) => ["instant", `--time=${end}`, "--format=json", server, "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"],
      (server) => ["range", `--start=${end - 60}`, `--end=${end}`, "--step=10s", server, "sum by (job) (up)"],
      (server) => ["range", `--start=${end - 60}`, `--end=${end}`, "--step=15s", "--format=json", server, "sum by (job) (rate(process_cpu_seconds_total[1m]))"],
      (server) => ["series", "--match=up", "--match=node_filesystem_size_bytes", ...range, server],
      (server) => ["labels", "--match=node_cpu_seconds_total", ...range, server, "mode"],
      // bucket statistics of a classic histogram, computed by promtool from range queries
      (server) => ["analyze", `--server=${server}`, "--type=histogram", "--duration=2m", `--time=${end}`, "--match=prometheus_http_request_duration_seconds_bucket"],
    ];
    // (without them promgate refuses, so the file is what lets promtool in)
    expect(() => execFileSync(PROMTOOL3, ["query", "instant", `${gate}${scoped}`, "up"], { encoding: "utf8", stdio: "pipe" })).toThrow(/401|unauthorized/i);
    // promtool analyze prints one line per histogram in Go map order (random from run to run, whatever the
    // server answered): compare those lines as a set, everything else as printed.
    const canonical = (out: string, analyze: boolean) => (analyze ? out.split("\n").sort().join("\n") : out);
    for (const args of cases) {
      const analyze = args("URL")[0] === "analyze";
      const theirs = promtool(args(ref));
      const what = args("URL").join(" ");
      expect(theirs.trim().length, `${what}: the reference printed nothing`).toBeGreaterThan(0);
      expect(canonical(promtool(args(`${gate}${scoped}`)), analyze), what).toBe(canonical(theirs, analyze));
    }
  });
});
