/**
 * A tenant's `forward` rules in PROMGATE_TENANTS → checked ForwardRule values. A rule names a remote_write
 * target (URL, credentials, protocol), the label filters a series must pass (all of them), and the labels
 * added to what is sent. Problems name the field; values are never echoed (credentials live here).
 */

import { RegexError, compileLabelRegex } from "../query/regex/re2.js";
import { ConfigError } from "./errors.js";

export type ForwardProtocol = "1.0" | "2.0";

export interface ForwardRule {
  /** Unique within the tenant; the `rule` label of the forwarding metrics and the key queue messages carry. */
  name: string;
  url: string;
  protocol: ForwardProtocol;
  /** Request headers: the credentials' Authorization, then the rule's own `headers`. Never logged. */
  headers: Readonly<Record<string, string>>;
  /** Label name → RE2 pattern, matched against the whole value (a missing label is ""); all must match. */
  match: Readonly<Record<string, string>>;
  /** Set on every forwarded series, replacing its own value of the same name. */
  extraLabels: Readonly<Record<string, string>>;
}

const RULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Header names that are the request itself, not the target's business: promgate sets them. */
const RESERVED_HEADERS = new Set(["content-type", "content-encoding", "content-length", "host", "x-prometheus-remote-write-version"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RULE_FIELDS = new Set(["name", "url", "protocol", "basicAuth", "bearerToken", "headers", "match", "extraLabels"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseForwardRules(at: string, raw: unknown): ForwardRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${at}.forward must be a list of rules`);
  const rules = raw.map((r, i) => parseRule(`${at}.forward[${i}]`, r));
  const names = new Set<string>();
  for (const [i, r] of rules.entries()) {
    if (names.has(r.name)) throw new ConfigError(`${at}.forward[${i}].name repeats another rule's name`);
    names.add(r.name);
  }
  return rules;
}

function parseRule(at: string, raw: unknown): ForwardRule {
  if (!isObject(raw)) throw new ConfigError(`${at} must be an object`);
  for (const k of Object.keys(raw)) if (!RULE_FIELDS.has(k)) throw new ConfigError(`${at}.${k} is not a known field`);
  const name = raw.name;
  if (typeof name !== "string" || !RULE_NAME.test(name)) throw new ConfigError(`${at}.name must match ${RULE_NAME.source}`);
  const protocol = raw.protocol ?? "1.0";
  if (protocol !== "1.0" && protocol !== "2.0") throw new ConfigError(`${at}.protocol must be "1.0" or "2.0"`);
  return {
    name,
    url: parseUrl(`${at}.url`, raw.url),
    protocol,
    headers: parseHeaders(at, raw),
    match: parseMatch(`${at}.match`, raw.match),
    extraLabels: parseExtraLabels(`${at}.extraLabels`, raw.extraLabels),
  };
}

function parseUrl(at: string, raw: unknown): string {
  if (typeof raw !== "string") throw new ConfigError(`${at} must be a URL`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${at} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`${at} must be http or https`);
  if (url.username || url.password) throw new ConfigError(`${at} must not carry credentials; use basicAuth or bearerToken`);
  return url.toString();
}

function parseHeaders(at: string, raw: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw.basicAuth !== undefined && raw.bearerToken !== undefined) throw new ConfigError(`${at}: set basicAuth or bearerToken, not both`);
  if (raw.basicAuth !== undefined) {
    const b = raw.basicAuth;
    if (!isObject(b) || typeof b.username !== "string" || typeof b.password !== "string" || b.username === "" || b.username.includes(":")) {
      throw new ConfigError(`${at}.basicAuth must be {"username": text without ":", "password": text}`);
    }
    const bytes = new TextEncoder().encode(`${b.username}:${b.password}`);
    headers.authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  if (raw.bearerToken !== undefined) {
    if (typeof raw.bearerToken !== "string" || raw.bearerToken === "") throw new ConfigError(`${at}.bearerToken must be a non-empty string`);
    headers.authorization = `Bearer ${raw.bearerToken}`;
  }
  if (raw.headers !== undefined) {
    if (!isObject(raw.headers)) throw new ConfigError(`${at}.headers must be an object of header name → value`);
    for (const [k, v] of Object.entries(raw.headers)) {
      if (!HEADER_NAME.test(k)) throw new ConfigError(`${at}.headers: a header name is not valid`);
      if (RESERVED_HEADERS.has(k.toLowerCase())) throw new ConfigError(`${at}.headers.${k} is set by promgate`);
      if (k.toLowerCase() === "authorization" && headers.authorization !== undefined) {
        throw new ConfigError(`${at}.headers.${k} conflicts with basicAuth/bearerToken`);
      }
      if (typeof v !== "string" || /[\r\n\0]/.test(v)) throw new ConfigError(`${at}.headers.${k} must be a single-line string`);
      headers[k.toLowerCase()] = v;
    }
  }
  return headers;
}

function parseMatch(at: string, raw: unknown): Record<string, string> {
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    throw new ConfigError(`${at} must be an object of label name → RE2 regex with at least one entry (".+" on __name__ forwards everything)`);
  }
  const match: Record<string, string> = {};
  for (const [label, pattern] of Object.entries(raw)) {
    if (!LABEL_NAME.test(label)) throw new ConfigError(`${at}: "${label}" is not a label name`);
    if (typeof pattern !== "string") throw new ConfigError(`${at}.${label} must be a string (an RE2 regex)`);
    try {
      compileLabelRegex(pattern);
    } catch (e) {
      if (e instanceof RegexError) throw new ConfigError(`${at}.${label}: ${e.message}`);
      throw e;
    }
    match[label] = pattern;
  }
  return match;
}

function parseExtraLabels(at: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new ConfigError(`${at} must be an object of label name → value`);
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    // `__`-names are Prometheus' own (__name__ above all): rewriting them would rename series.
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new ConfigError(`${at}: "${name}" is not a label name promgate may set`);
    if (typeof value !== "string" || value === "") throw new ConfigError(`${at}.${name} must be a non-empty string`);
    labels[name] = value;
  }
  return labels;
}
