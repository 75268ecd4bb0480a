import type { Hono } from "hono";
import { type AppDeps, createApp, defaultDeps } from "../src/app.js";
import { type Config, loadConfig } from "../src/config.js";

/**
 * The app as the in-process benchmarks run it: ES settings from the environment, one tenant `bench`, and no
 * request log lines (one JSON line per request would flood the bench output and time the console too).
 */
export const BENCH_AUTH = { authorization: `Basic ${btoa("bench:bench-password")}` };

export function benchConfig(): Config {
  return loadConfig({ ...process.env, PROMGATE_TENANTS: JSON.stringify({ bench: { password: "bench-password", streams: ["metrics-*.prometheus-*"], namespace: "default" } }) });
}

export function benchApp(deps: Partial<AppDeps> = {}, config: Config = benchConfig()): Hono {
  return createApp(config, { ...defaultDeps(), log: () => {}, ...deps });
}
