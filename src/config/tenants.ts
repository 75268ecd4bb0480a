/**
 * PROMGATE_TENANTS (JSON: tenant id → fields of TENANT_FIELDS) → the tenants, isolated by default: a tenant
 * that names nothing else writes to, and reads, only its own namespace, which is its id. Anything wider is
 * said explicitly (`streams` patterns, `namespace`). Problems name the field; values are never echoed.
 */

import type { Limits, Tenant } from "../config.js";
import { ConfigError } from "./errors.js";
import { parseHa } from "./ha.js";
import { parseForwardRules } from "./forward.js";
import { checkRateLimits, LIMIT_NAMES } from "./limits.js";
import { TENANT_FIELDS } from "./schema.js";
import { asPositiveInt } from "./values.js";

/** Every stream promgate writes: what a tenant reached by default before tenants were isolated. */
export const ALL_STREAMS = "metrics-*.prometheus-*";

/**
 * Where writes naming no namespace went before tenants were isolated (so it holds every such tenant's
 * older data), and where promgate's self metrics go: never a tenant's namespace unless said explicitly.
 */
export const SHARED_NAMESPACE = "default";

/** The data streams of one namespace, any dataset. */
export const namespaceStreams = (namespace: string): string => `metrics-*.prometheus-${namespace}`;

const TENANT_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Elasticsearch's data stream naming: no upper case, no `-` (it separates type, dataset and namespace). */
const NAMESPACE = /^[a-z0-9_][a-z0-9_.]{0,99}$/;
const NAMESPACE_RULE = `1-100 characters of a-z, 0-9, "_" and ".", not starting with "."`;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(TENANT_FIELDS.map((f) => f.name));

export interface ParsedTenants {
  tenants: Tenant[];
  /** One line per tenant that relies on a default which changed (see implicitDefaults). */
  warnings: string[];
}

export function parseTenants(raw: unknown, limits: Limits): ParsedTenants {
  if (raw === undefined || raw === null || raw === "") {
    throw new ConfigError("PROMGATE_TENANTS is required (JSON: tenant id → credentials); PROMGATE_AUTH=none turns authentication off");
  }
  if (typeof raw !== "string") throw new ConfigError("PROMGATE_TENANTS must be a string (JSON)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("PROMGATE_TENANTS is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("PROMGATE_TENANTS must be a JSON object of tenant id → settings");
  }
  const tenants: Tenant[] = [];
  const warnings: string[] = [];
  Object.entries(parsed).forEach(([id, fields], i) => {
    const t = parseTenant(id, i, fields, limits);
    tenants.push(t.tenant);
    if (t.warning !== undefined) warnings.push(t.warning);
  });
  if (tenants.length === 0) throw new ConfigError("PROMGATE_TENANTS names no tenant");
  const seen = new Set<string>();
  for (const t of tenants) {
    for (const token of t.tokens) {
      if (seen.has(token)) throw new ConfigError(`PROMGATE_TENANTS.${t.id}.tokens: a token is shared with another tenant`);
      seen.add(token);
    }
  }
  return { tenants, warnings };
}

function parseTenant(id: string, position: number, raw: unknown, defaults: Limits): { tenant: Tenant; warning?: string } {
  const at = `PROMGATE_TENANTS.${id}`;
  // A malformed id is not echoed: it may be a credential pasted in the wrong place. Valid ids are user names.
  if (!TENANT_ID.test(id)) throw new ConfigError(`PROMGATE_TENANTS: the id of tenant #${position + 1} must match ${TENANT_ID.source}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${at} must be an object`);
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!KNOWN_FIELDS.has(k)) throw new ConfigError(`${at}.${k} is not a known field`);

  const password = t.password;
  if (password !== undefined && (typeof password !== "string" || password.length === 0)) {
    throw new ConfigError(`${at}.password must be a non-empty string`);
  }
  const tokens = t.tokens ?? [];
  if (!Array.isArray(tokens) || tokens.some((x) => typeof x !== "string" || x.length < 8)) {
    throw new ConfigError(`${at}.tokens must be a list of strings of 8 or more characters`);
  }
  if (password === undefined && tokens.length === 0) throw new ConfigError(`${at} needs a password or tokens`);
  const namespace = parseNamespace(at, id, t.namespace);
  const streams = t.streams ?? [namespaceStreams(namespace)];
  if (!Array.isArray(streams) || streams.length === 0 || streams.some((x) => typeof x !== "string" || x === "")) {
    throw new ConfigError(`${at}.streams must be a non-empty list of data stream name patterns`);
  }
  const admin = t.admin ?? false;
  if (typeof admin !== "boolean") throw new ConfigError(`${at}.admin must be true or false`);
  const ha = parseHa(at, t.ha);
  const tenant: Tenant = {
    id,
    ...(password !== undefined ? { password: password as string } : {}),
    tokens: tokens as string[],
    streams: streams as string[],
    namespace,
    admin,
    limits: parseLimits(at, t.limits, defaults),
    ...(ha !== undefined ? { ha } : {}),
  };
  const forward = parseForwardRules(at, t.forward);
  if (forward.length > 0) tenant.forward = forward;
  const warning = implicitDefaults(at, tenant, t.streams !== undefined, t.namespace !== undefined);
  return warning === undefined ? { tenant } : { tenant, warning };
}

/**
 * An explicit namespace, else the tenant id. An id that is not a valid namespace is refused rather than
 * mapped: a mapping (lower case, `-` → `_`) could give two tenants the same namespace, which is the very
 * sharing this default exists to prevent. `default` is never implied (see SHARED_NAMESPACE).
 */
function parseNamespace(at: string, id: string, raw: unknown): string {
  if (raw !== undefined) {
    if (typeof raw !== "string" || !NAMESPACE.test(raw)) throw new ConfigError(`${at}.namespace must be ${NAMESPACE_RULE}`);
    return raw;
  }
  if (id === SHARED_NAMESPACE) {
    throw new ConfigError(
      `${at}.namespace is required: namespace "${SHARED_NAMESPACE}" holds data every tenant wrote before tenants were isolated, so no tenant gets it by default`,
    );
  }
  if (!NAMESPACE.test(id)) {
    throw new ConfigError(`${at}.namespace is required: the tenant id would be the namespace but is not a valid one (${NAMESPACE_RULE})`);
  }
  return id;
}

function parseLimits(at: string, raw: unknown, defaults: Limits): Limits {
  const limits = { ...defaults };
  if (raw === undefined) return limits;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${at}.limits must be an object`);
  for (const [k, v] of Object.entries(raw)) {
    if (!LIMIT_NAMES.has(k)) throw new ConfigError(`${at}.limits.${k} is not a known limit`);
    const n = asPositiveInt(v);
    if (n === undefined) throw new ConfigError(`${at}.limits.${k} must be a positive integer`);
    limits[k as keyof Limits] = n;
  }
  checkRateLimits(limits, (field) => `${at}.limits.${field}`);
  return limits;
}

/**
 * Until tenants were isolated, a tenant without `streams` reached every stream and one without `namespace`
 * wrote to `default`. Such a tenant now gets its own namespace only: said once at startup, with the fields
 * that bring the old behaviour back, so an upgrade that cuts a team off its shared data is visible.
 */
function implicitDefaults(at: string, t: Tenant, hasStreams: boolean, hasNamespace: boolean): string | undefined {
  const own = namespaceStreams(t.namespace);
  if (!hasStreams && !hasNamespace) {
    return `${at} sets neither "streams" nor "namespace": it now reads and writes only ${own} and writes to namespace "${t.namespace}" when the URL names none (before: every ${ALL_STREAMS} stream, namespace "${SHARED_NAMESPACE}"); to keep the old behaviour set "streams": ["${ALL_STREAMS}"], "namespace": "${SHARED_NAMESPACE}"`;
  }
  if (!hasStreams) {
    return `${at} sets no "streams": it now reads and writes only ${own} (before: every ${ALL_STREAMS} stream); to keep the old behaviour set "streams": ["${ALL_STREAMS}"]`;
  }
  if (!hasNamespace) {
    return `${at} sets no "namespace": writes whose URL names none now go to namespace "${t.namespace}" (before: "${SHARED_NAMESPACE}"); to keep the old behaviour set "namespace": "${SHARED_NAMESPACE}"`;
  }
  return undefined;
}
