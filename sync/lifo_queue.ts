/**
 * A last-in, first-out queue for tasks.
 *
 * @module
 */

import { Queue } from "./queue.ts";
import { type QueueStore, storeHooks } from "./_queue_store.ts";

class StackStore<T> implements QueueStore<T> {
  #items: T[] = [];
  get length(): number {
    return this.#items.length;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop()!;
  }
}

/**
 * A {@linkcode Queue} that returns the most recently put item first (curio's
 * `LifoQueue`). Waiting, hand-off, `join()`/`taskDone()` and cancellation
 * behave as in `Queue`.
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { LifoQueue, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const q = new LifoQueue<number>();
 *   for (const n of [1, 2, 3]) await q.put(n);
 *   assert.deepEqual([await q.get(), await q.get(), await q.get()], [3, 2, 1]);
 * });
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /**
   * Creates a LIFO queue.
   *
   * @param maxsize The most items the queue holds; 0 (the default) for no limit.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is negative or not an integer.
   */
  constructor(maxsize = 0) {
    super(maxsize);
    storeHooks.install(this, new StackStore<unknown>());
  }
}
