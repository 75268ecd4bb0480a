/**
 * The election of one HA cluster, as a pure function of what Elasticsearch holds and the time: Mimir's HA
 * tracker rules. Whatever it decides to write is written conditionally (store.ts), so two instances that
 * decide at once on the same stored state cannot both win.
 */

/** What Elasticsearch holds for one (tenant, cluster). Times are epoch ms of the instance that wrote them. */
export interface ReplicaState {
  replica: string;
  /** When a sample of the elected replica was last accepted (as written; see refreshIntervalMs). */
  receivedAt: number;
  /** When this replica became the elected one. */
  electedAt: number;
}

export interface ElectionTimes {
  failoverTimeoutMs: number;
  refreshIntervalMs: number;
}

export type Decision =
  /** The replica is the elected one and its last-seen time is recent enough: store, write nothing. */
  | { kind: "accept" }
  /** Another replica is elected and was seen within the failover timeout: deduplicate (202). */
  | { kind: "reject"; elected: string }
  /**
   * Store, after `next` is written conditionally: a first election, a refresh of the elected replica's
   * last-seen time, or a failover (`change`: another replica was elected before).
   */
  | { kind: "write"; next: ReplicaState; change: boolean };

export function decide(current: ReplicaState | undefined, replica: string, nowMs: number, t: ElectionTimes): Decision {
  if (current === undefined) return { kind: "write", next: { replica, receivedAt: nowMs, electedAt: nowMs }, change: false };
  const silentMs = nowMs - current.receivedAt;
  if (current.replica === replica) {
    if (silentMs < t.refreshIntervalMs) return { kind: "accept" };
    return { kind: "write", next: { ...current, receivedAt: nowMs }, change: false };
  }
  if (silentMs < t.failoverTimeoutMs) return { kind: "reject", elected: current.replica };
  return { kind: "write", next: { replica, receivedAt: nowMs, electedAt: nowMs }, change: true };
}
