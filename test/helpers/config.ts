import { type Config, loadConfig } from "../../src/config.js";

/**
 * `dev` is an operator: admin, and (explicitly) every stream with writes to `default`, as tenants were before
 * they were isolated by default; `teama` and `small` keep to their own namespace. All say so explicitly, so
 * an app built from this config logs no startup warning.
 */
export const TEST_TENANTS = {
  dev: { password: "dev-password", admin: true, streams: ["metrics-*.prometheus-*"], namespace: "default" },
  teama: { password: "team-a-password", tokens: ["token-of-team-a"], streams: ["metrics-teama.prometheus-*"], namespace: "teama" },
  small: { password: "small-password", namespace: "small", streams: ["metrics-*.prometheus-small"], limits: { maxCompressedBytes: 1000, maxDecompressedBytes: 2000 } },
};

export function testConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({
    ES_URL: "http://127.0.0.1:9200",
    ES_USERNAME: "elastic",
    ES_PASSWORD: "es-secret",
    PROMGATE_TENANTS: JSON.stringify(TEST_TENANTS),
    ES_TIMEOUT_MS: "200",
    ...extra,
  });
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

export const PRW1_HEADERS = {
  "content-type": "application/x-protobuf",
  "content-encoding": "snappy",
  "x-prometheus-remote-write-version": "0.1.0",
};
