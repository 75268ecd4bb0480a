import { PromgateError } from "../errors.js";

/**
 * A search Elasticsearch could not run on every shard still answers 200: `_shards.failed` counts the shards
 * that failed (a node down with no replica in sync yet, a shard relocating), and `timed_out` says a shard ran
 * out of time. Such an answer is missing samples without saying which, so promgate never passes it on as a
 * result: it becomes 503 (`unavailable`), which clients retry. Every search promgate
 * reads goes through `assertComplete`; `_field_caps` through `assertAllIndices`.
 */

export interface SearchCompleteness {
  timed_out?: boolean;
  _shards?: { total?: number; failed?: number };
}

/** Request parameter: let Elasticsearch fail a search with a missing shard itself, rather than answer in part. */
export const NO_PARTIAL_RESULTS = "allow_partial_search_results=false";

/**
 * `filterPath` plus the fields the check reads. A filter of exclusions alone (`-hits.hits._id`) keeps them
 * already; adding an inclusion to it would drop everything else.
 */
export function withCompleteness(filterPath: string): string {
  const parts = filterPath.split(",");
  if (parts.every((p) => p.startsWith("-"))) return filterPath;
  return [...parts, "_shards.total", "_shards.failed", "timed_out"].join(",");
}

export function assertComplete(answer: SearchCompleteness, what: string): void {
  if (answer.timed_out === true) {
    throw new PromgateError("unavailable", `elasticsearch ran out of time on some shards during ${what}; the partial answer is not used`);
  }
  const failed = answer._shards?.failed ?? 0;
  if (failed > 0) {
    const total = answer._shards?.total ?? failed;
    throw new PromgateError(
      "unavailable",
      `elasticsearch answered ${what} from ${total - failed} of ${total} shards (a node or shard is unavailable); the partial answer is not used`,
    );
  }
}

/** `_field_caps` leaves out indices it could not read and counts them in `failed_indices`. */
export function assertAllIndices(answer: { failed_indices?: number }, what: string): void {
  const failed = answer.failed_indices ?? 0;
  if (failed > 0) throw new PromgateError("unavailable", `elasticsearch could not read ${failed} indices for ${what}; the partial answer is not used`);
}
