import type { Config, Limits, Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { PromgateError, resentAfter } from "../errors.js";
import { sendBulk } from "./bulk.js";
import { type DecodeStats, decodeWriteRequest, type VisitorWrap } from "./decode.js";
import { decodeWriteRequestV2 } from "./decode-v2.js";
import { BulkBodyWriter, bulkSizeHint } from "./documents.js";
import type { WireProtocol } from "./headers.js";
import { familyTypes, storeMetadata } from "./metadata.js";
import type { Refund } from "./rate-limits.js";
import { snappyDecompress } from "./snappy.js";
import { type IngestFacts, newIngestFacts } from "../observe/facts.js";
import { type Dedupe, prepareDedupe } from "./ha/dedupe.js";
import type { HaTracker } from "./ha/tracker.js";

/**
 * One remote_write request body, already size-checked, to Elasticsearch: snappy → protobuf (1.0 or 2.0) →
 * NDJSON → one `_bulk`. Anything that cannot be decoded throws before a byte is sent, so nothing from it is
 * stored.
 */

/**
 * Charges a decoded request's cost (floats + histograms + exemplars) before anything of it is stored; throws
 * to refuse it (see rate-limits.ts).
 */
export type Admit = (cost: number) => Refund;

/**
 * Hands a decoded, admitted request to forwarding; returns at once (the work runs after the request's).
 * `wrap`: what stands between the decoder and the documents (HA deduplication), for forwarding's own pass.
 */
export type Forward = (decoded: Uint8Array, protocol: WireProtocol, wrap?: VisitorWrap) => void;

export interface WriteOutcome {
  stats: DecodeStats;
  documents: number;
  duplicates: number;
}

export async function ingestWriteRequest(
  config: Config,
  fetchFn: Fetch,
  tenant: Tenant,
  dataStream: string,
  body: Uint8Array,
  nowMs: number,
  facts: IngestFacts = newIngestFacts(),
  protocol: WireProtocol = "prw1",
  admit?: Admit,
  ha?: HaTracker,
  forward?: Forward,
): Promise<WriteOutcome> {
  facts.bytesCompressed = body.length;
  const decoded = snappyDecompress(body, tenant.limits.maxDecompressedBytes);
  facts.bytesDecompressed = decoded.length;
  const dedupe = ha && tenant.ha ? await prepareDedupe(ha, tenant.id, tenant.ha, decoded, protocol, tenant.limits, nowMs) : undefined;
  // Forwarding takes the request once it is decoded and admitted, before it is stored: it neither waits for
  // Elasticsearch nor depends on its answer (src/forward/).
  const admitted: Admit | undefined = forward
    ? (cost) => {
        const refund = admit?.(cost);
        // What storage keeps of an HA pair is what is forwarded: the elected replica, without its label.
        const ha = dedupe?.again();
        forward(decoded, protocol, ha ? (v) => ha.wrap(v) : undefined);
        return refund ?? (() => undefined);
      }
    : admit;
  return storeDecoded(config, fetchFn, tenant.limits, dataStream, decoded, nowMs, facts, protocol, admitted, dedupe);
}

/** Whether the sender will resend the same request (429, 5xx, a bug's 500) rather than drop it (other 4xx). */
const resent = (e: unknown): boolean => !(e instanceof PromgateError) || resentAfter(e.kind);

/** A rejection reason as a metric label value: "series without __name__ label" → "series_without_name_label". */
const rejectionLabel = (r: string): string =>
  r.replace(/[0-9]+/g, "").replace(/[^a-z]+/gi, "_").replace(/^_|_$/g, "").toLowerCase();

/** A decoded (protobuf) write request into `dataStream`; also how promgate stores its own metrics. */
export async function storeDecoded(
  config: Config,
  fetchFn: Fetch,
  limits: Limits,
  dataStream: string,
  decoded: Uint8Array,
  nowMs: number,
  facts: IngestFacts = newIngestFacts(),
  protocol: WireProtocol = "prw1",
  admit?: Admit,
  dedupe?: Dedupe,
): Promise<WriteOutcome> {
  const writer = new BulkBodyWriter(limits, bulkSizeHint(decoded.length, protocol), {
    exemplars: { index: config.exemplarIndex, dataStream },
    familyTypes: familyTypes(dataStream),
    ...(config.chunks ? { minTimestampMs: nowMs - config.chunks.settleMs } : {}),
  });
  const visitor = dedupe ? dedupe.wrap(writer) : writer;
  const stats = protocol === "prw2" ? decodeWriteRequestV2(decoded, limits, visitor) : decodeWriteRequest(decoded, limits, visitor);
  facts.samplesReceived = stats.samples + stats.histograms;
  facts.exemplarsReceived = stats.exemplars;
  let refund: Refund | undefined;
  try {
    // Another replica's samples cost nothing, as in Mimir: the pair is charged once, not twice.
    refund = admit?.(stats.samples + stats.histograms + stats.exemplars - (dedupe?.deduped ?? 0));
  } catch (e) {
    // Refused before anything was sent: every sample of it is not stored, for this one reason.
    facts.rejected.set("rate_limited", facts.samplesReceived);
    throw e;
  }
  for (const [reason, r] of writer.rejected) facts.rejected.set(rejectionLabel(reason), (facts.rejected.get(rejectionLabel(reason)) ?? 0) + r.samples);

  let duplicates = 0;
  try {
    if (writer.documents > 0) {
      duplicates = (await sendBulk(config, fetchFn, dataStream, writer.body(), writer.kinds(), facts)).duplicates;
    }
    if (writer.metadataEntries.length > 0) {
      await storeMetadata(config, fetchFn, dataStream, writer.metadataEntries, nowMs);
    }
  } catch (e) {
    if (resent(e)) refund?.();
    throw e;
  }
  // Counted once the rest is stored: a request the sender will resend would count its samples again.
  if (dedupe) {
    facts.deduped = dedupe.deduped;
    facts.dedupedByCluster = dedupe.dedupedByCluster;
  }

  // Everything valid is stored now; what was not is reported with a 400 so the sender does not retry it.
  const problems: string[] = [];
  for (const [reason, r] of writer.rejected) {
    problems.push(`${reason}: ${r.series} series, ${r.samples} samples (e.g. ${r.example})`);
  }
  if (problems.length > 0) {
    const stored = [`${writer.floatDocuments} samples`, ...(writer.histogramDocuments ? [`${writer.histogramDocuments} histograms`] : []), ...(writer.exemplarDocuments ? [`${writer.exemplarDocuments} exemplars`] : [])];
    throw new PromgateError("invalid", `stored ${stored.join(", ")}; not stored: ${problems.join("; ")}`);
  }
  return { stats, documents: writer.documents, duplicates };
}
