import { type Counter, type Gauge, type Histogram, Registry } from "./registry.js";

/**
 * promgate's own metrics, one set per app. Label values come from bounded sets only (route patterns,
 * configured tenant ids, status codes, fixed reasons) so a sender cannot grow the number of series.
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

export class PromgateMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"route" | "method" | "status">;
  readonly samplesReceived: Counter<"tenant">;
  readonly samplesStored: Counter<"tenant">;
  readonly samplesDuplicate: Counter<"tenant">;
  readonly samplesRejected: Counter<"tenant" | "reason">;
  readonly rateLimited: Counter<"tenant" | "limit">;
  readonly bytesReceived: Counter<"stage">;
  readonly bulkDuration: Histogram;
  readonly bulkFailures: Counter<"status">;
  readonly bulkItemFailures: Counter<"status">;
  readonly queryDuration: Histogram<"endpoint">;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
  readonly cacheStoredBytes: Counter;
  readonly cacheBytes: Gauge;
  readonly haElected: Gauge<"tenant" | "cluster" | "replica">;
  readonly haDeduped: Counter<"tenant" | "cluster">;
  readonly haChanges: Counter<"tenant" | "cluster">;
  readonly esUp: Gauge;
  readonly chunkWindows: Counter;
  readonly chunkSamples: Counter;
  readonly chunkSeconds: Counter;
  readonly chunkLag: Gauge;
  readonly chunkReadWindows: Counter<"source">;
  readonly buildInfo: Gauge<"version">;
  readonly forwardSentSamples: Counter<"tenant" | "rule">;
  readonly forwardFailures: Counter<"tenant" | "rule" | "reason">;
  readonly forwardDropped: Counter<"tenant" | "rule" | "reason">;
  readonly forwardQueueBytes: Gauge;
  readonly forwardQueueBatches: Gauge;
  /** Whether any call to Elasticsearch has been made yet (promgate_elasticsearch_up means nothing before). */
  esSeen = false;

  constructor(version: string) {
    const r = this.registry;
    this.httpRequests = r.counter({
      name: "promgate_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status code.",
      labelNames: ["route", "method", "status"],
    });
    this.samplesReceived = r.counter({
      name: "promgate_samples_received_total",
      help: "Samples decoded from remote_write requests (float and native histogram samples).",
      labelNames: ["tenant"],
    });
    this.samplesStored = r.counter({
      name: "promgate_samples_stored_total",
      help: "Samples Elasticsearch holds after the request, duplicates (409) included.",
      labelNames: ["tenant"],
    });
    this.samplesDuplicate = r.counter({
      name: "promgate_samples_duplicate_total",
      help: "Samples Elasticsearch already held (409 version conflict, e.g. a retried request), counted as stored.",
      labelNames: ["tenant"],
    });
    this.samplesRejected = r.counter({
      name: "promgate_samples_rejected_total",
      help: "Samples received but not stored, by reason.",
      labelNames: ["tenant", "reason"],
    });
    this.rateLimited = r.counter({
      name: "promgate_rate_limited_total",
      help: "remote_write requests refused by a tenant's rate limits (this instance's), by limit: request_rate, ingestion_rate, ingestion_burst (413), rate_limiter_binding.",
      labelNames: ["tenant", "limit"],
    });
    this.bytesReceived = r.counter({
      name: "promgate_received_bytes_total",
      help: "remote_write body bytes: as sent (compressed) and after snappy (decompressed).",
      labelNames: ["stage"],
    });
    this.bulkDuration = r.histogram({
      name: "promgate_elasticsearch_bulk_duration_seconds",
      help: "Time of each Elasticsearch _bulk request, from sending to the answer's headers.",
      buckets: LATENCY_BUCKETS,
    });
    this.bulkFailures = r.counter({
      name: "promgate_elasticsearch_bulk_failures_total",
      help: "Elasticsearch _bulk requests that failed as a whole, by HTTP status (or unreachable, timeout).",
      labelNames: ["status"],
    });
    this.bulkItemFailures = r.counter({
      name: "promgate_elasticsearch_bulk_item_failures_total",
      help: "Documents Elasticsearch refused inside a _bulk request, by item status (409 duplicates not included).",
      labelNames: ["status"],
    });
    this.queryDuration = r.histogram({
      name: "promgate_query_duration_seconds",
      help: "Time to answer a read request (Prometheus HTTP API, remote_read), by endpoint.",
      labelNames: ["endpoint"],
      buckets: LATENCY_BUCKETS,
    });
    this.cacheHits = r.counter({
      name: "promgate_query_cache_hits_total",
      help: "Range query pieces answered from the results cache.",
    });
    this.cacheMisses = r.counter({
      name: "promgate_query_cache_misses_total",
      help: "Settled range query pieces not in the results cache (evaluated, then stored).",
    });
    this.cacheStoredBytes = r.counter({
      name: "promgate_query_cache_stored_bytes_total",
      help: "Bytes of range query pieces put into the results cache.",
    });
    this.cacheBytes = r.gauge({
      name: "promgate_query_cache_bytes",
      help: "Bytes the in-memory results cache holds (not reported for the Workers Cache API).",
    });
    // Cluster and replica come from senders; a tenant's `ha.maxClusters` bounds them, and only the elected
    // replica of each cluster has a series.
    this.haElected = r.gauge({
      name: "promgate_ha_elected_replica",
      help: "1 for the replica of each HA cluster this instance last knew as elected (src/ingest/ha/).",
      labelNames: ["tenant", "cluster", "replica"],
    });
    this.haDeduped = r.counter({
      name: "promgate_ha_deduped_samples_total",
      help: "Samples (floats and histograms) of an HA replica that was not the elected one, answered 202 and not stored.",
      labelNames: ["tenant", "cluster"],
    });
    this.haChanges = r.counter({
      name: "promgate_ha_elected_replica_changes_total",
      help: "Failovers this instance wrote: the elected replica of a cluster replaced by another (each is won by one instance, so the sum over instances counts every change once).",
      labelNames: ["tenant", "cluster"],
    });
    this.esUp = r.gauge({
      name: "promgate_elasticsearch_up",
      help: "1 if the last Elasticsearch call got an answer below 500, 0 if it failed to connect, timed out or got a 5xx.",
    });
    this.chunkWindows = r.counter({
      name: "promgate_chunks_compacted_windows_total",
      help: "Data stream windows (two hours) the compactor turned into chunk documents.",
    });
    this.chunkSamples = r.counter({
      name: "promgate_chunks_compacted_samples_total",
      help: "Raw samples the compactor read into chunk documents.",
    });
    this.chunkSeconds = r.counter({
      name: "promgate_chunks_compaction_seconds_total",
      help: "Wall time the compactor spent compacting windows (with promgate_chunks_compacted_samples_total: its speed).",
    });
    this.chunkLag = r.gauge({
      name: "promgate_chunks_lag_seconds",
      help: "How far the least compacted data stream is behind the settled horizon, as of the compactor's last step (0: up to date).",
    });
    this.chunkReadWindows = r.counter({
      name: "promgate_chunks_read_windows_total",
      help: "Compacted windows queries read: source=chunks served from chunk documents, source=raw read raw because their count differed (queued for recompaction).",
      labelNames: ["source"],
    });
    this.buildInfo = r.gauge({
      name: "promgate_build_info",
      help: "Always 1; the version label says which promgate answers.",
      labelNames: ["version"],
    });
    this.buildInfo.set({ version }, 1);
    // Forwarding (src/forward/): rule names come from the configuration, reasons from fixed lists.
    this.forwardSentSamples = r.counter({
      name: "promgate_forward_sent_samples_total",
      help: "Samples (floats and native histograms) a forwarding target accepted, by tenant and rule.",
      labelNames: ["tenant", "rule"],
    });
    this.forwardFailures = r.counter({
      name: "promgate_forward_failures_total",
      help: "Failed sends of forwarded batches, by reason: 5xx, 429, network, timeout (retried), 4xx (dropped).",
      labelNames: ["tenant", "rule", "reason"],
    });
    this.forwardDropped = r.counter({
      name: "promgate_forward_dropped_total",
      help: "Samples given up by forwarding, by reason: queue_full, rejected, retries_exhausted, rule_removed, enqueue_failed, unreadable.",
      labelNames: ["tenant", "rule", "reason"],
    });
    this.forwardQueueBytes = r.gauge({
      name: "promgate_forward_queue_bytes",
      help: "Bytes of forwarded batches waiting in this process's queue (Node, Bun, Deno; Workers use a Cloudflare Queue).",
    });
    this.forwardQueueBatches = r.gauge({
      name: "promgate_forward_queue_batches",
      help: "Forwarded batches waiting in this process's queue, retried ones included.",
    });
  }
}
