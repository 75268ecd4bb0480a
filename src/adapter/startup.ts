import { createApp, defaultDeps } from "../app.js";
import { ConfigError, type Env, loadConfig, loadListen } from "../config.js";

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
    const app = createApp(config, defaultDeps());
    return { ok: true, fetch: (request) => app.fetch(request), hostname, port };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, message: `promgate: ${e.message}` };
    throw e;
  }
}
