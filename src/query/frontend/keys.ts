/**
 * Cache keys. A piece's answer depends on the data the tenant may see (its stream patterns and the route's
 * stream), the query, and the grid; the key is `<scope hash>/<piece hash>`, SHA-256 in hex, so no stream
 * name, query text or credential is readable from it (the Workers cache turns it into a URL).
 */

const hex = (buf: ArrayBuffer): string => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** The data a read can see: two tenants with the same patterns on the same route see the same data. */
export interface ScopeKey {
  tenantPatterns: readonly string[];
  /** The streams the route names (an index expression may name several: their union, in any order). */
  routePatterns: readonly string[] | undefined;
  /** Series read with `__type__` and `__unit__` from metadata (type-and-unit-labels): other answers. */
  metadataLabels?: boolean;
}

export function scopeHash(scope: ScopeKey): Promise<string> {
  const route = scope.routePatterns ? [...scope.routePatterns].sort().join(",") : null;
  return sha256(JSON.stringify({ streams: [...scope.tenantPatterns].sort(), route, ...(scope.metadataLabels ? { metadataLabels: true } : {}) }));
}

/** What else fixes a piece's answer. The version changes with the engine, so a deploy never serves old answers. */
export interface PieceKey {
  version: string;
  /** The query as printed from its syntax tree: spellings that differ only in layout share entries. */
  query: string;
  stepMs: number;
  /** The grid's phase (start mod step). */
  phaseMs: number;
  splitMs: number;
  index: number;
  /** Where `@ start()` and `@ end()` point (the whole query's range), when the query uses them. */
  anchor: { startMs: number; endMs: number } | undefined;
}

export async function pieceKey(scope: string, k: PieceKey): Promise<string> {
  return `${scope}/${await sha256(JSON.stringify(k))}`;
}
