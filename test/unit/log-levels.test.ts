import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp, defaultDeps, type LogLevel } from "../../src/app.js";
import { testConfig } from "../helpers/config.js";

/**
 * Log lines go out through the console method of their level: Workers Logs, `wrangler tail` and
 * `wrangler dev` classify lines by it (an info line written with console.error shows up as an error).
 */
describe("log levels", () => {
  afterEach(() => vi.restoreAllMocks());

  it("the default logger uses console.log, console.warn and console.error by level", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const deps = defaultDeps();
    deps.log("a", "info");
    deps.log("b", "warn");
    deps.log("c", "error");
    expect([log.mock.calls, warn.mock.calls, error.mock.calls]).toEqual([[["a"]], [["b"]], [["c"]]]);
  });

  it("request lines carry the level of their status: 2xx info, 4xx warn", async () => {
    const lines: [string, LogLevel][] = [];
    const app = createApp(testConfig(), { ...defaultDeps(), log: (line, level) => void lines.push([line, level]) });
    await app.request("/-/healthy");
    await app.request("/api/v1/query?query=up");
    const levels = lines.map(([line, level]) => [(JSON.parse(line) as { status?: number }).status, level]).filter(([s]) => s !== undefined);
    expect(levels).toEqual([
      [200, "info"],
      [401, "warn"],
    ]);
  });
});
