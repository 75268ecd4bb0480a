import type { Tenant } from "../config.js";
import { mayUseStream } from "../http/auth.js";
import { HttpError } from "../http/errors.js";
import { validateStreamPart } from "../ingest/streams.js";

/**
 * Which data streams a read may touch: the tenant's own (its stream patterns) narrowed by the route
 * (`/metrics/{dataset}[/{namespace}]/api/v1/...`). Expressed as the index expression to search plus a
 * filter on `_index`, because two glob sets cannot in general be intersected into one pattern: the search
 * goes to the route's streams, and the filter keeps only backing indices of streams the tenant owns.
 */
export interface ReadScope {
  /** Comma-separated data stream patterns for the search URL. */
  indices: string;
  /** Restricts hits to backing indices (`.ds-<stream>-…`) of streams the tenant may read. */
  filter: Record<string, unknown>;
  /** The route's data stream pattern, if the route names one. */
  routePattern: string | undefined;
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
  return { bool: { filter: [anyOf(scope.tenantPatterns), ...(scope.routePattern ? [anyOf([scope.routePattern])] : [])] } };
}

export function readScope(tenant: Tenant, dataset?: string, namespace?: string): ReadScope {
  if (dataset !== undefined) validateStreamPart("dataset", dataset);
  if (namespace !== undefined) validateStreamPart("namespace", namespace);
  const route = dataset === undefined ? undefined : `metrics-${dataset}.prometheus-${namespace ?? "*"}`;
  if (route && namespace !== undefined && !mayUseStream(tenant, route)) {
    throw new HttpError(403, `tenant "${tenant.id}" may not read ${route}`);
  }
  const tenantFilter = {
    bool: {
      should: tenant.streams.map((g) => ({ wildcard: { _index: { value: `.ds-${g}-*` } } })),
      minimum_should_match: 1,
    },
  };
  return {
    indices: route ?? tenant.streams.join(","),
    filter: tenantFilter,
    routePattern: route,
    tenantPatterns: tenant.streams,
  };
}
