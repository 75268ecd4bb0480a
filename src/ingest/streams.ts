import { HttpError } from "../http/errors.js";

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
    throw new HttpError(
      400,
      `invalid ${kind} "${value.slice(0, 100)}": use 1-100 characters of a-z, 0-9, "_" and "." (no "-", not starting with ".")`,
    );
  }
}

export function dataStreamName(dataset: string, namespace: string): string {
  return `metrics-${dataset}.prometheus-${namespace}`;
}
