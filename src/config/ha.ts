/**
 * A tenant's `ha` field in PROMGATE_TENANTS: deduplication of HA Prometheus pairs with Mimir's semantics
 * (its `accept_ha_samples`, `ha_cluster_label`, `ha_replica_label`, `ha_max_clusters` and
 * `ha_tracker_failover_timeout`). Problems name the field, never the value.
 */

import { ConfigError } from "./errors.js";
import { asPositiveInt } from "./values.js";

export interface HaConfig {
  /** Label naming the HA group (Mimir's default `cluster`); kept on stored series. */
  clusterLabel: string;
  /** Label naming the replica within the group (Mimir's default `__replica__`); removed before storing. */
  replicaLabel: string;
  /** The elected replica is replaced once it has sent nothing for this long. */
  failoverTimeoutMs: number;
  /**
   * How old the elected replica's last-seen time in Elasticsearch may get before an instance that accepts
   * its samples writes it again: a third of the failover timeout, at most 5 s. Below the failover timeout
   * so that a replica that keeps sending is never failed over (see docs/ha-deduplication.md).
   */
  refreshIntervalMs: number;
  /** How long an instance decides from its in-memory copy of the election before reading it again. */
  cacheTtlMs: number;
  /** Distinct clusters one instance tracks for the tenant; a request bringing more is refused (400). */
  maxClusters: number;
}

export const HA_DEFAULTS = {
  clusterLabel: "cluster",
  replicaLabel: "__replica__",
  failoverTimeout: "30s",
  maxClusters: 100,
} as const;

const MAX_REFRESH_MS = 5000;
const FIELDS: ReadonlySet<string> = new Set(["enabled", "clusterLabel", "replicaLabel", "failoverTimeout", "cacheTtl", "maxClusters"]);
/** Prometheus' classic label names: what the labels are compared with in the request. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^([1-9][0-9]*)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The derived refresh interval (see HaConfig.refreshIntervalMs). */
export const refreshIntervalFor = (failoverTimeoutMs: number): number => Math.min(MAX_REFRESH_MS, Math.floor(failoverTimeoutMs / 3));

/** `ha` of tenant `at` → its settings, or undefined when absent or `enabled: false`. */
export function parseHa(at: string, raw: unknown): HaConfig | undefined {
  if (raw === undefined) return undefined;
  const where = `${at}.ha`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${where} must be an object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new ConfigError(`${where}.${k} is not a known field`);
  if (typeof o.enabled !== "boolean") throw new ConfigError(`${where}.enabled must be true or false`);
  const clusterLabel = label(`${where}.clusterLabel`, o.clusterLabel ?? HA_DEFAULTS.clusterLabel);
  const replicaLabel = label(`${where}.replicaLabel`, o.replicaLabel ?? HA_DEFAULTS.replicaLabel);
  if (clusterLabel === replicaLabel) throw new ConfigError(`${where}.clusterLabel and ${where}.replicaLabel must differ`);
  const failoverTimeoutMs = duration(`${where}.failoverTimeout`, o.failoverTimeout ?? HA_DEFAULTS.failoverTimeout);
  // Below 1 s the refresh interval would be a few hundred ms: an Elasticsearch write per request.
  if (failoverTimeoutMs < 1000) throw new ConfigError(`${where}.failoverTimeout must be at least 1s`);
  const refreshIntervalMs = refreshIntervalFor(failoverTimeoutMs);
  const cacheTtlMs = o.cacheTtl === undefined ? Math.floor(refreshIntervalMs / 2) : duration(`${where}.cacheTtl`, o.cacheTtl);
  const maxClusters = o.maxClusters === undefined ? HA_DEFAULTS.maxClusters : asPositiveInt(o.maxClusters);
  if (maxClusters === undefined) throw new ConfigError(`${where}.maxClusters must be a positive integer`);
  if (!o.enabled) return undefined;
  return { clusterLabel, replicaLabel, failoverTimeoutMs, refreshIntervalMs, cacheTtlMs, maxClusters };
}

function label(at: string, v: unknown): string {
  if (typeof v !== "string" || !LABEL_NAME.test(v) || v === "__name__") throw new ConfigError(`${at} must be a label name other than __name__`);
  return v;
}

function duration(at: string, v: unknown): number {
  const m = typeof v === "string" ? DURATION.exec(v) : null;
  if (!m) throw new ConfigError(`${at} must be a duration such as 30s, 500ms or 1m`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
