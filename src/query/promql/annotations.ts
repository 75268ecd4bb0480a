/**
 * PromQL annotations: the `warnings` and `infos` of Prometheus 3's response envelope. Each is a text plus
 * the position of the expression it is about; Prometheus deduplicates by the final text and appends the
 * position as `line:column` of the query (util/annotations in Prometheus: "PromQL info: … (1:6)").
 */
export type AnnotationKind = "warning" | "info";

export class Annotations {
  private readonly byText = new Map<string, AnnotationKind>();

  constructor(private readonly query = "") {}

  warn(text: string, pos: number | undefined): void {
    this.add("warning", `PromQL warning: ${text}`, pos);
  }

  info(text: string, pos: number | undefined): void {
    this.add("info", `PromQL info: ${text}`, pos);
  }

  private add(kind: AnnotationKind, text: string, pos: number | undefined): void {
    const full = pos === undefined || this.query === "" ? text : `${text} (${lineColumn(this.query, pos)})`;
    if (!this.byText.has(full)) this.byText.set(full, kind);
  }

  get warnings(): string[] {
    return [...this.byText].filter(([, k]) => k === "warning").map(([t]) => t);
  }

  get infos(): string[] {
    return [...this.byText].filter(([, k]) => k === "info").map(([t]) => t);
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

/** Go's `%g` for the numbers annotations quote (shortest repr, exponent form for large/small). */
export function goG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const exp = v === 0 ? 0 : Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = v.toExponential().split("e");
    const n = Number(e);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(v);
}
