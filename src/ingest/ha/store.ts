import type { Config } from "../../config.js";
import { esFailure, esFetch, type Fetch } from "../../elastic/http.js";
import { PromgateError } from "../../errors.js";
import type { ReplicaState } from "./election.js";

/**
 * The elections in Elasticsearch (PROMGATE_HA_INDEX), one document per (tenant, cluster), written with
 * optimistic concurrency: a new election with `_create` (409 if another instance created it first), every
 * later change with `if_seq_no`/`if_primary_term` of the version it was decided on (409 if anyone wrote
 * since). Reads are real-time gets (they see every acknowledged write without a refresh).
 */

/** Which write of the document a decision was made on. */
export interface Version {
  seqNo: number;
  primaryTerm: number;
}

export interface Stored {
  state: ReplicaState;
  version: Version;
}

interface ElectionDoc {
  tenant: string;
  cluster: string;
  replica: string;
  received_at: number;
  elected_at: number;
}

interface GetAnswer {
  found?: boolean;
  _seq_no?: number;
  _primary_term?: number;
  _source?: Partial<ElectionDoc>;
}

interface WriteAnswer {
  _seq_no?: number;
  _primary_term?: number;
}

/**
 * The document id: a hash of tenant and cluster, because a cluster label value may be up to 4 KiB and hold
 * any character, while an id is at most 512 bytes and goes into the URL. The document repeats both in clear.
 */
export async function electionId(tenant: string, cluster: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${tenant}\u0000${cluster}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class ElectionStore {
  constructor(
    private readonly config: Config,
    private readonly fetchFn: Fetch,
  ) {}

  async read(id: string): Promise<Stored | undefined> {
    const res = await esFetch(this.config, this.fetchFn, { method: "GET", path: `/${this.config.haIndex}/_doc/${id}` });
    // 404: no such document, or no index yet (setup not run: the first write creates it).
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw await esFailure(res, "reading the HA election", this.config.retryAfterSeconds);
    const a = (await res.json()) as GetAnswer;
    const s = a._source;
    if (!a.found || !s || typeof s.replica !== "string" || typeof a._seq_no !== "number" || typeof a._primary_term !== "number") return undefined;
    return {
      state: { replica: s.replica, receivedAt: Number(s.received_at), electedAt: Number(s.elected_at) },
      version: { seqNo: a._seq_no, primaryTerm: a._primary_term },
    };
  }

  /**
   * Writes `state` if the document is still at `expected` (absent: if there is none yet). Returns the new
   * version, or "conflict" when another instance wrote first (the caller reads again and decides anew).
   */
  async write(id: string, tenant: string, cluster: string, state: ReplicaState, expected: Version | undefined): Promise<Version | "conflict"> {
    const doc: ElectionDoc = { tenant, cluster, replica: state.replica, received_at: state.receivedAt, elected_at: state.electedAt };
    const path =
      expected === undefined
        ? `/${this.config.haIndex}/_create/${id}`
        : `/${this.config.haIndex}/_doc/${id}?if_seq_no=${expected.seqNo}&if_primary_term=${expected.primaryTerm}`;
    const res = await esFetch(this.config, this.fetchFn, { method: "PUT", path, body: JSON.stringify(doc) });
    if (res.status === 409) {
      await res.body?.cancel();
      return "conflict";
    }
    if (!res.ok) throw await esFailure(res, "writing the HA election", this.config.retryAfterSeconds);
    const a = (await res.json()) as WriteAnswer;
    if (typeof a._seq_no !== "number" || typeof a._primary_term !== "number") {
      throw new PromgateError("storage_failed", "elasticsearch answered an HA election write without _seq_no/_primary_term");
    }
    return { seqNo: a._seq_no, primaryTerm: a._primary_term };
  }
}
