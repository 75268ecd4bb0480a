import type { Tenant } from "../config.js";
import { PromgateError } from "../errors.js";
import type { StreamSelection } from "../http/prefixes.js";

/**
 * Data stream naming, as Elasticsearch's own Prometheus endpoint does it:
 * `metrics-{dataset}.prometheus-{namespace}`. Elasticsearch's data stream naming scheme forbids `-` in
 * both parts (it separates type, dataset and namespace), upper case, and the characters `\/*?"<>|,#: `;
 * both are at most 100 bytes.
 */
const PART = /^[a-z0-9_][a-z0-9_.]{0,99}$/;

export const DEFAULT_DATASET = "generic";

export function validateStreamPart(kind: "dataset" | "namespace", value: string): void {
  if (!PART.test(value)) {
    throw new PromgateError("invalid",
      `invalid ${kind} "${value.slice(0, 100)}": use 1-100 characters of a-z, 0-9, "_" and "." (no "-", not starting with ".")`,
    );
  }
}

export function dataStreamName(dataset: string, namespace: string): string {
  return `metrics-${dataset}.prometheus-${namespace}`;
}

/** The one data stream a remote_write route names (see http/prefixes.ts); the tenant fills in what it leaves out. */
export function writeStream(tenant: Tenant, selection: StreamSelection): string {
  switch (selection.kind) {
    case "tenant":
      return dataStreamName(DEFAULT_DATASET, tenant.namespace);
    case "parts":
    case "stream":
      return dataStreamName(selection.dataset, selection.namespace ?? tenant.namespace);
    case "expression":
      // No write route takes an expression (Elasticsearch has no such write path either).
      throw new PromgateError("not_found", "remote_write takes one data stream, not an index expression");
  }
}
