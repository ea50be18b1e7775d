// How a Queue keeps its items. Queue does the waiting and hand-off; a store
// only decides the order: FIFO (Queue), smallest first (PriorityQueue), last
// in first out (LifoQueue). Queue.#store is private, so subclasses install
// their store through `storeHooks.install`, which queue.ts fills in.

/** The items of a queue, in the order `take()` returns them. */
export interface QueueStore<T> {
  /** How many items are stored. */
  readonly length: number;
  /** Adds an item. */
  push(item: T): void;
  /** Removes and returns the next item; only called when `length > 0`. */
  take(): T;
}

/**
 * First in, first out: a ring buffer with a power-of-two capacity that
 * doubles when full, so a push and a take per item never reallocate.
 */
export class FifoStore<T> implements QueueStore<T> {
  #ring: Array<T | undefined> = new Array<T | undefined>(8).fill(undefined);
  #head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this.#ring.length) this.#grow();
    const ring = this.#ring;
    ring[(this.#head + this.length++) & (ring.length - 1)] = item;
  }

  take(): T {
    const ring = this.#ring;
    const item = ring[this.#head] as T;
    ring[this.#head] = undefined; // let the item be collected
    this.#head = (this.#head + 1) & (ring.length - 1);
    this.length--;
    return item;
  }

  #grow(): void {
    const old = this.#ring;
    const ring = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.length; i++) ring[i] = old[(this.#head + i) & (old.length - 1)];
    this.#ring = ring;
    this.#head = 0;
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
