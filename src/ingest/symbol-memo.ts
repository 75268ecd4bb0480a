/**
 * What the document writer has learned about the symbols of one remote write 2.0 request, by ref.
 *
 * A 2.0 request names every label string once in its symbols table, and a scrape's series share most of
 * them (`job`, `instance`, the metric name of a family). Checking a name's characters and escaping a value
 * for JSON is per-byte work; remembering the outcome per ref turns it into a copy for every later use in
 * the request. Built per request: refs mean nothing outside their own table.
 */
export class SymbolMemo {
  /** Per ref, bit flags: LABEL_CHECKED/LABEL_OK (a label name), METRIC_CHECKED/METRIC_OK (a metric name). */
  readonly names: Uint8Array;
  /** Per ref: VALUE_UNKNOWN, VALUE_PLAIN (the symbol's bytes are already valid JSON string content), VALUE_ESCAPED or VALUE_INVALID. */
  readonly values: Uint8Array;
  /** Escaped values: [escapedAt[ref], escapedAt[ref] + escapedLen[ref]) of `escaped`. */
  readonly escapedAt: Int32Array;
  readonly escapedLen: Int32Array;
  escaped = new Uint8Array(256);
  escapedUsed = 0;
  /** The action line made for a metric name ref, and the metadata type it was made for (-1: none yet). */
  readonly actions: (Uint8Array | undefined)[] = [];
  readonly actionType: Int32Array;

  constructor(readonly count: number) {
    this.names = new Uint8Array(count);
    this.values = new Uint8Array(count);
    this.escapedAt = new Int32Array(count);
    this.escapedLen = new Int32Array(count);
    this.actionType = new Int32Array(count).fill(-1);
  }

  /** Room for `n` more escaped bytes. */
  reserve(n: number): Uint8Array {
    if (this.escapedUsed + n > this.escaped.length) {
      const next = new Uint8Array(Math.max(this.escapedUsed + n, 2 * this.escaped.length));
      next.set(this.escaped.subarray(0, this.escapedUsed));
      this.escaped = next;
    }
    return this.escaped;
  }
}

export const LABEL_CHECKED = 1;
export const LABEL_OK = 2;
export const METRIC_CHECKED = 4;
export const METRIC_OK = 8;

export const VALUE_UNKNOWN = 0;
export const VALUE_PLAIN = 1;
export const VALUE_ESCAPED = 2;
export const VALUE_INVALID = 3;
