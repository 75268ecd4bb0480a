import type { Config } from "../config.js";
import { esFailure, esFetch, type Fetch, oneLine } from "../elastic/http.js";
import { PromgateError } from "../errors.js";
import type { IngestFacts } from "../observe/facts.js";
import { DOC_EXEMPLAR, DOC_HISTOGRAM } from "./documents.js";

/**
 * Sends one `_bulk` request and turns Elasticsearch's answer into the status remote_write needs:
 * - every item created, or 409 (a TSDS duplicate: this exact sample is already stored, e.g. by a retry)
 *   → success, so retries are safe;
 * - any item throttled (429) → 503 with Retry-After; the retry's already-stored items come back as 409;
 * - any item with a 5xx (shard unavailable…) → 503, to be retried;
 * - other item failures (mapping, outside the TSDS time window…) → 400 naming the reasons; the rest is stored.
 */

// Only what the mapping needs comes back: on success ES sends `{"errors":false}` plus one small status per item.
const FILTER = "filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}
interface BulkResponse {
  errors?: boolean;
  items?: Record<string, BulkItem>[];
}

export interface BulkResult {
  created: number;
  duplicates: number;
}

export async function sendBulk(
  config: Config,
  fetchFn: Fetch,
  dataStream: string,
  body: Uint8Array<ArrayBuffer>,
  kinds: Uint8Array,
  facts?: IngestFacts,
): Promise<BulkResult> {
  // require_data_stream: if the index template is missing, fail loudly instead of letting ES auto-create a
  // plain index that silently loses TSDS semantics (dedup, dimensions).
  const res = await esFetch(config, fetchFn, {
    method: "POST",
    path: `/${dataStream}/_bulk?require_data_stream=true&${FILTER}`,
    body,
    contentType: "application/x-ndjson",
    gzip: config.esGzip,
    // `create` into a TSDS: a document sent twice gets the same _id and comes back 409, counted as stored.
    idempotent: true,
  });
  if (!res.ok) throw await esFailure(res, "the bulk request", config.retryAfterSeconds);
  let parsed: BulkResponse;
  try {
    parsed = (await res.json()) as BulkResponse;
  } catch {
    throw new PromgateError("storage_failed", "elasticsearch sent an unreadable bulk response");
  }
  return mapBulkResponse(parsed, kinds, config.retryAfterSeconds, facts);
}

/** Adds the documents Elasticsearch holds (item status < 300 or 409) to the facts' counts, by kind. */
function countStored(facts: IngestFacts, kinds: Uint8Array, items: Record<string, BulkItem>[] | undefined): void {
  for (let i = 0; i < kinds.length; i++) {
    if (items) {
      const item = Object.values(items[i]!)[0];
      if (item && item.status >= 300 && item.status !== 409) continue;
    }
    const k = kinds[i];
    if (k === DOC_EXEMPLAR) facts.exemplarsStored++;
    else {
      facts.samplesStored++;
      if (k === DOC_HISTOGRAM) facts.histogramsStored++;
      else facts.floatsStored++;
    }
  }
}

/**
 * `kinds` says what each document is (see BulkBodyWriter.kinds). `facts`, when given, learns how many
 * documents of each kind are stored and which item statuses failed, even when this throws.
 */
export function mapBulkResponse(parsed: BulkResponse, kinds: Uint8Array, retryAfterSeconds: number, facts?: IngestFacts): BulkResult {
  const documents = kinds.length;
  const items = parsed.items ?? [];
  if (items.length !== documents) {
    throw new PromgateError("storage_failed", `elasticsearch answered ${items.length} bulk items for ${documents} documents`);
  }
  if (!parsed.errors) {
    if (facts) countStored(facts, kinds, undefined);
    return { created: documents, duplicates: 0 };
  }
  let duplicates = 0;
  let throttled = 0;
  let unavailable = 0;
  let noTemplate = 0;
  const failures = new Map<string, { count: number; reason: string }>();
  const failedByStatus = new Map<number, number>();
  for (const wrapper of items) {
    const item = Object.values(wrapper)[0];
    if (!item || item.status < 300) continue;
    if (item.status === 409) {
      duplicates++;
      continue;
    }
    failedByStatus.set(item.status, (failedByStatus.get(item.status) ?? 0) + 1);
    if (item.status === 429) throttled++;
    else if (item.status >= 500) unavailable++;
    else if (item.error?.type === "index_not_found_exception") noTemplate++;
    else {
      const type = item.error?.type ?? `status ${item.status}`;
      const f = failures.get(type);
      if (f) f.count++;
      else failures.set(type, { count: 1, reason: item.error?.reason ?? "" });
    }
  }
  if (facts) {
    for (const [status, n] of failedByStatus) facts.bulkItemFailures.set(status, (facts.bulkItemFailures.get(status) ?? 0) + n);
    countStored(facts, kinds, items);
    facts.duplicates += duplicates;
  }
  if (throttled > 0) {
    // 503 rather than 429, as for a throttled request (esFailure): every sender retries it by default.
    throw new PromgateError("unavailable", `elasticsearch throttled ${throttled} of ${documents} samples; retry later`, {
      "retry-after": String(retryAfterSeconds),
    });
  }
  if (noTemplate > 0) {
    // require_data_stream refused to create the stream: the index template is missing. A server-side
    // setup fault, so the sender keeps the data and retries once `promgate setup` has run.
    throw new PromgateError("unavailable", "elasticsearch has no promgate index template for this data stream: run `promgate setup`");
  }
  if (unavailable > 0) {
    throw new PromgateError("unavailable", `elasticsearch could not store ${unavailable} of ${documents} samples (shards unavailable); retry`);
  }
  if (failures.size > 0) {
    const failed = [...failures.values()].reduce((n, f) => n + f.count, 0);
    const summary = [...failures.entries()].map(([type, f]) => `${type} ×${f.count}: ${f.reason}`).join("; ");
    throw new PromgateError("invalid", oneLine(`${failed} of ${documents} samples rejected by elasticsearch: ${summary}`, 500));
  }
  return { created: documents - duplicates, duplicates };
}
