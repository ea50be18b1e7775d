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

/** First in, first out: an array with a moving head, compacted now and then. */
export class FifoStore<T> implements QueueStore<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T {
    const items = this.#items;
    const item = items[this.#head]!;
    items[this.#head++] = undefined as T; // let the item be collected
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return item;
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
