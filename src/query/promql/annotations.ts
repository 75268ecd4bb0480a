/**
 * PromQL annotations: the `warnings` and `infos` of Prometheus 3's response envelope. Each is a text plus
 * the position of the expression it is about; Prometheus deduplicates by the final text and appends the
 * position as `line:column` of the query (util/annotations in Prometheus: "PromQL info: … (1:6)").
 */
export type AnnotationKind = "warning" | "info";

/** An annotation Prometheus merges over the steps of a query, keeping one text that sums them up. */
export interface Mergeable<T> {
  value: T;
  merge(a: T, b: T): T;
  render(base: string, value: T): string;
}

interface Entry {
  kind: AnnotationKind;
  text: string;
  merged?: { value: unknown; spec: Mergeable<unknown> };
}

export class Annotations {
  private readonly byKey = new Map<string, Entry>();

  constructor(private readonly query = "") {}

  warn(text: string, pos: number | undefined): void {
    this.add("warning", `PromQL warning: ${text}`, pos);
  }

  info(text: string, pos: number | undefined): void {
    this.add("info", `PromQL info: ${text}`, pos);
  }

  /** An info that meets its own kind again (same text, same position) merges with it instead of repeating. */
  infoMerged<T>(text: string, pos: number | undefined, spec: Mergeable<T>): void {
    const key = this.withPosition(`PromQL info: ${text}`, pos);
    const found = this.byKey.get(key);
    if (found?.merged) found.merged.value = found.merged.spec.merge(found.merged.value, spec.value);
    else if (!found) this.byKey.set(key, { kind: "info", text: `PromQL info: ${text}`, merged: { value: spec.value, spec: spec as Mergeable<unknown> } });
  }

  private withPosition(text: string, pos: number | undefined): string {
    return pos === undefined || this.query === "" ? text : `${text} (${lineColumn(this.query, pos)})`;
  }

  private add(kind: AnnotationKind, text: string, pos: number | undefined): void {
    const full = this.withPosition(text, pos);
    if (!this.byKey.has(full)) this.byKey.set(full, { kind, text: full });
  }

  private texts(kind: AnnotationKind): string[] {
    return [...this.byKey].filter(([, e]) => e.kind === kind).map(([key, e]) => {
      if (!e.merged) return e.text;
      // The position stays last, as in Prometheus' texts.
      const position = key.slice(e.text.length);
      return e.merged.spec.render(e.text, e.merged.value) + position;
    });
  }

  get warnings(): string[] {
    return this.texts("warning");
  }

  get infos(): string[] {
    return this.texts("info");
  }
}

/** 1-based line and column of a character offset, as Prometheus' PositionRange.StartPosInput. */
export function lineColumn(query: string, pos: number): string {
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < pos && i < query.length; i++) {
    if (query[i] === "\n") {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${pos - lastBreak}`;
}

/**
 * Go's `%g` (and `%v`) for the numbers annotations and errors quote: the shortest repr, in exponent form
 * below 1e-4 and from 1e6 on (`1e+06`, `9.223372036854776e+18`).
 */
export function goG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  const exp = v === 0 ? 0 : Number(v.toExponential().split("e")[1]);
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential().split("e");
    const n = Number(e);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(v);
}

/** Go's `%.<precision>g`: `precision` significant digits, exponent form outside [1e-4, 10^precision). */
export function goGPrecision(v: number, precision: number): string {
  if (!Number.isFinite(v)) return goG(v);
  if (v === 0) return "0";
  const [mantissa, e] = v.toExponential(precision - 1).split("e");
  const exp = Number(e);
  const trim = (m: string): string => (m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m);
  if (exp < -4 || exp >= precision) return `${trim(mantissa!)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return trim(v.toFixed(Math.max(0, precision - 1 - exp)));
}
