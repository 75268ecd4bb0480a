import { startup } from "./startup.js";

/**
 * Deno entry (`deno task start`, see deno.json): config from the environment, listening on HOST:PORT
 * (default 127.0.0.1:8787).
 */
declare const Deno: {
  env: { toObject(): Record<string, string> };
  exit(code: number): never;
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): unknown;
};

const s = startup(Deno.env.toObject());
if (!s.ok) {
  console.error(s.message);
  Deno.exit(1);
}
Deno.serve(
  { port: s.port, hostname: s.hostname, onListen: ({ hostname, port }) => console.log(`promgate listening on http://${hostname}:${port}`) },
  s.fetch,
);
