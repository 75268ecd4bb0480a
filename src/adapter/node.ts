import { serve } from "@hono/node-server";
import { createApp } from "../app.js";
import { loadConfig } from "../config.js";

/** Node entry: `PORT` (default 8787) on `HOST` (default 127.0.0.1), config from the environment. */
const config = loadConfig(process.env);
const port = Number(process.env.PORT ?? 8787);
const hostname = process.env.HOST ?? "127.0.0.1";
const server = serve({ fetch: createApp(config).fetch, port, hostname }, (info) => {
  console.log(`promgate listening on http://${hostname}:${info.port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
