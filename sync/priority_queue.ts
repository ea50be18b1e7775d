/**
 * A priority queue for tasks: smallest item first.
 *
 * @module
 */

import { Queue } from "./queue.ts";
import { type QueueStore, storeHooks } from "./_queue_store.ts";

/** Options for {@linkcode PriorityQueue}. */
export interface PriorityQueueOptions<T> {
  /**
   * Orders two items: negative if `a` comes out first, positive if `b` does.
   * The default orders numbers, bigints and strings naturally, and arrays
   * (`[priority, item]` tuples, as in curio) element by element.
   */
  compare?: (a: T, b: T) => number;
}

/** The default order: natural for primitives, element-wise for arrays (like Python tuples). */
function naturalOrder(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = naturalOrder(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  // deno-lint-ignore no-explicit-any
  const x = a as any, y = b as any;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A binary min-heap; ties come out in insertion order. */
class HeapStore<T> implements QueueStore<T> {
  #heap: Array<{ item: T; seq: number }> = [];
  #seq = 0;
  constructor(readonly compare: (a: T, b: T) => number) {}

  get length(): number {
    return this.#heap.length;
  }

  #less(i: number, j: number): boolean {
    const a = this.#heap[i]!, b = this.#heap[j]!;
    const c = this.compare(a.item, b.item);
    return c < 0 || (c === 0 && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    [heap[i], heap[j]] = [heap[j]!, heap[i]!];
  }

  push(item: T): void {
    const heap = this.#heap;
    heap.push({ item, seq: this.#seq++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  take(): T {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(l, m)) m = l;
        if (r < heap.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top.item;
  }
}

/**
 * A {@linkcode Queue} that returns the smallest item first (curio's
 * `PriorityQueue`); items that compare equal come out in the order they
 * were put. Put `[priority, item]` tuples, or give a `compare` function.
 * Waiting, hand-off, `join()`/`taskDone()` and cancellation behave as in
 * `Queue`.
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { PriorityQueue, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const q = new PriorityQueue<[number, string]>();
 *   await q.put([2, "later"]);
 *   await q.put([1, "first"]);
 *   await q.put([10, "last"]);
 *   assert.deepEqual(await q.get(), [1, "first"]);
 *   assert.deepEqual(await q.get(), [2, "later"]);
 *
 *   const byLength = new PriorityQueue<string>(0, { compare: (a, b) => a.length - b.length });
 *   await byLength.put("ccc");
 *   await byLength.put("a");
 *   assert.equal(await byLength.get(), "a");
 * });
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /**
   * Creates a priority queue.
   *
   * @param maxsize The most items the queue holds; 0 (the default) for no limit.
   * @param options `compare`: the order of the items.
   * @throws {TypeError} If `maxsize` is not a number or `compare` is not a function.
   * @throws {RangeError} If `maxsize` is negative or not an integer.
   */
  constructor(maxsize = 0, options: PriorityQueueOptions<T> = {}) {
    super(maxsize);
    const { compare = naturalOrder } = options;
    if (typeof compare !== "function") {
      throw new TypeError("Cannot create priority queue: compare must be a function");
    }
    storeHooks.install(this, new HeapStore<unknown>(compare as (a: unknown, b: unknown) => number));
  }
}
