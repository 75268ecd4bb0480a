import type { Config, Tenant } from "../config.js";
import { textFromBase64 } from "../util/base64.js";
import { PromgateError } from "../errors.js";

/**
 * Tenant credentials: HTTP Basic (username = tenant id) or a Bearer token. Secrets are compared in constant
 * time by comparing SHA-256 digests (equal length whatever the input), and every configured token is
 * compared on each Bearer request so the time taken says nothing about which one nearly matched.
 */

const CHALLENGE = 'Basic realm="promgate", charset="UTF-8", Bearer realm="promgate"';
const enc = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(s)));
}

function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function unauthorized(reason: string): PromgateError {
  return new PromgateError("unauthenticated", reason, { "www-authenticate": CHALLENGE });
}

/** Digests of the configured secrets, computed once per tenant list. */
interface SecretIndex {
  /** By tenant id: the tenant whose password it is, so an id shared by a credential without one never answers. */
  passwords: Map<string, { tenant: Tenant; digest: Uint8Array }>;
  tokens: { tenant: Tenant; digest: Uint8Array }[];
}
const indexes = new WeakMap<Tenant[], Promise<SecretIndex>>();

function secretIndex(tenants: Tenant[]): Promise<SecretIndex> {
  let idx = indexes.get(tenants);
  if (!idx) {
    idx = (async () => {
      const passwords: SecretIndex["passwords"] = new Map();
      const tokens: SecretIndex["tokens"] = [];
      for (const t of tenants) {
        if (t.password !== undefined) passwords.set(t.id, { tenant: t, digest: await digest(t.password) });
        for (const tok of t.tokens) tokens.push({ tenant: t, digest: await digest(tok) });
      }
      return { passwords, tokens };
    })();
    indexes.set(tenants, idx);
  }
  return idx;
}

const NO_MATCH = new Uint8Array(32).fill(0xff);

export async function authenticate(header: string | undefined, tenants: Tenant[]): Promise<Tenant> {
  if (!header) throw unauthorized("credentials required");
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? "" : header.slice(space + 1).trim();
  const idx = await secretIndex(tenants);
  if (scheme === "basic") {
    const decoded = textFromBase64(value);
    const colon = decoded?.indexOf(":") ?? -1;
    if (decoded === undefined || colon < 0) throw unauthorized("malformed Basic credentials");
    const id = decoded.slice(0, colon);
    const given = await digest(decoded.slice(colon + 1));
    const expected = idx.passwords.get(id);
    // Compare even for an unknown tenant so a miss costs the same time as a wrong password.
    const ok = equalDigests(given, expected?.digest ?? NO_MATCH) && expected !== undefined;
    if (!ok) throw unauthorized("invalid username or password");
    return expected.tenant;
  }
  if (scheme === "bearer") {
    if (value === "") throw unauthorized("empty Bearer token");
    const given = await digest(value);
    let found: Tenant | undefined;
    for (const t of idx.tokens) if (equalDigests(given, t.digest)) found = t.tenant;
    if (!found) throw unauthorized("invalid Bearer token");
    return found;
  }
  throw unauthorized("unsupported authorization scheme (use Basic or Bearer)");
}

/** The tenant of a request: from its credentials, or the anonymous one when authentication is off. */
export async function tenantOf(config: Config, header: string | undefined): Promise<Tenant> {
  if (config.auth === "none") return config.tenants[0]!;
  return authenticate(header, config.tenants);
}

const patternCache = new Map<string, RegExp>();

/** Glob (`*` = any run of characters) over data stream names. */
export function streamPattern(glob: string): RegExp {
  let re = patternCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    patternCache.set(glob, re);
  }
  return re;
}

export function mayUseStream(tenant: Tenant, dataStream: string): boolean {
  return tenant.streams.some((g) => streamPattern(g).test(dataStream));
}
