import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, esEnv, gateEnv, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";
import { launchPromgate, ROOT } from "../helpers/launch.js";
import { freePort, type Running, waitFor } from "../helpers/processes.js";

/**
 * The status page in a real browser: Debian's Chromium driven by playwright-core (which never downloads a
 * browser here), against promgate on Node and on workerd (its browser files come from the bundle there) and
 * the real Elasticsearch. A few minutes of samples go in through remote_write; the page must list the stream
 * with its document count, and a PromQL query typed into the box must draw a chart with points. The browser
 * may talk to 127.0.0.1 only. Screenshots are kept in .cache/test-artifacts/status-page[-workerd].png.
 */

const ARTIFACTS = join(ROOT, ".cache/test-artifacts");
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
// Without these, Chromium's background services try outside hosts, which this closed network refuses slowly.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Belt and braces: no name resolves, so nothing but 127.0.0.1 is reachable from the browser at all.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

const PASSWORD = `browser-${uniquePart("pw")}`;
const NARROW_PASSWORD = `narrow-${uniquePart("pw")}`;
const TENANTS = JSON.stringify({
  // An operator: admin (the cluster facts) with every stream; narrow is an ordinary tenant of one dataset.
  dev: { password: PASSWORD, admin: true, streams: ["metrics-*.prometheus-*"], namespace: "default" },
  narrow: { password: NARROW_PASSWORD, streams: ["metrics-browserb.prometheus-*"], namespace: "narrow" },
});
const STEP_MS = 10_000;
const MINUTES = 5;

const SCREENSHOTS: Record<"node" | "workerd", string> = { node: "status-page.png", workerd: "status-page-workerd.png" };

describe.each(["node", "workerd"] as const)("status page in Chromium, promgate on %s", (runtime) => {
  const screenshot = SCREENSHOTS[runtime];
  const ns = uniquePart(runtime);
  const STREAM = `metrics-browser.prometheus-${ns}`;
  const OTHER_STREAM = `metrics-browserb.prometheus-${ns}`;
  // This run's series only: other runs of this test write the same names to their own streams.
  const QUERY = `rate(browser_requests_total{run="${ns}"}[1m])`;
  let server: Running | undefined;
  let base = "";
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let docs = 0;
  const offLoopback: string[] = [];
  const browserErrors: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    server = launchPromgate(runtime, port, { ...process.env, ...gateEnv(), PROMGATE_TENANTS: TENANTS });
    base = `http://127.0.0.1:${port}`;
    await waitFor(`promgate on ${runtime}`, async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${server?.output()}`);
    });

    // Two series, one sample every 10 s for the last 5 minutes, plus one sample in a second stream.
    const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const times = Array.from({ length: (MINUTES * 60_000) / STEP_MS }, (_, i) => end - (MINUTES * 60_000) + (i + 1) * STEP_MS);
    const series = ["a", "b"].map((instance, k) => ({
      labels: { __name__: "browser_requests_total", job: "status-page", run: ns, instance },
      samples: times.map((t, i): [number, number] => [t, (k + 1) * 10 * i]),
    }));
    const write = (path: string, body: Uint8Array<ArrayBuffer>) =>
      fetch(`${base}${path}`, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: basic("dev", PASSWORD) } });
    expect((await write(`/metrics/browser/${ns}/api/v1/write`, writeBody(series))).status).toBe(204);
    const other = writeBody([{ labels: { __name__: "up", job: "other" }, samples: [[end, 1]] }]);
    expect((await write(`/metrics/browserb/${ns}/api/v1/write`, other)).status).toBe(204);
    docs = await countDocs(STREAM); // also refreshes, so the page sees every document
    expect(docs).toBe(2 * times.length);
    await countDocs(OTHER_STREAM);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    context = await browser.newContext({
      httpCredentials: { username: "dev", password: PASSWORD },
      viewport: { width: 1100, height: 800 },
    });
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      offLoopback.push(url.href);
      return route.abort("blockedbyclient");
    });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") browserErrors.push(m.text());
    });
    page.on("pageerror", (e) => browserErrors.push(e.message));
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it("lists the tenant's stream with its document count", async () => {
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    const row = page.locator(`tr[data-stream="${STREAM}"]`);
    await expect.poll(() => row.locator("td.docs").textContent()).toBe(docs.toLocaleString("en-US"));
    expect(await page.locator("#es-version").textContent()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await page.locator("#templates").textContent()).toMatch(/promgate-metrics installed.*promgate-metadata installed/);
  });

  it("draws a PromQL query as a chart with points and a legend", async () => {
    await page.fill("#query-input", QUERY);
    await page.selectOption("#query-range", "900");
    await page.click("button[type=submit]");
    await page.waitForFunction(() => (window.promgateChart?.points ?? 0) > 0, undefined, { timeout: 30_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}; the page says: ${await page.locator("#query-message").textContent()}`);
    });
    const chart = await page.evaluate(() => {
      const info = window.promgateChart!;
      const canvas = document.querySelector<HTMLCanvasElement>("#chart canvas")!;
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
      return { series: info.series, points: info.points, xs: info.plot?.data[0].length ?? 0, painted };
    });
    expect(chart.series).toBe(2);
    expect(chart.xs).toBeGreaterThan(10);
    expect(chart.points).toBeGreaterThan(20);
    expect(chart.painted).toBeGreaterThan(500); // lines were drawn, not just an empty canvas
    const legend = await page.locator(".u-legend").textContent();
    expect(legend).toContain('instance="a"');
    expect(legend).toContain('instance="b"');
    // The chart may come from the run the page's own URL started while the submitted run is still on its way:
    // wait for the message of the last run.
    await page.waitForFunction(() => /series, \d+ points$/.test(document.querySelector("#query-message")?.textContent ?? ""), undefined, { timeout: 30_000 });
    expect(await page.locator("#query-message").textContent()).toMatch(/^2 series, \d+ points$/);
    expect(new URL(page.url()).searchParams.get("query")).toBe(QUERY);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
    // No script error, no CSP violation, no failed load so far (the next test fails a request on purpose).
    expect(browserErrors).toEqual([]);
  });

  it("shows promgate's warnings beside the chart", async () => {
    await page.fill("#query-input", `quantile(2, browser_requests_total{run="${ns}"})`);
    await page.click("button[type=submit]");
    await expect.poll(() => page.locator("#query-message").textContent()).toMatch(/^1 series, 0 points — PromQL warning: quantile value should be between 0 and 1, got 2/);
  });

  it("shows promgate's error for a bad query, as text", async () => {
    await page.fill("#query-input", "rate(<b>x</b>");
    await page.click("button[type=submit]");
    const msg = page.locator("#query-message.error");
    await expect.poll(() => msg.textContent()).toMatch(/parse error/i);
    expect(await page.locator("#query-message b").count()).toBe(0);
    expect(await page.evaluate(() => window.promgateChart?.points)).toBe(0);
  });

  it("a tenant that is not an admin sees only its own streams, and nothing of the cluster", async () => {
    const res = await fetch(`${base}/`, { headers: { authorization: basic("narrow", NARROW_PASSWORD) } });
    const html = await res.text();
    expect(html).toContain(`data-stream="${OTHER_STREAM}"`);
    expect(html).not.toContain(STREAM + '"');
    expect(html).not.toContain("metrics-browser.prometheus-");
    const clusterName = (await page.locator("#es-health code").textContent()) ?? "";
    expect(clusterName).not.toBe("");
    for (const part of ['id="elasticsearch"', 'id="es-version"', 'id="templates"', "promgate-metadata", clusterName]) expect(html).not.toContain(part);
  });

  it("the browser touched no other host, and no secret reached the page or the logs", async () => {
    expect(offLoopback).toEqual([]);
    const es = esEnv();
    // The dev cluster is named like its password; the cluster name is not the secret, so leave it out.
    const clusterName = (await page.locator("#es-health code").textContent()) ?? "";
    const html = (await page.content()).replaceAll(`<code>${clusterName}</code>`, "");
    const secrets = [PASSWORD, NARROW_PASSWORD, es.password, btoa(`${es.username}:${es.password}`), gateEnv().ES_PASSWORD, btoa(`${gateEnv().ES_USERNAME}:${gateEnv().ES_PASSWORD}`), btoa(`dev:${PASSWORD}`)];
    for (const secret of secrets) {
      expect(html).not.toContain(secret);
      expect(server!.output()).not.toContain(secret);
    }
  });
});
