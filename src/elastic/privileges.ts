import { METRICS_PATTERN } from "./templates.js";

/**
 * What promgate's own Elasticsearch credential may do, and nothing more: `promgate setup` runs once with an
 * administrator's credential; the gateway then runs with a key or user limited to this role, so a leaked
 * Workers secret can neither delete an index nor read outside promgate's indices.
 *
 * - samples and exemplars are data streams written with `create` actions (`create_doc`); the first write to
 *   a new stream creates it from the index template, which needs `auto_configure` (not `create_index`, which
 *   would also allow creating any index by name);
 * - the metadata index is written with `index` actions by _id (a newer help text replaces the older one);
 * - the HA election index (`promgate-ha-replicas`, PROMGATE_HA_INDEX) holds the elected replica of each HA
 *   pair: read, and conditional index by _id;
 * - the chunk index (PROMGATE_CHUNKS_INDEX, default `promgate-chunks`, and `-*` names beside it) holds
 *   compacted chunks and the compactor's progress: the query path writes "dirty window" markers into it and
 *   the compactor may run inside the gateway (PROMGATE_CHUNKS_COMPACT_INTERVAL, the Workers Cron Trigger),
 *   replacing and deleting chunk documents, so the gateway may index and delete documents there (never the
 *   index itself); a separate `promgate compact` gets the compactor role below;
 * - `monitor` answers `/_cluster/health` and `/_nodes` (readiness, status page) and nothing that changes state.
 *
 * Reads need `read` (search, point in time, field_caps) on all of them. Deleting, mapping changes, template
 * changes, reindexing and every other index or cluster action stay with the administrator.
 */

export interface IndexPrivileges {
  names: string[];
  privileges: string[];
  allow_restricted_indices?: boolean;
}

export interface RoleDescriptor {
  cluster: string[];
  indices: IndexPrivileges[];
  metadata: Record<string, unknown>;
}

export const GATEWAY_ROLE = "promgate_gateway";
export const COMPACTOR_ROLE = "promgate_compactor";
export const HA_REPLICAS_INDEX = "promgate-ha-replicas";
export const CHUNKS_INDEX = "promgate-chunks";

export interface RoleOptions {
  metadataIndex: string;
  exemplarIndex: string;
  /** PROMGATE_HA_INDEX; default promgate-ha-replicas. */
  haIndex?: string;
  /** PROMGATE_CHUNKS_INDEX; default promgate-chunks. */
  chunksIndex?: string;
}

/** The chunk index and names beside it (`promgate-chunks-*`), with what writing chunks takes (`maintenance`: its `_refresh`). */
function chunkIndices(chunksIndex = CHUNKS_INDEX): IndexPrivileges {
  return { names: [chunksIndex, `${chunksIndex}-*`], privileges: ["read", "index", "delete", "auto_configure", "maintenance"] };
}

export function gatewayRole(o: RoleOptions): RoleDescriptor {
  return {
    cluster: ["monitor"],
    indices: [
      { names: [METRICS_PATTERN, o.exemplarIndex], privileges: ["create_doc", "auto_configure", "read"] },
      { names: [o.metadataIndex, o.haIndex ?? HA_REPLICAS_INDEX], privileges: ["index", "auto_configure", "read"] },
      chunkIndices(o.chunksIndex),
    ],
    metadata: { managed_by: "promgate" },
  };
}

/** `promgate compact` on its own: reads samples, writes chunks; nothing of ingest's indices. */
export function compactorRole(o: Pick<RoleOptions, "chunksIndex"> = {}): RoleDescriptor {
  return {
    cluster: ["monitor"],
    indices: [
      { names: [METRICS_PATTERN], privileges: ["read"] },
      chunkIndices(o.chunksIndex),
    ],
    metadata: { managed_by: "promgate" },
  };
}
