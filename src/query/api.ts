import { type Context, Hono } from "hono";
import type { Config } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { tenantOf } from "../http/auth.js";
import { readBody } from "../http/body.js";
import { PromgateError } from "../errors.js";
import { apiErrorType, statusOf } from "../http/errors.js";
import { badData, type CompiledMatcher, compileMatcher, type Labels, requireNonEmptyMatcher } from "./matchers.js";
import { readExemplars } from "./exemplars.js";
import { readMetadata } from "./metadata.js";
import { type OptionalRange, type Params, parseLimit, parseRange, readParams } from "./params.js";
import { chooseResponseType, decodeReadRequest, samplesResponse, streamedResponse } from "./remote/read.js";
import { READ_PREFIXES, type StreamRoute } from "../http/prefixes.js";
import { type ReadScope, readScope } from "./scope.js";
import { parseSelector } from "./selector.js";
import { Storage } from "./storage/storage.js";
import type { ChunkReadEvents, SettledReads } from "./storage/settled.js";
import { ChunkIndex } from "../chunks/index-io.js";
import { QueryTimeoutError } from "./promql/deadline.js";
import { compareLabelSets } from "./promql/order.js";
import { experimentalSyntax, type ParseOptions, parsePromQL } from "./promql/parse.js";
import { type QueryOutcome, storageSource } from "./promql/query.js";
import { familiesOf, typeAndUnitSource } from "./type-and-unit.js";
import { DEFAULT_QUERY_TIMEOUT_MS, formatRequest, instantRequest, rangeRequest } from "./promql/request.js";
import { ReadRequest_ResponseType } from "../gen/prometheus/remote_pb.js";
import { reportError, reportTenant } from "../observe/facts.js";
import { PROMGATE_VERSION } from "../version.js";
import type { QueryFrontend } from "./frontend/frontend.js";

/**
 * The Prometheus HTTP API (query, query_range, query_exemplars, series, labels, label values, metadata,
 * buildinfo) and remote_read, under `/api/v1/…` and every prefix of http/prefixes.ts
 * (`/metrics/{dataset}[/{namespace}]`, and Elasticsearch's and TimeStream's paths) to narrow the streams
 * read. Answers use Prometheus' JSON envelope and error types; Grafana's Prometheus data source and promtool
 * are the clients.
 */

function apiError(c: Context, e: unknown): Response {
  const err = e instanceof PromgateError ? e : new PromgateError("internal", "internal error");
  const errorType = err instanceof QueryTimeoutError ? "timeout" : apiErrorType(err.kind);
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  reportError(c, e instanceof PromgateError ? err.message : e instanceof Error ? e.message : String(e));
  return c.json({ status: "error", errorType, error: err.message }, statusOf(err.kind));
}

function success(c: Context, data: unknown, warnings: string[] = [], infos: string[] = []): Response {
  return c.json({ status: "success", data, ...(warnings.length > 0 ? { warnings } : {}), ...(infos.length > 0 ? { infos } : {}) });
}

/** A PromQL answer: Prometheus 3's envelope with its `warnings` and `infos` annotations. */
const answer = (c: Context, r: QueryOutcome): Response => success(c, r.data, r.warnings, r.infos);


function selectors(p: Params, required: boolean): CompiledMatcher[][] {
  const raw = p.all("match[]");
  if (raw.length === 0 && required) throw badData("no match[] parameter provided");
  return raw.map((text) => {
    const matchers = parseSelector(text).map(compileMatcher);
    requireNonEmptyMatcher(matchers, text);
    return matchers;
  });
}

/**
 * Whether a request lets the results cache answer and keep its pieces: `Cache-Control: no-store` or a
 * `nocache` parameter (for clients that cannot set headers) say no.
 */
function cacheAllowed(c: Context, p: Params): boolean {
  if (/(^|[\s,])no-store($|[\s,;=])/i.test(c.req.header("cache-control") ?? "")) return false;
  const flag = p.get("nocache");
  return flag === undefined || /^(0|false)$/i.test(flag);
}

export function queryRoutes(config: Config, fetchFn: Fetch, frontend?: QueryFrontend, chunkEvents?: ChunkReadEvents): Hono {
  const app = new Hono();
  const storage = new Storage(config, fetchFn);
  const chunks: SettledReads | undefined = config.chunks
    ? (() => {
        const index = new ChunkIndex({ ...config, chunks: config.chunks }, fetchFn);
        return { index: index.name, markDirty: (starts: number[], corrupt?: boolean) => index.markDirty(starts, corrupt), ...(chunkEvents ? { events: chunkEvents } : {}) };
      })()
    : undefined;

  type Handler = (c: Context, scope: ReadScope & { maxQuerySamples: number }, p: Params, range: OptionalRange) => Promise<Response>;
  type Select = StreamRoute["select"];
  /** Auth, scope and parameters, then the handler; every failure becomes Prometheus' error envelope. */
  const api = (handler: Handler, select: Select) => async (c: Context) => {
    try {
      const tenant = await tenantOf(config, c.req.header("authorization"));
      reportTenant(c, tenant.id);
      const scope = { ...readScope(tenant, select((name) => c.req.param(name))), maxQuerySamples: tenant.limits.maxQuerySamples };
      const p = await readParams(c);
      return await handler(c, scope, p, parseRange(p));
    } catch (e) {
      return apiError(c, e);
    }
  };

  const seriesHandler: Handler = async (c, scope, p, range) => {
    const limit = parseLimit(p);
    const found = new Map<string, Labels>();
    for (const matchers of selectors(p, true)) {
      for (const s of await storage.series(scope, matchers, range)) found.set(s.key, s.labels);
    }
    const all = [...found.values()].sort(compareLabelSets);
    const warnings = limit !== undefined && all.length > limit ? ["results truncated due to limit"] : [];
    return success(c, limit !== undefined ? all.slice(0, limit) : all, warnings);
  };

  const labelsHandler: Handler = async (c, scope, p, range) => {
    const limit = parseLimit(p);
    const sels = selectors(p, false);
    let names: string[];
    if (sels.length === 0) names = await storage.labelNames(scope, range);
    else {
      const set = new Set<string>();
      for (const matchers of sels) for (const s of await storage.series(scope, matchers, range)) for (const k in s.labels) set.add(k);
      names = [...set].sort();
    }
    const warnings = limit !== undefined && names.length > limit ? ["results truncated due to limit"] : [];
    return success(c, limit !== undefined ? names.slice(0, limit) : names, warnings);
  };

  const valuesHandler: Handler = async (c, scope, p, range) => {
    const name = c.req.param("name") ?? "";
    if (name === "") throw badData("invalid label name");
    const limit = parseLimit(p);
    const sels = selectors(p, false);
    const set = new Set<string>();
    for (const matchers of sels.length === 0 ? [[]] : sels) {
      for (const v of await storage.labelValues(scope, name, matchers, range)) set.add(v);
    }
    const values = [...set].sort();
    const warnings = limit !== undefined && values.length > limit ? ["results truncated due to limit"] : [];
    return success(c, limit !== undefined ? values.slice(0, limit) : values, warnings);
  };

  const metadataHandler: Handler = async (c, scope, p) => {
    const limitPerMetric = p.get("limit_per_metric");
    const perMetric = limitPerMetric ? Number(limitPerMetric) : undefined;
    if (perMetric !== undefined && (!Number.isSafeInteger(perMetric) || perMetric < 0)) {
      throw badData(`invalid parameter "limit_per_metric": "${limitPerMetric}"`);
    }
    const data = await readMetadata(config, fetchFn, scope, p.get("metric") || undefined, parseLimit(p), perMetric || undefined);
    return success(c, data);
  };

  const timeoutMs = config.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  // type-and-unit-labels: series get __type__ and __unit__ from their family's metadata (type-and-unit.ts).
  const typeAndUnit = config.promqlExperimental?.includes("type-and-unit-labels") === true;
  const source = (scope: ReadScope & { maxQuerySamples: number }) => (deadline: number) => {
    const s = storageSource(storage, scope, scope.maxQuerySamples, deadline, chunks);
    return typeAndUnit ? typeAndUnitSource(s, async () => familiesOf(await readMetadata(config, fetchFn, scope, undefined, undefined, undefined))) : s;
  };
  const parseOptions: ParseOptions = { experimental: experimentalSyntax(config.promqlExperimental) };
  const query: Handler = async (c, scope, p) => answer(c, await instantRequest(p, source(scope), timeoutMs, parseOptions));
  const queryRange: Handler = async (c, scope, p) => answer(c, await rangeRequest(p, source(scope), timeoutMs, frontend?.runner(typeAndUnit ? { ...scope, metadataLabels: true } : scope, cacheAllowed(c, p)), parseOptions));
  const formatQuery: Handler = async (c, _scope, p) => success(c, formatRequest(p, parseOptions));

  const exemplars: Handler = async (c, scope, p, range) => {
    // An empty query fails to parse, with Prometheus' message.
    const expr = parsePromQL(p.get("query") ?? "", parseOptions);
    return success(c, await readExemplars(config, fetchFn, scope, expr, range, scope.maxQuerySamples));
  };

  const buildinfo: Handler = async (c) =>
    success(c, {
      // Clients (Grafana) read the version to pick features; this is the Prometheus API level we implement.
      version: "2.55.0",
      revision: `promgate-${PROMGATE_VERSION}`,
      branch: "promgate",
      buildUser: "promgate",
      buildDate: "",
      goVersion: "none (promgate, TypeScript)",
    });

  const remoteRead = (select: Select) => async (c: Context) => {
    const tenant = await tenantOf(config, c.req.header("authorization"));
    reportTenant(c, tenant.id);
    const scope = readScope(tenant, select((name) => c.req.param(name)));
    const encoding = c.req.header("content-encoding");
    if (!encoding || encoding.toLowerCase() !== "snappy") {
      throw new PromgateError("unsupported_media_type", `unsupported Content-Encoding "${encoding ?? ""}": remote_read bodies must be snappy`);
    }
    const body = await readBody(c.req.raw, tenant.limits.maxCompressedBytes, "maxCompressedBytes");
    const req = decodeReadRequest(body, tenant);
    return chooseResponseType(req) === ReadRequest_ResponseType.STREAMED_XOR_CHUNKS
      ? await streamedResponse(storage, scope, req, tenant.limits.maxQuerySamples)
      : await samplesResponse(storage, scope, req, tenant.limits.maxQuerySamples);
  };

  const endpoints: [string, Handler][] = [
    ["series", seriesHandler],
    ["labels", labelsHandler],
    ["label/:name/values", valuesHandler],
    ["metadata", metadataHandler],
    ["status/buildinfo", buildinfo],
    ["query", query],
    ["query_range", queryRange],
    ["query_exemplars", exemplars],
    ["format_query", formatQuery],
  ];
  // Every endpoint under every prefix: the aliases are the same handlers with the scope their path names.
  for (const { path: prefix, select } of READ_PREFIXES) {
    for (const [endpoint, handler] of endpoints) {
      app.get(`${prefix}/api/v1/${endpoint}`, api(handler, select));
      app.post(`${prefix}/api/v1/${endpoint}`, api(handler, select));
    }
    app.post(`${prefix}/api/v1/read`, remoteRead(select));
  }
  return app;
}
