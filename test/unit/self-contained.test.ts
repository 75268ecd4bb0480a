import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * A plain clone must build, test and run: no file of the project may reach outside the repository
 * (a sibling checkout's fixtures, a parent directory's docs). Relative paths that climb above the root
 * and references to a `shared/` folder beside the repo are refused.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const DIRS = ["src", "test", "scripts", "bench", "bin", ".ci"];
const SKIP = /node_modules|\.cache|fixtures\/.*\.snappy$/;

function files(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((f) => {
    const p = join(dir, f);
    if (SKIP.test(p)) return [];
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("self-contained repository", () => {
  it("no file reads outside the repository", () => {
    const offenders: string[] = [];
    for (const f of DIRS.flatMap((d) => files(join(ROOT, d)))) {
      const rel = relative(ROOT, f);
      const text = readFileSync(f, "utf8");
      text.split("\n").forEach((line, i) => {
        if (/\.\.\/shared\b|\bshared\/fixtures\b/.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        // A literal relative path climbing above the root from the file's own folder.
        for (const m of line.matchAll(/["'`]((?:\.\.\/)+)[^"'`]*["'`]/g)) {
          const depth = (m[1] ?? "").length / 3;
          if (depth > rel.split("/").length - 1) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(offenders).toEqual([]);
  });

  it("the captured remote_write bodies are part of the repository", () => {
    expect(readdirSync(join(ROOT, "test/fixtures")).filter((f) => f.endsWith(".snappy")).length).toBeGreaterThan(0);
  });
});
