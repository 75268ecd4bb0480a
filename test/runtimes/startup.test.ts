import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT, serverCommand } from "../helpers/launch.js";

/**
 * A bad configuration stops each server runtime at start: exit status 1 and one line naming the problem,
 * no stack trace, no value. Spawned exactly as the README's deployment commands run them.
 */

const RUNTIMES = (["node", "bun", "deno"] as const).map((r) => [r, serverCommand(r)] as const);

const SECRET = "s3cret-that-must-not-show";

/** The process environment without any promgate setting of the caller's (CI exports ES_URL & co.). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  for (const [k, v] of Object.entries(process.env)) if (!/^(ES_|PROMGATE_)/.test(k)) env[k] = v;
  return { ...env, PORT: "1", ...extra };
}

describe.each(RUNTIMES)("%s refuses to start on a bad configuration", (_runtime, command) => {
  it.each([
    ["misspelt settings", { PROMGATE_TENANTS: '{"dev":{"password":"pw"}}', PROMGATE_MAX_SERIE: "5", ES_PASWORD: SECRET }, "PROMGATE_MAX_SERIE is not a known setting (did you mean PROMGATE_MAX_SERIES?)"],
    ["no tenants and no PROMGATE_AUTH=none", { ES_URL: "http://127.0.0.1:9200" }, "PROMGATE_TENANTS is required"],
    ["malformed PROMGATE_TENANTS", { PROMGATE_TENANTS: `{"dev":{"password":"${SECRET}"}`, ES_PASSWORD: SECRET, ES_USERNAME: "elastic" }, "PROMGATE_TENANTS is not valid JSON"],
    ["a tenant id that cannot be its namespace", { PROMGATE_TENANTS: `{"Team-A":{"password":"${SECRET}"}}` }, "PROMGATE_TENANTS.Team-A.namespace is required"],
    ["a port that is no number", { PROMGATE_AUTH: "none", PORT: "http" }, "PORT must be a positive integer"],
  ] as const)("%s", (_what, env, expected) => {
    const r = spawnSync(command.cmd, command.args, { cwd: ROOT, env: { ...cleanEnv(env), ...command.env }, encoding: "utf8", timeout: 60_000 });
    const lines = `${r.stdout}${r.stderr}`
      .split("\n")
      .filter((l) => l.trim() !== "" && !/^Task start /.test(l)); // `deno task` announces the command it runs
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^promgate: invalid configuration: /);
    expect(lines[0]).toContain(expected);
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET);
  });
});
