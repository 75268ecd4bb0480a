import type { Fetch } from "../elastic/http.js";
import type { PromgateMetrics } from "./metrics.js";

/**
 * Watches every call promgate makes to Elasticsearch by wrapping the one `fetch` they all go through:
 * reachability from each outcome, and for `_bulk` its latency and whole-request failures. The wrapper only
 * looks at the URL path and the status, never at headers (they carry promgate's ES credentials) or bodies.
 */
export function observedFetch(fetchFn: Fetch, metrics: PromgateMetrics): Fetch {
  return async function observedFetch(input, init) {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    const bulk = path.endsWith("/_bulk");
    const start = performance.now();
    metrics.esSeen = true;
    let res: Response;
    try {
      res = await fetchFn(input, init);
    } catch (e) {
      metrics.esUp.set({}, 0);
      if (bulk) {
        const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
        metrics.bulkFailures.inc({ status: timedOut ? "timeout" : "unreachable" });
      }
      throw e;
    }
    metrics.esUp.set({}, res.status < 500 ? 1 : 0);
    if (bulk) {
      metrics.bulkDuration.observe({}, (performance.now() - start) / 1000);
      if (res.status >= 300) metrics.bulkFailures.inc({ status: String(res.status) });
    }
    return res;
  };
}
