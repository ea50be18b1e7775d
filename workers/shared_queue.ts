/**
 * SharedQueue: a FIFO queue in a `SharedArrayBuffer` that worker threads use
 * with blocking methods and kernel tasks through `abide(q.get)` and friends
 * (see shared.ts for the whole story). The memory layout is `_shared_ring.ts`.
 *
 * @module
 */

import { currentTask } from "../kernel/current_task.ts";
import { abideTwins } from "./_abide_registry.ts";
import { deadlineOf, remaining } from "./_atomic_wait.ts";
import { MIN_CAPACITY, SharedRing } from "./_shared_ring.ts";

/** The buffer a `fromBuffer()` call is rebuilding a queue over. */
let adopting: SharedArrayBuffer | undefined;

/** Raised by the non-blocking `get` of an empty {@linkcode SharedQueue} (Python's `queue.Empty`). */
export class QueueEmpty extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened.
   */
  constructor(message = "Cannot get from shared queue: it is empty") {
    super(message);
    this.name = "QueueEmpty";
  }
}

/** Raised by the non-blocking `put` into a full {@linkcode SharedQueue} (Python's `queue.Full`). */
export class QueueFull extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened.
   */
  constructor(message = "Cannot put into shared queue: it is full") {
    super(message);
    this.name = "QueueFull";
  }
}

/** Options for {@linkcode SharedQueue}. */
export interface SharedQueueOptions {
  /** Bytes of shared memory for queued items (default 65536); one item must fit. */
  capacity?: number;
}

/**
 * A FIFO queue shared by Web Workers and kernel tasks (the counterpart of
 * Python's `queue.Queue`). Items are structured-cloned (V8 serialization)
 * into shared memory. Worker threads use the blocking methods; kernel tasks
 * use `await abide(q.get)`, `await abide(q.put, item)`,
 * `await abide(q.taskDone)`, `await abide(q.join)`, which park only the
 * calling task. The methods are bound, so `q.get` can be passed around.
 *
 * @example Usage
 * ```ts
 * import { abide, run, runInThread, SharedQueue, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const q = new SharedQueue<number | null>();
 * const got: number[] = [];
 * await run(async () => {
 *   const producer = await spawn(() =>
 *     runInThread((q: SharedQueue<number | null>) => {
 *       for (let n = 0; n < 3; n++) q.put(n);
 *       q.put(null);
 *     }, q)
 *   );
 *   for (;;) {
 *     const item = await abide(q.get);
 *     if (item === null) break;
 *     got.push(item);
 *   }
 *   await producer.join();
 * });
 * assert.deepEqual(got, [0, 1, 2]);
 * ```
 */
export class SharedQueue<T = unknown> {
  readonly #ring: SharedRing;

  /**
   * Creates a queue in a new `SharedArrayBuffer`.
   *
   * @param maxsize The most items it holds (0: as many as fit in `capacity`).
   * @param options `capacity`: bytes for items (default 65536).
   * @throws {RangeError} If `maxsize` is negative or `capacity` is too small.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new SharedQueue<string>(2);
   * q.put("a");
   * assert.equal(q.qsize(), 1);
   * assert.equal(q.get(), "a");
   * ```
   */
  constructor(maxsize = 0, options: SharedQueueOptions = {}) {
    let buffer: SharedArrayBuffer;
    if (adopting !== undefined) {
      buffer = adopting;
    } else {
      if (typeof maxsize !== "number" || !Number.isInteger(maxsize) || maxsize < 0) {
        throw new RangeError(
          `Cannot create shared queue: maxsize must be an integer >= 0, received ${maxsize}`,
        );
      }
      const capacity = options.capacity ?? 65536;
      if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < MIN_CAPACITY) {
        throw new RangeError(
          `Cannot create shared queue: capacity must be an integer >= 16 bytes, received ${capacity}`,
        );
      }
      buffer = SharedRing.create(maxsize, capacity);
    }
    this.#ring = new SharedRing(buffer);
    // Bound, so that `abide(q.get)` and `runInThread(q.get)`-style hand-offs work.
    this.get = this.get.bind(this);
    this.put = this.put.bind(this);
    this.taskDone = this.taskDone.bind(this);
    this.join = this.join.bind(this);
    abideTwins.set(this.get, () => this.#getAsync());
    abideTwins.set(this.put, (item) => this.#putAsync(item as T));
    abideTwins.set(this.taskDone, () => this.#taskDoneAsync());
    abideTwins.set(this.join, () => this.#joinAsync());
  }

  /**
   * Rebuilds a queue from the buffer of another (in another worker).
   *
   * @typeParam T The item type.
   * @param buffer The `.buffer` of a SharedQueue.
   * @returns A SharedQueue over the same memory.
   * @throws {TypeError} If `buffer` is not a SharedArrayBuffer of a queue.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const a = new SharedQueue<number>();
   * a.put(1);
   * assert.equal(SharedQueue.fromBuffer<number>(a.buffer).get(), 1);
   * ```
   */
  static fromBuffer<T = unknown>(buffer: SharedArrayBuffer): SharedQueue<T> {
    if (!SharedRing.fits(buffer)) {
      throw new TypeError(
        "Cannot rebuild shared queue: expected the SharedArrayBuffer from queue.buffer",
      );
    }
    adopting = buffer;
    try {
      return new SharedQueue<T>();
    } finally {
      adopting = undefined;
    }
  }

  /**
   * The shared memory holding the queue; post it to a Worker and rebuild the
   * queue there with {@linkcode SharedQueue.fromBuffer}.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert(new SharedQueue().buffer instanceof SharedArrayBuffer);
   * ```
   */
  get buffer(): SharedArrayBuffer {
    return this.#ring.buffer;
  }

  /**
   * How many items are queued.
   *
   * @returns The count.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SharedQueue().qsize(), 0);
   * ```
   */
  qsize(): number {
    return this.#ring.count;
  }

  /**
   * Whether no item is queued.
   *
   * @returns `true` if empty.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SharedQueue().empty(), true);
   * ```
   */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /**
   * Whether `maxsize` items are queued.
   *
   * @returns `true` if full.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new SharedQueue(1);
   * q.put(1);
   * assert.equal(q.full(), true);
   * ```
   */
  full(): boolean {
    const max = this.#ring.maxsize;
    return max > 0 && this.qsize() >= max;
  }

  /**
   * Puts `item`, blocking the calling **thread** while the queue is full.
   * In a task use `await abide(q.put, item)`.
   *
   * @param item A structured-cloneable value.
   * @param block `false`: throw {@linkcode QueueFull} at once if full.
   * @param timeout Seconds to wait at most (omitted: forever).
   * @throws {QueueFull} If full and not blocking, or on timeout.
   * @throws {RangeError} If the item is larger than the queue's capacity.
   * @throws {Error} If `item` cannot be cloned (DataCloneError).
   *
   * @example Usage
   * ```ts
   * import { QueueFull, SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new SharedQueue(1);
   * q.put("x");
   * assert.throws(() => q.put("y", false), QueueFull);
   * ```
   */
  put(item: T, block = true, timeout?: number): void {
    const ring = this.#ring;
    const record = ring.encode(item);
    const deadline = deadlineOf(timeout, "put into shared queue");
    for (;;) {
      const seen = ring.lockSync();
      const done = ring.tryPut(record);
      ring.unlock(done);
      if (done) return;
      const ms = remaining(deadline);
      if (!block || ms <= 0) throw new QueueFull();
      ring.waitSync(seen, ms);
    }
  }

  /**
   * Removes and returns the oldest item, blocking the calling **thread**
   * while the queue is empty. In a task use `await abide(q.get)`.
   *
   * @param block `false`: throw {@linkcode QueueEmpty} at once if empty.
   * @param timeout Seconds to wait at most (omitted: forever).
   * @returns The item.
   * @throws {QueueEmpty} If empty and not blocking, or on timeout.
   *
   * @example Usage
   * ```ts
   * import { QueueEmpty, SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new SharedQueue<number>();
   * assert.throws(() => q.get(false), QueueEmpty);
   * ```
   */
  get(block = true, timeout?: number): T {
    const ring = this.#ring;
    const deadline = deadlineOf(timeout, "get from shared queue");
    for (;;) {
      const seen = ring.lockSync();
      const record = ring.tryGet();
      ring.unlock(record !== undefined);
      if (record !== undefined) return ring.decode(record) as T;
      const ms = remaining(deadline);
      if (!block || ms <= 0) throw new QueueEmpty();
      ring.waitSync(seen, ms);
    }
  }

  /**
   * Marks one item got earlier as processed (for {@linkcode SharedQueue.join}).
   * Never blocks.
   *
   * @throws {Error} If called more times than items were put.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new SharedQueue();
   * assert.throws(() => q.taskDone(), /more times than items/);
   * ```
   */
  taskDone(): void {
    const ring = this.#ring;
    ring.lockSync();
    const done = ring.tryTaskDone();
    ring.unlock(done);
    if (!done) {
      throw new Error("Cannot mark task done: taskDone() called more times than items were put");
    }
  }

  /**
   * Blocks the calling **thread** until every item put has been marked
   * done. In a task use `await abide(q.join)`.
   *
   * @example Usage
   * ```ts
   * import { SharedQueue } from "@curio/curio";
   *
   * const q = new SharedQueue();
   * q.put(1);
   * q.get();
   * q.taskDone();
   * q.join(); // returns at once: nothing unfinished
   * ```
   */
  join(): void {
    const ring = this.#ring;
    for (;;) {
      const seen = ring.seq;
      if (ring.unfinished === 0) return;
      ring.waitSync(seen);
    }
  }

  async #getAsync(): Promise<T> {
    await currentTask();
    const ring = this.#ring;
    for (;;) {
      const seen = await ring.lockAsync();
      const record = ring.tryGet();
      ring.unlock(record !== undefined);
      if (record !== undefined) return ring.decode(record) as T;
      await ring.waitAsync(seen, "QUEUE_GET");
    }
  }

  async #putAsync(item: T): Promise<void> {
    await currentTask();
    const ring = this.#ring;
    const record = ring.encode(item);
    for (;;) {
      const seen = await ring.lockAsync();
      const done = ring.tryPut(record);
      ring.unlock(done);
      if (done) return;
      await ring.waitAsync(seen, "QUEUE_PUT");
    }
  }

  async #taskDoneAsync(): Promise<void> {
    this.taskDone();
  }

  async #joinAsync(): Promise<void> {
    await currentTask();
    const ring = this.#ring;
    for (;;) {
      const seen = ring.seq;
      if (ring.unfinished === 0) return;
      await ring.waitAsync(seen, "QUEUE_JOIN");
    }
  }
}
