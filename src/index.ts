import type { Hono } from "hono";
import { createApp, defaultDeps } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";

/**
 * Cloudflare Workers entry. Vars and secrets arrive as `env`; the config is parsed once per isolate and
 * reused while `env` stays the same object. An invalid config answers every request with a 500 naming the
 * field (never its value), and logs it once.
 */
export interface Env {
  ES_URL?: string;
  ES_API_KEY?: string;
  ES_USERNAME?: string;
  ES_PASSWORD?: string;
  PROMGATE_TENANTS?: string;
  [name: string]: unknown;
}

let cached: { env: Env; app: Hono } | { env: Env; error: string } | undefined;

function appFor(env: Env): Hono | string {
  if (cached?.env !== env) {
    try {
      cached = { env, app: createApp(loadConfig(env), defaultDeps()) };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(`promgate: ${e.message}`);
      cached = { env, error: e.message };
    }
  }
  return "app" in cached ? cached.app : cached.error;
}

export default {
  fetch(request, env, ctx) {
    const app = appFor(env);
    if (typeof app === "string") return new Response(`promgate is misconfigured: ${app}\n`, { status: 500 });
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
