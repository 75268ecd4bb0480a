import type { Tenant } from "../config.js";
import { mayUseStream } from "../http/auth.js";
import { PromgateError } from "../errors.js";
import type { StreamSelection } from "../http/prefixes.js";
import { dataStreamName } from "../ingest/streams.js";

/**
 * Which data streams a read may touch: the tenant's own (its stream patterns) narrowed by the route
 * (`/metrics/{dataset}[/{namespace}]/api/v1/...` and the aliases of http/prefixes.ts). Expressed as the
 * index expression to search plus a filter on `_index`, because two glob sets cannot in general be
 * intersected into one pattern: the search goes to the route's streams, and the filter keeps only backing
 * indices of streams the tenant owns. A route naming a stream outside the tenant's gets 403; a route
 * pattern just finds nothing of streams the tenant may not read.
 */
export interface ReadScope {
  /** Comma-separated data stream patterns for the search URL. */
  indices: string;
  /** Restricts hits to backing indices (`.ds-<stream>-…`) of streams the tenant may read. */
  filter: Record<string, unknown>;
  /** The route's data stream names and patterns, if the route names any. */
  routePatterns: string[] | undefined;
  /** The tenant's own data stream patterns. */
  tenantPatterns: string[];
  /** A point in time every search of one read goes through (see Storage.snapshot), once opened. */
  pit?: string;
}

/** A query on a keyword field holding data stream names (the metadata index) with the same scope. */
export function streamNameFilter(scope: ReadScope, fieldName: string): Record<string, unknown> {
  const anyOf = (globs: string[]) => ({
    bool: { should: globs.map((g) => ({ wildcard: { [fieldName]: { value: g } } })), minimum_should_match: 1 },
  });
  return { bool: { filter: [anyOf(scope.tenantPatterns), ...(scope.routePatterns ? [anyOf(scope.routePatterns)] : [])] } };
}

/** The streams a route names: undefined for all of the tenant's. */
function routePatterns(tenant: Tenant, selection: StreamSelection): string[] | undefined {
  switch (selection.kind) {
    case "tenant":
      return undefined;
    case "parts":
      return [dataStreamName(selection.dataset, selection.namespace ?? "*")];
    case "stream":
      return [dataStreamName(selection.dataset, selection.namespace ?? tenant.namespace)];
    case "expression":
      return selection.patterns;
  }
}

export function readScope(tenant: Tenant, selection: StreamSelection = { kind: "tenant" }): ReadScope {
  const route = routePatterns(tenant, selection);
  // A name without `*` is a request for that stream: refused outright when it is not the tenant's.
  for (const name of route ?? []) {
    if (!name.includes("*") && !mayUseStream(tenant, name)) throw new PromgateError("forbidden", `tenant "${tenant.id}" may not read ${name}`);
  }
  const tenantFilter = {
    bool: {
      should: tenant.streams.map((g) => ({ wildcard: { _index: { value: `.ds-${g}-*` } } })),
      minimum_should_match: 1,
    },
  };
  return {
    indices: (route ?? tenant.streams).join(","),
    filter: tenantFilter,
    routePatterns: route,
    tenantPatterns: tenant.streams,
  };
}
