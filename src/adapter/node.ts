import { serve } from "@hono/node-server";
import { startup } from "./startup.js";

/** Node entry (`npm run start:node`): config from the environment, listening on HOST:PORT (default 127.0.0.1:8787). */
const s = startup(process.env);
if (!s.ok) {
  console.error(s.message);
  process.exit(1);
}
const server = serve({ fetch: s.fetch, port: s.port, hostname: s.hostname }, (info) => {
  console.log(`promgate listening on http://${s.hostname}:${info.port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
