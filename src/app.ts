import { Hono } from "hono";
import type { Config } from "./config.js";
import { esFetch, type Fetch } from "./elastic/http.js";
import { PromgateError } from "./errors.js";
import { statusOf } from "./http/errors.js";
import { ingestRoutes } from "./ingest/routes.js";
import { ElectionStore } from "./ingest/ha/store.js";
import { HaTracker } from "./ingest/ha/tracker.js";
import { Forwarder } from "./forward/forwarder.js";
import { metricsEvents } from "./forward/events.js";
import { Observer } from "./observe/index.js";
import { reportError } from "./observe/facts.js";
import { queryRoutes } from "./query/api.js";
import { statusRoutes } from "./status/routes.js";
import { PROMGATE_VERSION } from "./version.js";
import { Compactor } from "./chunks/compactor.js";
import { QueryFrontend } from "./query/frontend/frontend.js";
import { LruStore, type PieceStore } from "./query/frontend/store.js";
import type { PromgateMetrics } from "./observe/metrics.js";

export interface AppDeps {
  fetch: Fetch;
  now: () => number;
  /**
   * Where the JSON log lines (one per request, warnings, failures) go, with the level the line carries;
   * never given credentials or bodies.
   */
  log: (line: string, level: LogLevel) => void;
  /**
   * Where the results cache keeps pieces, when the runtime has a store of its own (the Workers entry passes
   * the Cache API); otherwise an in-memory LRU bounded by PROMGATE_CACHE_MAX_BYTES.
   */
  pieceStore?: PieceStore;
}

export type LogLevel = "info" | "warn" | "error";

export const defaultDeps = (): AppDeps => ({
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  // Through the console method of the line's level: Workers Logs, `wrangler tail` filters and `wrangler dev`
  // classify lines by it (an info line sent to console.error shows as an error).
  log: (line, level) => (level === "error" ? console.error(line) : level === "warn" ? console.warn(line) : console.log(line)),
});

/** The runtime-neutral app: every entry point (workerd, Bun, Deno, Node) serves exactly this. */
export function createApp(config: Config, deps: AppDeps = defaultDeps()): Hono {
  return createGateway(config, deps).app;
}

/** The app and its forwarding, whose queue consumer the Workers entry also serves (`queue()`). */
export interface Gateway {
  app: Hono;
  forwarder: Forwarder;
  /**
   * With chunks on (PROMGATE_CHUNKS): the compactor, counting its work in the app's /metrics; run by the
   * Workers Cron Trigger (`scheduled()`) or the Node/Bun/Deno timer.
   */
  compactor?: Compactor;
}

export function createGateway(config: Config, deps: AppDeps = defaultDeps()): Gateway {
  const app = new Hono();
  // Once per app: at process start on Node, Bun and Deno, once per isolate on Workers.
  for (const msg of config.warnings) deps.log(JSON.stringify({ ts: new Date(deps.now()).toISOString(), level: "warn", msg }), "warn");
  // First, so it sees every request and every response, errors included.
  const observer = new Observer(config, deps, PROMGATE_VERSION);
  app.use(observer.middleware());
  const observed: AppDeps = { ...deps, fetch: observer.fetch };

  app.get("/-/healthy", (c) => c.text("promgate is healthy\n"));
  app.get("/metrics", observer.metricsHandler());
  app.get("/-/ready", async (c) => {
    const res = await esFetch(config, observed.fetch, { method: "GET", path: "/_cluster/health" });
    await res.body?.cancel();
    if (!res.ok) throw new PromgateError("unavailable", `elasticsearch answered ${res.status}`);
    return c.text("promgate is ready\n");
  });
  const forwarder = new Forwarder(config, deps, metricsEvents(observer.metrics), `promgate/${PROMGATE_VERSION}`);
  const ingestDeps = { ...observed, ...haTracker(config, observed.fetch, observer.metrics), ...(forwarder.active ? { forwarder } : {}) };
  app.route("/", ingestRoutes(config, ingestDeps));
  const m = observer.metrics;
  const chunkReads = {
    windows: (served: number, differed: number) => {
      m.chunkReadWindows.inc({ source: "chunks" }, served);
      m.chunkReadWindows.inc({ source: "raw" }, differed);
    },
  };
  app.route("/", queryRoutes(config, observed.fetch, queryFrontend(config, deps, m), chunkReads));
  let compactor: Compactor | undefined;
  if (config.chunks) {
    const events = {
      window: (_series: number, samples: number, seconds: number) => {
        m.chunkWindows.inc();
        m.chunkSamples.inc({}, samples);
        m.chunkSeconds.inc({}, seconds);
      },
      lag: (seconds: number) => m.chunkLag.set({}, seconds),
    };
    compactor = new Compactor({ ...config, chunks: config.chunks }, observed.fetch, events, deps.now);
  }
  app.route("/", statusRoutes(config, observed));

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((err, c) => {
    if (err instanceof PromgateError) {
      reportError(c, err.message); // the request's log line carries it
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.text(`${err.message}\n`, statusOf(err.kind));
    }
    reportError(c, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    // A bug: the stack is worth its own line.
    deps.log(JSON.stringify({ ts: new Date().toISOString(), level: "error", msg: "unhandled error", stack: err instanceof Error ? err.stack : String(err) }), "error");
    return c.text("internal error\n", 500);
  });
  return { app, forwarder, ...(compactor ? { compactor } : {}) };
}

/** The HA elections, when a tenant deduplicates HA pairs; their changes shown in /metrics. */
function haTracker(config: Config, fetchFn: Fetch, metrics: PromgateMetrics): { ha?: HaTracker } {
  if (!config.tenants.some((t) => t.ha !== undefined)) return {};
  return {
    ha: new HaTracker(new ElectionStore(config, fetchFn), {
      elected: (tenant, cluster, replica, previous) => {
        if (previous !== undefined) metrics.haElected.remove({ tenant, cluster, replica: previous });
        metrics.haElected.set({ tenant, cluster, replica }, 1);
      },
      changed: (tenant, cluster) => metrics.haChanges.inc({ tenant, cluster }),
    }),
  };
}

/** The range query frontend the settings ask for, its cache events counted in /metrics. */
function queryFrontend(config: Config, deps: AppDeps, metrics: PromgateMetrics): QueryFrontend | undefined {
  const f = config.frontend;
  if (!f) return undefined;
  const store = f.cache ? (deps.pieceStore ?? new LruStore(f.cacheMaxBytes, deps.now)) : undefined;
  const events = {
    hit: () => metrics.cacheHits.inc(),
    miss: () => metrics.cacheMisses.inc(),
    stored: (bytes: number, held: number | undefined) => {
      metrics.cacheStoredBytes.inc({}, bytes);
      if (held !== undefined) metrics.cacheBytes.set({}, held);
    },
  };
  return new QueryFrontend({ splitMs: f.splitMs, alignStep: f.alignStep, settleMs: f.settleMs, store, version: PROMGATE_VERSION }, events, deps.now);
}
