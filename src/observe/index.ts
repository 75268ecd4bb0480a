import type { LogLevel } from "../app.js";
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { Config, Tenant } from "../config.js";
import { esFetch, type Fetch } from "../elastic/http.js";
import { authenticate } from "../http/auth.js";
import { PromgateError } from "../errors.js";
import { observedFetch } from "./es.js";
import { reportTenant } from "./facts.js";
import { PromgateMetrics } from "./metrics.js";
import { EXPOSITION_CONTENT_TYPE } from "./registry.js";
import { observeRequests } from "./requests.js";
import { SelfMetricsWriter } from "./self-write.js";

/**
 * promgate watching itself, one per app: the metrics, the request middleware (log line + counters), the
 * instrumented fetch to Elasticsearch, `GET /metrics`, and the optional self-remote-write.
 */

export interface ObserveDeps {
  fetch: Fetch;
  now: () => number;
  log: (line: string, level: LogLevel) => void;
}

/** The pseudo-tenant a PROMGATE_METRICS_TOKEN authenticates as: it may scrape /metrics, nothing else. */
const SCRAPER_ID = "metrics-scraper";

export class Observer {
  readonly metrics: PromgateMetrics;
  /** Every Elasticsearch call of the app goes through this. */
  readonly fetch: Fetch;
  readonly selfWriter: SelfMetricsWriter | undefined;
  private readonly scrapeCredentials: Tenant[];
  private readonly scraper: Tenant | undefined;

  constructor(
    private readonly config: Config,
    private readonly deps: ObserveDeps,
    version: string,
  ) {
    this.metrics = new PromgateMetrics(version);
    this.fetch = observedFetch(deps.fetch, this.metrics);
    // The scrape token joins the tenants' credentials in one list so it is checked by the same constant-time
    // code; the pseudo-tenant exists only here, never in the list the data routes authenticate against.
    const token = config.metricsToken;
    this.scraper = token ? { id: SCRAPER_ID, tokens: [token], streams: [], namespace: "default", admin: false, limits: config.limits } : undefined;
    this.scrapeCredentials = this.scraper ? [...config.tenants, this.scraper] : config.tenants;
    this.selfWriter = config.selfMetrics
      ? new SelfMetricsWriter(config, this.fetch, this.metrics.registry, config.selfMetrics, crypto.randomUUID().slice(0, 8), deps.log)
      : undefined;
  }

  middleware(): MiddlewareHandler {
    return observeRequests({
      metrics: this.metrics,
      log: this.deps.log,
      afterRequest: (c) => this.afterRequest(c),
    });
  }

  /**
   * `GET /metrics`: the scrape token or an admin tenant's credentials; open when authentication is off. The
   * metrics name every tenant and its volumes, so an ordinary tenant's credentials get a 403.
   */
  metricsHandler(): Handler {
    return async (c) => {
      if (this.config.auth !== "none") {
        const who = await authenticate(c.req.header("authorization"), this.scrapeCredentials);
        reportTenant(c, who.id);
        // By identity: a tenant that happens to be called like the pseudo-tenant is not it.
        if (who !== this.scraper && !who.admin) {
          throw new PromgateError("forbidden", `tenant "${who.id}" may not read /metrics (needs PROMGATE_METRICS_TOKEN or a tenant with "admin": true)`);
        }
      }
      // An isolate that has not called Elasticsearch yet asks it once, so the reachability gauge is there
      // from the first scrape on (later scrapes report what the traffic found, without a call of their own).
      if (!this.metrics.esSeen) await this.probe();
      return c.body(this.metrics.registry.expose(), 200, { "content-type": EXPOSITION_CONTENT_TYPE });
    };
  }

  private async probe(): Promise<void> {
    try {
      const res = await esFetch(this.config, this.fetch, { method: "GET", path: "/_cluster/health" });
      await res.body?.cancel();
    } catch {
      // unreachable: observedFetch has set the gauge to 0
    }
  }

  private afterRequest(c: Context): void {
    const pending = this.selfWriter?.maybeWrite(this.deps.now());
    if (!pending) return;
    // On Workers the isolate may stop once the response is sent unless the write is handed to waitUntil;
    // elsewhere the promise just runs on (it never rejects).
    let ctx: { waitUntil(p: Promise<unknown>): void } | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      ctx = undefined; // Hono throws when the runtime gave no ExecutionContext (Node, Bun, Deno)
    }
    ctx?.waitUntil(pending);
  }
}
