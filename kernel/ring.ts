// A FIFO in a ring buffer with a power-of-two capacity that doubles when
// full: a push and a shift never reallocate. An array used as a queue and
// emptied with `length = 0` reallocates on the next push (measured ~50 ns a
// push+shift pair against ~10 ns here). The kernel's ready queue and
// Queue's items are rings.
//
// Not part of the public API (no entry point exports it); a kernel file
// without the underscore so that sync/ may use it too.

/** First in, first out; `length` items, the oldest at the front. */
export class Ring<T> {
  #ring: Array<T | undefined>;
  #head = 0;
  /** How many items are in the ring. */
  length = 0;

  /** @param capacity The starting capacity, a power of two. */
  constructor(capacity = 16) {
    this.#ring = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.length === this.#ring.length) this.#grow();
    const ring = this.#ring;
    ring[(this.#head + this.length++) & (ring.length - 1)] = item;
  }

  /** Removes and returns the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const ring = this.#ring;
    const item = ring[this.#head];
    ring[this.#head] = undefined; // let the item be collected
    this.#head = (this.#head + 1) & (ring.length - 1);
    this.length--;
    return item;
  }

  /** The `i`-th item from the front (0 <= i < length), left in place. */
  at(i: number): T | undefined {
    const ring = this.#ring;
    return ring[(this.#head + i) & (ring.length - 1)];
  }

  /** Removes and returns the `i`-th item from the front (0 <= i < length). */
  takeAt(i: number): T | undefined {
    if (i === 0) return this.shift();
    const ring = this.#ring;
    const mask = ring.length - 1;
    const head = this.#head;
    const item = ring[(head + i) & mask];
    for (let k = i; k < this.length - 1; k++) ring[(head + k) & mask] = ring[(head + k + 1) & mask];
    ring[(head + this.length - 1) & mask] = undefined;
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
