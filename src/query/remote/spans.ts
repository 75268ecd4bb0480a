/**
 * Bucket-layout arithmetic of Prometheus' histogram chunks (tsdb/chunkenc/histogram_meta.go and the
 * expand…SpansAndBuckets functions): which buckets a chunk's layout must gain to take the next histogram,
 * which empty buckets the histogram must gain to fit the chunk, and the spans that result. Span lists are
 * not canonical (a zero-length span, or [0,2] vs [0,1][0,1], describe the same buckets), and a chunk writes
 * its layout's spans as they are, so every function here builds spans exactly as Prometheus does.
 */
import type { BucketSpan } from "../../model/histogram.js";

/** `num` new buckets go before the `pos`'th bucket of the original list; the first has index `bucketIdx`. */
export interface Insert {
  pos: number;
  num: number;
  bucketIdx: number;
}

/** Walks the absolute bucket indices a span list describes. */
class BucketCursor {
  private span = 0;
  private bucket = -1;
  /** Index of the bucket last yielded. */
  idx = -1;

  constructor(private readonly spans: BucketSpan[]) {
    if (spans.length > 0) this.idx += spans[0]!.offset;
  }

  next(): boolean {
    const spans = this.spans;
    if (this.span >= spans.length) return false;
    if (this.bucket < spans[this.span]!.length - 1) {
      this.bucket++;
      this.idx++;
      return true;
    }
    while (this.span < spans.length - 1) {
      this.span++;
      this.idx += spans[this.span]!.offset + 1;
      this.bucket = 0;
      if (spans[this.span]!.length === 0) {
        this.idx--;
        continue;
      }
      return true;
    }
    return false;
  }
}

export const countBuckets = (spans: BucketSpan[]): number => spans.reduce((n, s) => n + s.length, 0);

/** Absolute bucket counts as integer histograms send them: each minus the one before (the first minus 0). */
export function bucketDeltas(abs: number[]): number[] {
  const out = new Array<number>(abs.length);
  let prev = 0;
  for (let i = 0; i < abs.length; i++) {
    out[i] = abs[i]! - prev;
    prev = abs[i]!;
  }
  return out;
}

/** Collects runs of consecutive bucket indices into inserts (Go's addInsert). */
class InsertRun {
  readonly inserts: Insert[] = [];
  private cur: Insert = { pos: 0, num: 0, bucketIdx: 0 };

  add(bucketIdx: number): void {
    const c = this.cur;
    if (c.num === 0) c.bucketIdx = bucketIdx;
    else if (c.bucketIdx + c.num !== bucketIdx) {
      this.inserts.push({ ...c });
      c.num = 0;
      c.bucketIdx = bucketIdx;
    }
    c.num++;
  }

  /** The original list moved on by one bucket: a pending run ends before it. */
  advance(): void {
    this.flush();
    this.cur.pos++;
  }

  flush(): void {
    if (this.cur.num > 0) {
      this.inserts.push({ ...this.cur });
      this.cur.num = 0;
    }
  }
}

/**
 * For a counter histogram `b` following the chunk's last histogram `a` (absolute counts): the forward
 * inserts that give the chunk b's new buckets, and the backward inserts that give b the chunk's buckets it
 * lacks — allowed only where a's count is 0. `undefined` when a bucket lost counts or disappeared while in
 * use: a counter reset.
 */
export function expandForCounter(
  a: BucketSpan[],
  b: BucketSpan[],
  aCounts: number[],
  bCounts: number[],
): { forward: Insert[]; backward: Insert[] } | undefined {
  const ai = new BucketCursor(a);
  const bi = new BucketCursor(b);
  const fwd = new InsertRun(); // into a, for buckets only b has
  const back = new InsertRun(); // into b, for empty buckets only a has
  let aOK = ai.next();
  let bOK = bi.next();
  let aN = 0;
  let bN = 0;
  // No closures here: this runs per sample and per bucket (and bundlers wrap closures in naming helpers).
  for (;;) {
    let advanceA = false;
    let advanceB = false;
    if (aOK && bOK && ai.idx === bi.idx) {
      if (aCounts[aN]! > bCounts[bN]!) return undefined;
      advanceA = advanceB = true;
    } else if (aOK && (!bOK || ai.idx < bi.idx)) {
      // b lacks a bucket of a: fine only while a's count there is 0 (b gets it back, empty).
      if (aCounts[aN] !== 0) return undefined;
      back.add(ai.idx);
      advanceA = true;
    } else if (bOK) {
      fwd.add(bi.idx);
      advanceB = true;
    } else break;
    if (advanceA) {
      fwd.advance();
      aOK = ai.next();
      aN++;
    }
    if (advanceB) {
      back.advance();
      bOK = bi.next();
      bN++;
    }
  }
  fwd.flush();
  back.flush();
  return { forward: fwd.inserts, backward: back.inserts };
}

/** Appends bucket `b` to a span list built in ascending order (Go's addBucket closures). */
class SpanBuilder {
  readonly spans: BucketSpan[] = [];
  private last = 0;

  add(b: number): void {
    let offset = b - this.last - 1;
    const spans = this.spans;
    if (offset === 0 && spans.length > 0) spans[spans.length - 1]!.length++;
    else {
      if (spans.length === 0) offset++;
      spans.push({ offset, length: 1 });
    }
    this.last = b;
  }
}

/** Ends a run of inserts, if one is open. */
function flush(run: Insert, into: Insert[]): void {
  if (run.num === 0) return;
  into.push({ ...run });
  run.num = 0;
}

/**
 * For gauge histograms (no counter resets): inserts both ways between any two layouts, and the merged
 * spans that cover both.
 */
export function expandBothWays(a: BucketSpan[], b: BucketSpan[]): { forward: Insert[]; backward: Insert[]; merged: BucketSpan[] } {
  const ai = new BucketCursor(a);
  const bi = new BucketCursor(b);
  const forward: Insert[] = [];
  const backward: Insert[] = [];
  const f: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  const bk: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  const merged = new SpanBuilder();
  let aOK = ai.next();
  let bOK = bi.next();
  for (;;) {
    if (aOK && bOK) {
      if (ai.idx === bi.idx) {
        flush(f, forward);
        flush(bk, backward);
        merged.add(ai.idx);
        aOK = ai.next();
        bOK = bi.next();
        f.pos++;
        bk.pos++;
      } else if (ai.idx < bi.idx) {
        bk.num++;
        flush(f, forward);
        merged.add(ai.idx);
        f.pos++;
        aOK = ai.next();
      } else {
        f.num++;
        flush(bk, backward);
        merged.add(bi.idx);
        bk.pos++;
        bOK = bi.next();
      }
    } else if (aOK) {
      bk.num++;
      merged.add(ai.idx);
      aOK = ai.next();
    } else if (bOK) {
      f.num++;
      merged.add(bi.idx);
      bOK = bi.next();
    } else {
      flush(f, forward);
      flush(bk, backward);
      break;
    }
  }
  return { forward, backward, merged: merged.spans };
}

/**
 * Go's insert(): `input` with empty buckets added per `inserts`, into a list of length `outLength` (the new
 * layout's bucket count; positions never written stay 0). With `deltas`, values are differences to the
 * previous bucket, so the bucket after an insert is rebased on the zero before it.
 */
export function insertBuckets(input: number[], inserts: Insert[], deltas: boolean, outLength: number): number[] {
  const out = new Array<number>(outLength).fill(0);
  let oi = 0;
  let v = 0;
  let ii = 0;
  for (let i = 0; i < input.length; i++) {
    const d = input[i]!;
    if (ii >= inserts.length || i !== inserts[ii]!.pos) {
      out[oi++] = d;
      v += d;
      continue;
    }
    let first = true;
    while (ii < inserts.length && i === inserts[ii]!.pos) {
      if (deltas && first) {
        out[oi] = -v;
        first = false;
      } else out[oi] = 0;
      oi++;
      for (let x = 1; x < inserts[ii]!.num; x++) out[oi++] = 0;
      ii++;
    }
    out[oi++] = deltas ? d + v : d;
    v += d;
  }
  for (; ii < inserts.length; ii++) {
    if (inserts[ii]!.pos < input.length) throw new Error("histogram chunk: leftover bucket inserts before the end");
    out[oi++] = deltas ? -v : 0;
    for (let x = 1; x < inserts[ii]!.num; x++) out[oi++] = 0;
    v = 0;
  }
  // Go's writes past the preallocated length would panic; here they cannot happen for consistent layouts.
  out.length = outLength;
  return out;
}

/** Go's adjustForInserts: `spans` widened by the buckets the inserts name. */
export function adjustForInserts(spans: BucketSpan[], inserts: Insert[]): BucketSpan[] {
  if (inserts.length === 0) return spans;
  const it = new BucketCursor(spans);
  const merged = new SpanBuilder();
  let i = 0;
  let insertIdx = inserts[0]!.bucketIdx;
  let insertNum = inserts[0]!.num;
  const consume = () => {
    insertNum--;
    if (insertNum === 0) {
      i++;
      if (i < inserts.length) {
        insertIdx = inserts[i]!.bucketIdx;
        insertNum = inserts[i]!.num;
      }
    } else insertIdx++;
  };
  let ok = it.next();
  while (ok) {
    if (i < inserts.length && insertIdx < it.idx) {
      merged.add(insertIdx);
      consume();
    } else {
      merged.add(it.idx);
      ok = it.next();
    }
  }
  while (i < inserts.length) {
    merged.add(insertIdx);
    consume();
  }
  return merged.spans;
}
