import { createGateway, defaultDeps } from "../app.js";
import type { Compactor } from "../chunks/compactor.js";
import { ConfigError, type Env, loadCompactInterval, loadConfig, loadListen } from "../config.js";

/**
 * What the Node, Bun and Deno entries share: the environment → the app and where to listen, or the one line
 * to print before exiting. A bad configuration must stop the process (no half-working gateway) with a message
 * an operator reads at a glance — no stack trace, and no value (src/config.ts never echoes one).
 */
export type Startup =
  | { ok: true; fetch: (request: Request) => Response | Promise<Response>; hostname: string; port: number }
  | { ok: false; message: string };

export function startup(env: Env): Startup {
  try {
    const config = loadConfig(env);
    const { hostname, port } = loadListen(env);
    const interval = loadCompactInterval(env);
    const deps = defaultDeps();
    const { app, compactor } = createGateway(config, deps);
    if (compactor && interval !== undefined) compactEvery(compactor, interval, deps.log);
    return { ok: true, fetch: (request) => app.fetch(request), hostname, port };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, message: `promgate: ${e.message}` };
    throw e;
  }
}

/**
 * The compactor in the server process (PROMGATE_CHUNKS_COMPACT_INTERVAL): a run every interval, each given
 * most of the interval, never two at once. Several servers may run it: their steps redo the same windows
 * with the same ids, which costs work but changes nothing.
 */
function compactEvery(compactor: Compactor, intervalMs: number, log: (line: string, level: "info" | "warn" | "error") => void): void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const steps = await compactor.run(Math.max(1000, intervalMs * 0.8));
      const windows = steps.filter((s) => s.kind === "window").length;
      if (windows > 0) log(JSON.stringify({ ts: new Date().toISOString(), level: "info", msg: "compacted", windows }), "info");
    } catch (e) {
      log(JSON.stringify({ ts: new Date().toISOString(), level: "error", msg: "compaction failed", error: e instanceof Error ? e.message : String(e) }), "error");
    } finally {
      running = false;
    }
  };
  const timer: unknown = setInterval(() => void tick(), intervalMs);
  // On Node the timer must not keep a stopping process alive; Bun and Deno have no unref on it or need none.
  (timer as { unref?: () => void }).unref?.();
  void tick();
}
