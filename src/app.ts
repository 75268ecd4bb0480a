import { Hono } from "hono";
import type { Config } from "./config.js";
import { esFetch, type Fetch } from "./elastic/http.js";
import { HttpError } from "./http/errors.js";
import { ingestRoutes } from "./ingest/routes.js";
import { queryRoutes } from "./query/api.js";
import { statusRoutes } from "./status/routes.js";

export interface AppDeps {
  fetch: Fetch;
  now: () => number;
  /** Where server-side failures are reported; never given credentials or bodies. */
  log: (line: string) => void;
}

export const defaultDeps = (): AppDeps => ({
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  log: (line) => console.error(line),
});

/** The runtime-neutral app: every entry point (workerd, Bun, Deno, Node) serves exactly this. */
export function createApp(config: Config, deps: AppDeps = defaultDeps()): Hono {
  const app = new Hono();

  app.get("/-/healthy", (c) => c.text("promgate is healthy\n"));
  app.get("/-/ready", async (c) => {
    const res = await esFetch(config, deps.fetch, { method: "GET", path: "/_cluster/health" });
    await res.body?.cancel();
    if (!res.ok) throw new HttpError(503, `elasticsearch answered ${res.status}`);
    return c.text("promgate is ready\n");
  });
  app.route("/", ingestRoutes(config, deps));
  app.route("/", queryRoutes(config, deps.fetch));
  app.route("/", statusRoutes(config, deps));

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      if (err.status >= 500) deps.log(`${c.req.method} ${new URL(c.req.url).pathname} → ${err.status}: ${err.message}`);
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.text(`${err.message}\n`, err.status);
    }
    deps.log(`${c.req.method} ${new URL(c.req.url).pathname} → 500: ${err instanceof Error ? err.stack : String(err)}`);
    return c.text("internal error\n", 500);
  });
  return app;
}
