import { fromBinary } from "@bufbuild/protobuf";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";

/**
 * The reference path: the generated protobuf-es decoder plus plain objects, the way one would write it
 * without caring for speed. The hand decoder + NDJSON writer must produce exactly these documents.
 */
export type Doc = Record<string, unknown>;

export function referenceDocuments(decoded: Uint8Array): Doc[] {
  const req = fromBinary(WriteRequestSchema, decoded);
  const docs: Doc[] = [];
  for (const ts of req.timeseries) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels) if (l.value !== "") labels[l.name] = l.value;
    const name = labels.__name__;
    if (!name) continue;
    for (const s of ts.samples) {
      const doc: Doc = { "@timestamp": Number(s.timestamp), labels };
      if (Number.isFinite(s.value)) doc.metrics = { [name]: s.value };
      else doc.promgate = { special: Number.isNaN(s.value) ? "NaN" : s.value > 0 ? "+Inf" : "-Inf" };
      docs.push(doc);
    }
  }
  return docs;
}

/** Parses a `_bulk` NDJSON body into its documents, checking every action line is a bare create. */
export function parseBulk(body: Uint8Array | string): Doc[] {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("bulk body must end with a newline");
  lines.pop();
  const docs: Doc[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    if (lines[i] !== '{"create":{}}') throw new Error(`line ${i} is not a create action: ${lines[i]}`);
    docs.push(JSON.parse(lines[i + 1]!) as Doc);
  }
  return docs;
}
