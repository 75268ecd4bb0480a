import { PromgateError } from "../../errors.js";
import { badData } from "../matchers.js";
import { type Params, parseDurationParam, parseLimit, parseTime } from "../params.js";
import type { Expr } from "./ast.js";
import type { SampleSource } from "./engine.js";
import { ParseError, type ParseOptions, parsePromQL } from "./parse.js";
import { formatExpr } from "./printer.js";
import { checkRange, instantQuery, type QueryOutcome, rangeQuery, type RangeRunner } from "./query.js";

/**
 * The parameters of /api/v1/query, /api/v1/query_range and /api/v1/format_query, checked in Prometheus'
 * order and with its messages (web/api/v1: `invalid parameter "step": …`), then the query run.
 */

/** Prometheus' default query timeout (its `--query.timeout`). */
export const DEFAULT_QUERY_TIMEOUT_MS = 120_000;

function queryParam(p: Params, options: ParseOptions): Expr {
  try {
    return parsePromQL(p.get("query") ?? "", options);
  } catch (e) {
    if (e instanceof ParseError) throw badData(`invalid parameter "query": ${e.message}`);
    throw e;
  }
}

/** The deadline: `timeout` when given, never beyond the configured limit. */
function deadline(p: Params, limitMs: number, now: number): number {
  const raw = p.get("timeout");
  const asked = raw ? parseDurationParam(raw, "timeout") : Infinity;
  return now + Math.min(asked, limitMs);
}

/** Prometheus gives stats for any non-empty `stats` value. */
const wantsStats = (p: Params): boolean => (p.get("stats") ?? "") !== "";

export async function instantRequest(p: Params, source: (deadline: number) => SampleSource, timeoutMs: number, options: ParseOptions = {}): Promise<QueryOutcome> {
  const limit = parseLimit(p);
  const now = Date.now();
  const time = p.get("time");
  const t = time ? parseTime(time, "time", "invalid time value for 'time': ") : now;
  const until = deadline(p, timeoutMs, now);
  const expr = queryParam(p, options);
  return instantQuery(expr, t, source(until), { query: p.get("query") ?? "", deadline: until, limit, stats: wantsStats(p) });
}

export async function rangeRequest(
  p: Params,
  source: (deadline: number) => SampleSource,
  timeoutMs: number,
  run: RangeRunner = rangeQuery,
  options: ParseOptions = {},
): Promise<QueryOutcome> {
  const limit = parseLimit(p);
  const startMs = parseTime(p.get("start") ?? "", "start");
  const endMs = parseTime(p.get("end") ?? "", "end");
  if (endMs < startMs) throw badData('invalid parameter "end": end timestamp must not be before start time');
  const stepMs = parseDurationParam(p.get("step") ?? "", "step");
  if (!(stepMs > 0)) throw badData('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
  const until = deadline(p, timeoutMs, Date.now());
  const expr = queryParam(p, options);
  try {
    checkRange(expr, startMs, endMs, stepMs);
  } catch (e) {
    // The expression type is a property of the query parameter; the resolution limit is not.
    if (e instanceof PromgateError && e.message.startsWith("invalid expression type")) throw badData(`invalid parameter "query": ${e.message}`);
    throw e;
  }
  return run(expr, startMs, endMs, stepMs, source(until), { query: p.get("query") ?? "", deadline: until, limit, stats: wantsStats(p) });
}

/** /api/v1/format_query: the query as Prometheus prints it (prettified). */
export function formatRequest(p: Params, options: ParseOptions = {}): string {
  return formatExpr(queryParam(p, options));
}
