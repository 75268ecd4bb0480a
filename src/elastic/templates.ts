/**
 * The Elasticsearch templates promgate needs, as plain data (runtime-neutral; `setup.ts` installs them).
 *
 * One index template for `metrics-*.prometheus-*` — the pattern and document shape of Elasticsearch's own
 * Prometheus endpoint — composed only of our component templates plus the user's optional `@custom` one.
 * It does not compose ES built-ins such as `metrics@tsdb-settings`: they are absent on some distributions
 * and differ between versions, and the template must behave the same everywhere.
 */

export interface TemplateOptions {
  /**
   * How far back a new data stream accepts samples (`index.look_back_time`; ES default 2h). A setting of
   * the data-streams module: undefined where that module is absent.
   */
  lookBackTime: string | undefined;
  /** Data stream lifecycle retention, e.g. "90d"; undefined keeps data forever. */
  retention: string | undefined;
  /** Send documents that fail mapping to the failure store (ES ≥ 9.1 with the data-streams module). */
  failureStore: boolean;
  /**
   * Replicas of each backing index (`index.number_of_replicas`); undefined leaves Elasticsearch's default (1).
   * On a cluster of several data nodes a replica keeps every sample readable and writable while one node is down.
   */
  replicas?: number | undefined;
}

export const COMPONENT_SETTINGS = "promgate-metrics@settings";
export const COMPONENT_MAPPINGS = "promgate-metrics@mappings";
export const COMPONENT_CUSTOM = "promgate-metrics@custom";
export const INDEX_TEMPLATE = "promgate-metrics";
export const METRICS_PATTERN = "metrics-*.prometheus-*";
export const METADATA_TEMPLATE = "promgate-metadata";
/** Above the 100–200 used by Elasticsearch's built-in templates, so ours wins on every version. */
export const PRIORITY = 500;

/** Counter suffixes of Prometheus naming conventions (the fallback of docs/storage.md: counter or gauge). */
export const COUNTER_SUFFIXES = ["_total", "_sum", "_count", "_bucket"];

export function settingsComponent(o: TemplateOptions) {
  return {
    template: {
      settings: {
        index: {
          mode: "time_series",
          // Normally derived from the dimension fields by the data-streams module's setting provider; set
          // explicitly so distributions without that module (the test zip) route the same way.
          routing_path: ["labels.*"],
          ...(o.lookBackTime ? { look_back_time: o.lookBackTime } : {}),
          ...(o.replicas !== undefined ? { number_of_replicas: o.replicas } : {}),
          mapping: { total_fields: { limit: 10000 } },
        },
      },
    },
    _meta: { managed_by: "promgate" },
  };
}

/**
 * promgate's own fields beside ES's document shape (docs/storage.md):
 * - `special`: values JSON numbers cannot carry: "stale" (Prometheus' staleness marker), "NaN", "+Inf", "-Inf";
 * - `histogram`: a native histogram sample, the sender's `Histogram` protobuf message without its timestamps,
 *   base64. One keyword doc value holds it exactly (arrays of numbers would come back sorted and deduplicated
 *   from TSDS synthetic source); not indexed, since nothing searches inside it;
 * - `start_timestamp`: when the sample's counter started (remote write 2.0), epoch ms.
 */
export const PROMGATE_PROPERTIES = {
  special: { type: "keyword" },
  histogram: { type: "keyword", index: false, doc_values: true },
  start_timestamp: { type: "date", format: "epoch_millis" },
} as const;

export function mappingsComponent() {
  return {
    template: {
      mappings: {
        dynamic_templates: [
          {
            labels_as_dimensions: {
              path_match: "labels.*",
              match_mapping_type: "string",
              mapping: { type: "keyword", time_series_dimension: true },
            },
          },
          {
            counters: {
              path_match: COUNTER_SUFFIXES.map((s) => `metrics.*${s}`),
              mapping: { type: "double", time_series_metric: "counter" },
            },
          },
          { gauges: { path_match: "metrics.*", mapping: { type: "double", time_series_metric: "gauge" } } },
        ],
        properties: {
          "@timestamp": { type: "date" },
          labels: { type: "passthrough", priority: 10, time_series_dimension: true },
          metrics: { type: "passthrough", priority: 1 },
          promgate: { properties: PROMGATE_PROPERTIES },
        },
      },
    },
    _meta: { managed_by: "promgate" },
  };
}

export function indexTemplate(o: TemplateOptions) {
  const template: Record<string, unknown> = {};
  if (o.retention) template.lifecycle = { data_retention: o.retention };
  if (o.failureStore) template.data_stream_options = { failure_store: { enabled: true } };
  return {
    index_patterns: [METRICS_PATTERN],
    data_stream: {},
    priority: PRIORITY,
    composed_of: [COMPONENT_SETTINGS, COMPONENT_MAPPINGS, COMPONENT_CUSTOM],
    ignore_missing_component_templates: [COMPONENT_CUSTOM],
    template,
    _meta: { managed_by: "promgate", description: "Prometheus samples written by promgate" },
  };
}

export const EXEMPLAR_TEMPLATE = "promgate-exemplars";

/**
 * The exemplar data stream: one document per exemplar, with its series' labels (as keywords, so the same
 * matcher queries as for samples select them), the data stream it was written to (reads are scoped by it),
 * and the exemplar's own labels and value (a string: exact, and NaN/±Inf survive). A data stream, because
 * the samples' `_bulk` carries the exemplars too and requires data streams, and so the samples' retention
 * applies to exemplars as well.
 */
export function exemplarTemplate(index: string, o: Pick<TemplateOptions, "retention">) {
  return {
    index_patterns: [index],
    data_stream: {},
    priority: PRIORITY,
    template: {
      ...(o.retention ? { lifecycle: { data_retention: o.retention } } : {}),
      settings: { index: { number_of_shards: 1, auto_expand_replicas: "0-1" } },
      mappings: {
        dynamic_templates: [
          { series_labels: { path_match: "labels.*", mapping: { type: "keyword" } } },
          { exemplar_labels: { path_match: "exemplar.labels.*", mapping: { type: "keyword", index: false } } },
        ],
        properties: {
          "@timestamp": { type: "date" },
          data_stream: { type: "keyword" },
          key: { type: "keyword" },
          labels: { type: "object", dynamic: true },
          exemplar: { properties: { labels: { type: "object", dynamic: true }, value: { type: "keyword", index: false } } },
        },
      },
    },
    _meta: { managed_by: "promgate", description: "exemplars sent by remote_write" },
  };
}

export function metadataTemplate(index: string) {
  return {
    index_patterns: [index],
    priority: PRIORITY,
    template: {
      settings: { index: { number_of_shards: 1, auto_expand_replicas: "0-1" } },
      mappings: {
        dynamic: "strict",
        properties: {
          "@timestamp": { type: "date" },
          data_stream: { type: "keyword" },
          metric_family_name: { type: "keyword" },
          type: { type: "keyword" },
          help: { type: "text", fields: { keyword: { type: "keyword", ignore_above: 1024 } } },
          unit: { type: "keyword" },
        },
      },
    },
    _meta: { managed_by: "promgate", description: "metric metadata sent by remote_write" },
  };
}

export const HA_TEMPLATE = "promgate-ha-replicas";

/**
 * The HA election index (src/ingest/ha/store.ts): one small document per (tenant, cluster), rewritten with
 * optimistic concurrency a few times a minute. One shard, so a conditional write and the read that
 * follows a conflict always meet the same copy's sequence numbers.
 */
export function haTemplate(index: string) {
  return {
    index_patterns: [index],
    priority: PRIORITY,
    template: {
      settings: { index: { number_of_shards: 1, auto_expand_replicas: "0-1" } },
      mappings: {
        dynamic: "strict",
        properties: {
          tenant: { type: "keyword" },
          cluster: { type: "keyword" },
          replica: { type: "keyword" },
          received_at: { type: "date", format: "epoch_millis" },
          elected_at: { type: "date", format: "epoch_millis" },
        },
      },
    },
    _meta: { managed_by: "promgate", description: "elected replica of each HA Prometheus cluster" },
  };
}

export const CHUNKS_TEMPLATE = "promgate-chunks";

/**
 * The chunk index (src/chunks/documents.ts): per series and two-hour window of a data stream, its samples
 * as Prometheus XOR chunks, its labels as keywords under `labels.*` (the same matcher queries as for raw
 * samples select them) and how many raw documents it was built from; plus the compactor's progress and the
 * windows reads found to differ. A plain index: documents are overwritten in place when a window is redone.
 */
export function chunksTemplate(index: string) {
  return {
    index_patterns: [index],
    priority: PRIORITY,
    template: {
      settings: { index: { number_of_shards: 1, auto_expand_replicas: "0-1", refresh_interval: "1s" } },
      mappings: {
        dynamic_templates: [{ series_labels: { path_match: "labels.*", mapping: { type: "keyword" } } }],
        properties: {
          kind: { type: "keyword" },
          stream: { type: "keyword" },
          start: { type: "long" },
          key: { type: "keyword" },
          run: { type: "keyword" },
          docs: { type: "long" },
          raw: { type: "boolean" },
          corrupt: { type: "boolean" },
          until: { type: "long" },
          labels: { type: "object", dynamic: true },
          // Read from _source only: neither searched nor aggregated.
          chunks: { type: "binary" },
        },
      },
    },
    _meta: { managed_by: "promgate", description: "settled samples as Prometheus XOR chunks, one document per series and window" },
  };
}
