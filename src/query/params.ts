import type { Context } from "hono";
import { badData } from "./matchers.js";

/**
 * Prometheus HTTP API parameters, from the query string (GET) or a form body (POST), as Prometheus takes
 * them: repeated keys (`match[]`), times as RFC 3339 or Unix seconds with decimals.
 */
export interface Params {
  get(name: string): string | undefined;
  all(name: string): string[];
}

export async function readParams(c: Context): Promise<Params> {
  const url = new URL(c.req.url);
  const values = new URLSearchParams(url.search);
  if (c.req.method === "POST") {
    const type = c.req.header("content-type") ?? "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(await c.req.text())) values.append(k, v);
    } else if (type !== "") {
      throw badData(`unsupported Content-Type "${type}": send a form (application/x-www-form-urlencoded)`);
    }
  }
  return {
    get: (name) => values.get(name) ?? undefined,
    all: (name) => values.getAll(name),
  };
}

// Prometheus' own boundary times (its clients send them for "no bound"); Go cannot parse 9-digit years.
const MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z";
const MIN_TIME_MS = -9223309901257974 * 1000;
const MAX_TIME_MS = 9223309901257973 * 1000 + 999;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/**
 * A Prometheus time parameter → milliseconds: Unix seconds with decimals (rounded to the millisecond as
 * Prometheus does), or RFC 3339 with a zone. `context` adds Prometheus' "invalid time value for 'time'".
 */
export function parseTime(raw: string, name: string, context = ""): number {
  if (FLOAT.test(raw)) {
    const t = Number(raw);
    if (Number.isFinite(t)) {
      const whole = Math.trunc(t);
      return whole * 1000 + roundHalfAway((t - whole) * 1000);
    }
  }
  if (RFC3339.test(raw)) {
    const ms = Date.parse(raw.toUpperCase());
    if (Number.isFinite(ms)) return ms;
  }
  if (raw === MIN_TIME_TEXT) return MIN_TIME_MS;
  if (raw === MAX_TIME_TEXT) return MAX_TIME_MS;
  throw badData(`invalid parameter "${name}": ${context}cannot parse "${raw}" to a valid timestamp`);
}

const DURATION_UNITS: [string, number][] = [["y", 31_536_000_000], ["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];
const MODEL_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * A Prometheus duration parameter (step, timeout) → milliseconds: float seconds, or Prometheus' duration
 * syntax with units in descending order ("1h30m"). Sub-millisecond parts are cut off, as the engine does.
 */
export function parseDurationParam(raw: string, name: string): number {
  if (FLOAT.test(raw)) {
    const ms = Number(raw) * 1000;
    if (Math.abs(ms) > 9.223372036854776e15) throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid duration. It overflows int64`);
    return Math.trunc(ms);
  }
  const m = raw === "" || raw === "0" ? null : MODEL_DURATION.exec(raw);
  if (raw === "0") return 0;
  if (!m) throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid duration`);
  return DURATION_UNITS.reduce((total, [, unit], i) => total + Number(m[i + 1] ?? 0) * unit, 0);
}

export interface OptionalRange {
  startMs: number | undefined;
  endMs: number | undefined;
}

export function parseRange(p: Params): OptionalRange {
  const start = p.get("start");
  const end = p.get("end");
  // Prometheus' boundary times mean "unbounded" here.
  const startMs = start && start !== MIN_TIME_TEXT ? parseTime(start, "start") : undefined;
  const endMs = end && end !== MAX_TIME_TEXT ? parseTime(end, "end") : undefined;
  if (startMs !== undefined && endMs !== undefined && endMs < startMs) {
    throw badData('invalid parameter "end": end timestamp must not be before start time');
  }
  return { startMs, endMs };
}

/** `limit`: 0 or absent = no limit (Prometheus' parseLimitParam, with its messages). */
export function parseLimit(p: Params): number | undefined {
  const raw = p.get("limit");
  if (raw === undefined || raw === "") return undefined;
  if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw badData(`invalid parameter "limit": strconv.Atoi: parsing ${JSON.stringify(raw)}: ${/^[+-]?\d+$/.test(raw) ? "value out of range" : "invalid syntax"}`);
  }
  const n = Number(raw);
  if (n < 0) throw badData('invalid parameter "limit": limit must be non-negative');
  return n === 0 ? undefined : n;
}
