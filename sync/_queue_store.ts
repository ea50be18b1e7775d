// How a Queue keeps its items. Queue does the waiting and hand-off; a store
// only decides the order: FIFO (Queue), smallest first (PriorityQueue), last
// in first out (LifoQueue). Queue.#store is private, so subclasses install
// their store through `storeHooks.install`, which queue.ts fills in.

import { Ring } from "../kernel/ring.ts";

/** The items of a queue, in the order `take()` returns them. */
export interface QueueStore<T> {
  /** How many items are stored. */
  readonly length: number;
  /** Adds an item. */
  push(item: T): void;
  /** Removes and returns the next item; only called when `length > 0`. */
  take(): T;
}

/** First in, first out: a ring buffer (kernel/ring.ts). */
export class FifoStore<T> extends Ring<T> implements QueueStore<T> {
  constructor() {
    super(8);
  }

  take(): T {
    return this.shift() as T;
  }
}

/** Hooks queue.ts fills in so that subclasses can install their store. */
export const storeHooks: {
  install: (queue: object, store: QueueStore<unknown>) => void;
} = {
  install: () => {
    throw new Error("Cannot install queue store: queue.ts is not loaded");
  },
};
