import type { Limits } from "../config.js";
import { ConfigError } from "./errors.js";
import { SETTINGS } from "./schema.js";

/** Every limit's name, as PROMGATE_TENANTS' `limits` objects spell them. */
export const LIMIT_NAMES: ReadonlySet<string> = new Set(SETTINGS.flatMap((s) => (s.limit !== undefined ? [s.limit] : [])));

/**
 * A burst means nothing without its rate: refused at start rather than silently ignored. `name` says how the
 * place being checked spells a limit (a setting, or a field of a tenant's `limits`).
 */
export function checkRateLimits(limits: Limits, name: (field: keyof Limits) => string): void {
  for (const [burst, rate] of [["ingestionBurst", "ingestionRate"], ["requestBurst", "requestRate"]] as const) {
    if (limits[burst] !== undefined && limits[rate] === undefined) throw new ConfigError(`${name(burst)} needs ${name(rate)}`);
  }
}
