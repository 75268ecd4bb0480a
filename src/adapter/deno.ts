import { createApp } from "../app.js";
import { loadConfig } from "../config.js";

/**
 * Deno entry: `deno run --allow-net --allow-env --allow-read --sloppy-imports src/adapter/deno.ts`
 * (`npm run start:deno`); `PORT` (default 8787) on `HOST` (default 127.0.0.1).
 */
declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): unknown;
};

const env = Deno.env.toObject();
const config = loadConfig(env);
Deno.serve(
  {
    port: Number(env.PORT ?? 8787),
    hostname: env.HOST ?? "127.0.0.1",
    onListen: ({ hostname, port }) => console.log(`promgate listening on http://${hostname}:${port}`),
  },
  createApp(config).fetch,
);
