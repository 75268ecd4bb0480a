import type { InstantSample } from "./values.js";

/**
 * topk / bottomk as Prometheus 3 picks them (promql/engine.go aggregationK): a heap of k samples fed in
 * input order, the smallest (topk) or largest (bottomk) on top, replaced only by a strictly better sample.
 * Among equal values, which series survive depends on the heap's shape, not on a sort: a cardinality panel
 * (`topk(10, count by (__name__) ({__name__=~".+"}))`) is full of ties. The heap is Go's container/heap,
 * step for step, so with input in label order (what Prometheus reads from its blocks) the answers are equal.
 */

/** `Less` of Prometheus' vectorByValueHeap (topk) and vectorByReverseValueHeap (bottomk): NaN goes on top. */
type Less = (a: number, b: number) => boolean;
const lessTop: Less = (a, b) => Number.isNaN(a) || a < b;
const lessBottom: Less = (a, b) => Number.isNaN(a) || a > b;

function up(h: InstantSample[], j: number, less: Less): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2); // Go's integer division: the parent of 0 is 0
    if (i === j || !less(h[j]!.value, h[i]!.value)) return;
    [h[i], h[j]] = [h[j]!, h[i]!];
    j = i;
  }
}

function down(h: InstantSample[], i0: number, less: Less): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= h.length) break;
    const j = j1 + 1 < h.length && less(h[j1 + 1]!.value, h[j1]!.value) ? j1 + 1 : j1;
    if (!less(h[j]!.value, h[i]!.value)) break;
    [h[i], h[j]] = [h[j]!, h[i]!];
    i = j;
  }
  return i > i0;
}

/** The k best samples of one group (k ≥ 1), in Prometheus' output order, best first. */
export function topK(members: InstantSample[], k: number, top: boolean): InstantSample[] {
  const less = top ? lessTop : lessBottom;
  const heap: InstantSample[] = [];
  for (const s of members) {
    if (heap.length < k) {
      heap.push(s);
      up(heap, heap.length - 1, less);
      continue;
    }
    const root = heap[0]!.value;
    if ((top ? root < s.value : root > s.value) || (Number.isNaN(root) && !Number.isNaN(s.value))) {
      heap[0] = s;
      if (k > 1 && !down(heap, 0, less)) up(heap, 0, less);
    }
  }
  // sort.Sort(sort.Reverse(heap)): Go sorts up to 12 elements by insertion sort, so ties keep the heap's
  // order (reproduced here); above that its pdqsort is unstable and equal values may come out in another order.
  const before = (a: InstantSample, b: InstantSample) => less(b.value, a.value);
  if (heap.length > 12) return heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  for (let i = 1; i < heap.length; i++) {
    for (let j = i; j > 0 && before(heap[j]!, heap[j - 1]!); j--) [heap[j], heap[j - 1]] = [heap[j - 1]!, heap[j]!];
  }
  return heap;
}
