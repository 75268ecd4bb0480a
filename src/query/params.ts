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

/** A Prometheus time parameter → milliseconds. */
export function parseTime(raw: string, name: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) {
    const s = Number(raw);
    if (Number.isFinite(s)) return Math.round(s * 1000);
  }
  const ms = Date.parse(raw);
  if (/^\d{4}-\d{2}-\d{2}T/.test(raw) && Number.isFinite(ms)) return ms;
  throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid timestamp`);
}

export interface OptionalRange {
  startMs: number | undefined;
  endMs: number | undefined;
}

export function parseRange(p: Params): OptionalRange {
  const start = p.get("start");
  const end = p.get("end");
  const startMs = start ? parseTime(start, "start") : undefined;
  const endMs = end ? parseTime(end, "end") : undefined;
  if (startMs !== undefined && endMs !== undefined && endMs < startMs) {
    throw badData('invalid parameter "end": end timestamp must not be before start time');
  }
  return { startMs, endMs };
}

export function parseLimit(p: Params): number | undefined {
  const raw = p.get("limit");
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw badData(`invalid parameter "limit": "${raw}" is not a non-negative integer`);
  return n === 0 ? undefined : n;
}
