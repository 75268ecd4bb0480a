import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Running, start } from "./processes.js";

/**
 * promgate started as a user would start it, on each runtime: the one place tests and benchmarks say how
 * (`npm run start:node`'s entry, `bun run`, `deno task start`, `wrangler dev`). Every runtime gets the same
 * settings: the environment given, and for workerd the `ES_*`/`PROMGATE_*` ones written to an env file,
 * which is how wrangler dev takes vars and secrets.
 */

export type Runtime = "node" | "bun" | "deno" | "workerd";
export const RUNTIMES: readonly Runtime[] = ["node", "bun", "deno", "workerd"];

export const ROOT = resolve(import.meta.dirname, "../..");
export const npmBin = (name: string) => join(ROOT, "node_modules/.bin", name);

/** The command each server runtime's deployment story runs (README: "Running on Node, Bun or Deno"). */
export function serverCommand(runtime: Exclude<Runtime, "workerd">): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  switch (runtime) {
    case "node":
      return { cmd: process.execPath, args: ["--import", "tsx", "src/adapter/node.ts"], env: {} };
    case "bun":
      return { cmd: npmBin("bun"), args: ["run", "src/adapter/bun.ts"], env: {} };
    case "deno":
      return { cmd: npmBin("deno"), args: ["task", "start"], env: { DENO_NO_UPDATE_CHECK: "1" } };
  }
}

export function launchPromgate(runtime: Runtime, port: number, env: NodeJS.ProcessEnv, extraWranglerArgs: string[] = []): Running {
  if (runtime !== "workerd") {
    const c = serverCommand(runtime);
    return start(c.cmd, c.args, { cwd: ROOT, env: { ...env, ...c.env, PORT: String(port) } });
  }
  const dir = mkdtempSync(join(tmpdir(), "promgate-workerd-"));
  const vars = Object.entries(env).flatMap(([k, v]) => (/^(ES|PROMGATE)_/.test(k) && v ? [`${k}=${v}`] : []));
  writeFileSync(join(dir, "vars.env"), `${vars.join("\n")}\n`, { mode: 0o600 });
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--env-file", join(dir, "vars.env")];
  args.push("--show-interactive-dev-session=false", "--persist-to", join(dir, "state"), ...extraWranglerArgs);
  return start(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: ROOT,
    env: { ...env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
}

/**
 * wrangler.toml with its commented-out Cloudflare Queue tables for forwarding switched on, as a user who
 * forwards would deploy it: `--config` for launchPromgate("workerd", …). Written next to wrangler.toml so its
 * relative paths (main, assets) stay valid.
 */
export function wranglerConfigWithForwardQueue(): string {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const on = toml.replace(/^# (\[\[queues\.(?:producers|consumers)\]\])$([\s\S]*?)^(?!#)/m, (block: string) =>
    block
      .split("\n")
      .map((line) => (line === "#" ? "" : line.replace(/^# (?=\[\[queues|[a-z_]+ = )/, "")))
      .join("\n"),
  );
  if (!/^\[\[queues\.producers\]\]$/m.test(on) || !/^\[\[queues\.consumers\]\]$/m.test(on)) throw new Error("wrangler.toml has no commented-out queue tables to switch on");
  const path = join(ROOT, ".wrangler-forward.toml");
  writeFileSync(path, on);
  return path;
}
