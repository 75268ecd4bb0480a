import { DEFAULT_LIMITS } from "../src/config.js";
import { parseForwardRules } from "../src/config/forward.js";
import { encodeBatch, splitSeries } from "../src/forward/encode.js";
import { compileRule } from "../src/forward/rules.js";
import { selectSeries } from "../src/forward/select.js";
import { snappyDecompress } from "../src/ingest/snappy.js";
import { compare, ours } from "./ingest.js";
import { nodeExporterBody } from "./payloads.js";

/**
 * What forwarding adds to a remote_write request of a tenant with rules, against ingest's own work on the same
 * request (decode → `_bulk` body) measured in the same run: the second walk of the request, the rules'
 * filters, encoding and snappy for the target. Runs after the response, but on the same CPU.
 */

export interface ForwardRow {
  rule: string;
  taken: number;
  ingestMs: number;
  forwardMs: number;
  ratio: number;
}

const RULES: [string, Record<string, string>][] = [
  ["one name of five (20 %)", { __name__: "node_cpu_seconds_total" }],
  ["every series (100 %)", { __name__: ".+" }],
  ["regex on two labels (~7 %)", { __name__: "node_(cpu|disk)_.*", mode: "user|io", env: "prod" }],
];

export function benchForward(samples = 2000): ForwardRow[] {
  const body = nodeExporterBody(samples, 1767268800000);
  const rows: ForwardRow[] = [];
  for (const [label, match] of RULES) {
    const rule = compileRule(parseForwardRules("bench", [{ name: "r", url: "http://127.0.0.1:9/w", match, extraLabels: { source: "promgate" } }])[0]!);
    const forward = () => {
      const decoded = snappyDecompress(body, DEFAULT_LIMITS.maxDecompressedBytes);
      const [picked] = selectSeries(decoded, "prw1", DEFAULT_LIMITS, [rule]);
      let n = 0;
      for (const g of splitSeries(picked!, 512 * 1024)) n += encodeBatch(g, rule.extraLabels, "1.0").samples;
      return n;
    };
    const taken = forward();
    const [ingestMs, forwardMs] = compare(() => ours(body), forward);
    rows.push({ rule: label, taken, ingestMs, forwardMs, ratio: forwardMs / ingestMs });
  }
  return rows;
}
