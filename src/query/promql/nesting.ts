/**
 * How deep brackets nest in a PromQL text, checked before the grammar runs. The lezer parser's error
 * recovery costs time and memory that grow much faster than the input on deeply nested text (a 1 MB query
 * of nested calls took seconds, a 5 MB one exhausted a 4 GB heap), and the printer indents each level, so
 * a bound here is what keeps one bad query from stalling or crashing the process. No real query comes near
 * it: Prometheus' own grammar gives up on calls nested a little over a thousand deep.
 */
export const MAX_NESTING = 1000;

/** The offset of the first bracket (`(`, `[`, `{`) opened past `max` levels, outside strings and comments. */
export function tooDeepAt(text: string, max = MAX_NESTING): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\\" && c !== "`") i++;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "(" || c === "[" || c === "{") {
      if (++depth > max) return i;
    } else if (c === ")" || c === "]" || c === "}") {
      depth--;
    }
  }
  return undefined;
}
