import { startup } from "./startup.js";

/** Bun entry (`bun run src/adapter/bun.ts`): config from the environment, listening on HOST:PORT (default 127.0.0.1:8787). */
declare const Bun: {
  env: Record<string, string | undefined>;
  serve(options: { port: number; hostname: string; fetch: (req: Request) => Response | Promise<Response> }): { port: number };
};
declare const process: { exit(code: number): never };

const s = startup(Bun.env);
if (!s.ok) {
  console.error(s.message);
  process.exit(1);
}
const server = Bun.serve({ port: s.port, hostname: s.hostname, fetch: s.fetch });
console.log(`promgate listening on http://${s.hostname}:${server.port}`);
