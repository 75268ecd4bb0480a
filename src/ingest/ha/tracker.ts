import type { HaConfig } from "../../config/ha.js";
import { invalid, PromgateError } from "../../errors.js";
import { decide } from "./election.js";
import { electionId, type ElectionStore, type Stored } from "./store.js";

/**
 * One instance's view of the HA elections: decides per (tenant, cluster, replica) whether samples are
 * stored, from an in-memory copy of the Elasticsearch document that is read again once older than the
 * tenant's `cacheTtl`. Deciding from a copy is safe at any age: every decision that changes the election
 * is a conditional write that fails (409) if the copy is out of date, and a decision that writes nothing
 * (store the elected replica, deduplicate another) is the one Elasticsearch's newer state would give too,
 * because a failover needs the elected replica to be silent for the whole failover timeout, longer than
 * any copy's last-seen time can lag (docs/ha-deduplication.md works it through). The TTL only bounds how
 * much an instance writes in vain.
 */

export interface HaEvents {
  /** The replica this instance now knows as elected (`previous`: the one it knew before, if another). */
  elected(tenant: string, cluster: string, replica: string, previous: string | undefined): void;
  /** This instance's write replaced the elected replica (each change is won by exactly one instance). */
  changed(tenant: string, cluster: string): void;
}

export type Verdict = { accepted: true } | { accepted: false; elected: string };

interface Entry {
  id: string;
  stored: Stored | undefined;
  /** When `stored` was read or written; -Infinity forces a read. */
  fetchedAt: number;
  /** A read in flight, shared by concurrent requests for the same cluster. */
  reading?: Promise<void>;
}

/** Conflicts in a row before giving up with a 503 (each means another instance changed the document). */
const MAX_ATTEMPTS = 5;

export class HaTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly clustersPerTenant = new Map<string, number>();

  constructor(
    private readonly store: ElectionStore,
    private readonly events: HaEvents,
  ) {}

  async check(tenant: string, ha: HaConfig, cluster: string, replica: string, nowMs: number): Promise<Verdict> {
    const entry = await this.entry(tenant, ha, cluster);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (!(nowMs - entry.fetchedAt < ha.cacheTtlMs)) await this.refresh(tenant, cluster, entry, nowMs);
      const d = decide(entry.stored?.state, replica, nowMs, ha);
      if (d.kind === "accept") return { accepted: true };
      if (d.kind === "reject") return { accepted: false, elected: d.elected };
      const version = await this.store.write(entry.id, tenant, cluster, d.next, entry.stored?.version);
      if (version === "conflict") {
        entry.fetchedAt = Number.NEGATIVE_INFINITY;
        continue;
      }
      this.remember(tenant, cluster, entry, { state: d.next, version }, nowMs);
      if (d.change) this.events.changed(tenant, cluster);
      return { accepted: true };
    }
    // The cluster is not named: its value comes from the sender and may be kilobytes long.
    throw new PromgateError("unavailable", `an HA election changed under ${MAX_ATTEMPTS} writes in a row (other instances electing at once); retry`);
  }

  /** The cluster's entry, created on first sight; refuses a tenant's cluster beyond its maxClusters. */
  private async entry(tenant: string, ha: HaConfig, cluster: string): Promise<Entry> {
    const key = `${tenant}\u0000${cluster}`;
    const known = this.entries.get(key);
    if (known) return known;
    const id = await electionId(tenant, cluster);
    // From here on synchronous: another request may have added this or another cluster while the id was hashed.
    const raced = this.entries.get(key);
    if (raced) return raced;
    const count = this.clustersPerTenant.get(tenant) ?? 0;
    if (count >= ha.maxClusters) {
      throw invalid(`too many HA clusters: tenant "${tenant}" may send at most maxClusters ${ha.maxClusters}`);
    }
    const entry: Entry = { id, stored: undefined, fetchedAt: Number.NEGATIVE_INFINITY };
    this.entries.set(key, entry);
    this.clustersPerTenant.set(tenant, count + 1);
    return entry;
  }

  private async refresh(tenant: string, cluster: string, entry: Entry, nowMs: number): Promise<void> {
    entry.reading ??= this.store
      .read(entry.id)
      .then((stored) => this.remember(tenant, cluster, entry, stored, nowMs))
      .finally(() => {
        entry.reading = undefined;
      });
    await entry.reading;
  }

  private remember(tenant: string, cluster: string, entry: Entry, stored: Stored | undefined, nowMs: number): void {
    const previous = entry.stored?.state.replica;
    entry.stored = stored;
    entry.fetchedAt = nowMs;
    if (stored !== undefined && stored.state.replica !== previous) this.events.elected(tenant, cluster, stored.state.replica, previous);
  }
}
