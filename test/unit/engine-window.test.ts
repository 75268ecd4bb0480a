import { describe, expect, it } from "vitest";
import type { SeriesData } from "../../src/query/promql/engine.js";
import { SeriesWindows } from "../../src/query/promql/window.js";

/**
 * The incremental windows against the definition (every sample in (start, end], stale markers left out;
 * for instant selection the latest sample in the lookback unless it is a stale marker), over random series
 * with gaps and stale markers, with time moving forward, standing still and jumping back.
 */

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

function randomSeries(rand: () => number, n: number): SeriesData[] {
  return Array.from({ length: n }, (_, k) => {
    const s: SeriesData = { labels: { __name__: "x", k: String(k) }, ts: [], vs: [], stale: new Set() };
    let t = Math.floor(rand() * 20_000);
    for (let i = 0; i < 200; i++) {
      t += 1 + Math.floor(rand() * 30_000); // irregular spacing, some gaps longer than the windows
      if (rand() < 0.05) s.stale.add(s.ts.length);
      s.ts.push(t);
      s.vs.push(rand() < 0.02 ? Number.NaN : Math.floor(rand() * 1000));
    }
    return s;
  });
}

function naiveRange(data: SeriesData[], start: number, end: number) {
  return data
    .map((s) => {
      const idx = s.ts.map((_, i) => i).filter((i) => s.ts[i]! > start && s.ts[i]! <= end && !s.stale.has(i));
      return { labels: s.labels, ts: idx.map((i) => s.ts[i]!), vs: idx.map((i) => s.vs[i]!) };
    })
    .filter((s) => s.ts.length > 0);
}

function naiveInstant(data: SeriesData[], ref: number, lookback: number) {
  const out = [];
  for (const s of data) {
    let i = -1;
    for (let j = 0; j < s.ts.length; j++) if (s.ts[j]! <= ref) i = j;
    if (i < 0 || s.ts[i]! <= ref - lookback || s.stale.has(i)) continue;
    out.push({ labels: s.labels, value: s.vs[i]!, t: s.ts[i]! });
  }
  return out;
}

/** Evaluation times: a forward grid with repeats, then jumps back (as subqueries and `@` cause). */
function times(rand: () => number): number[] {
  const out: number[] = [];
  for (let t = 0; t < 3_000_000; t += 15_000) {
    out.push(t);
    if (rand() < 0.05) out.push(t);
    if (rand() < 0.03) out.push(Math.floor(rand() * t));
  }
  return out;
}

describe("SeriesWindows", () => {
  it.each([1, 2, 3])("range windows equal the definition (seed %i)", (seed) => {
    const rand = rng(seed);
    const data = randomSeries(rand, 20);
    const w = new SeriesWindows(data);
    for (const t of times(rand)) expect(w.range(t - 300_000, t)).toEqual(naiveRange(data, t - 300_000, t));
  });

  it.each([1, 2, 3])("instant selection equals the definition (seed %i)", (seed) => {
    const rand = rng(seed);
    const data = randomSeries(rand, 20);
    const w = new SeriesWindows(data);
    for (const t of times(rand)) expect(w.instant(t, 300_000)).toEqual(naiveInstant(data, t, 300_000));
  });

  it("hands out windows the caller may keep: later steps do not change them", () => {
    const data = randomSeries(rng(7), 3);
    const w = new SeriesWindows(data);
    const first = w.range(0, 600_000);
    const copy = structuredClone(first);
    w.range(300_000, 900_000);
    expect(first).toEqual(copy);
  });
});
