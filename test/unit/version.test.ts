import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PROMGATE_VERSION } from "../../src/version.js";

describe("PROMGATE_VERSION", () => {
  it("is package.json's version, so buildinfo, /metrics and the status page name the release that runs", () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
    expect(PROMGATE_VERSION).toBe(pkg.version);
  });
});
