import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The runtime shows only in the entry points (src/index.ts, src/adapter/*) and the Node-only operator
 * tooling (src/cli.ts, src/elastic/setup.ts): the app itself must run unchanged on workerd, Bun, Deno and Node.
 */
const SRC = resolve(import.meta.dirname, "../../src");
const ALLOWED = [/^adapter\//, /^index\.ts$/, /^cli\.ts$/, /^elastic\/setup\.ts$/, /^gen\//, /^types\//];
const RUNTIME_GLOBALS = /\bprocess\.|\bBun\.|\bDeno\.|\bBuffer\b|from "node:|\brequire\(|\b__dirname\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(p) ? [p] : [];
  });
}

describe("runtime neutrality", () => {
  it("no runtime global outside the entry points", () => {
    const offenders: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f);
      if (ALLOWED.some((a) => a.test(rel))) continue;
      readFileSync(f, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (RUNTIME_GLOBALS.test(line) && !line.trim().startsWith("//") && !line.trim().startsWith("*")) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
