import { createApp } from "../app.js";
import { loadConfig } from "../config.js";

/** Bun entry: `bun run src/adapter/bun.ts`; `PORT` (default 8787) on `HOST` (default 127.0.0.1). */
declare const Bun: {
  env: Record<string, string | undefined>;
  serve(options: { port: number; hostname: string; fetch: (req: Request) => Response | Promise<Response> }): { port: number };
};

const config = loadConfig(Bun.env);
const hostname = Bun.env.HOST ?? "127.0.0.1";
const server = Bun.serve({ port: Number(Bun.env.PORT ?? 8787), hostname, fetch: createApp(config).fetch });
console.log(`promgate listening on http://${hostname}:${server.port}`);
