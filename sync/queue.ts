/**
 * Queues for passing items between tasks: `Queue` (FIFO), with
 * `PriorityQueue` and `LifoQueue` built on it.
 *
 * @module
 */

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { FifoStore, type QueueStore, storeHooks } from "./_queue_store.ts";
import { outsideTask } from "./_task_check.ts";
import { waitThen } from "../kernel/wait_then.ts";

/**
 * A queue for passing items between tasks (curio's `Queue`).
 *
 * - `maxsize` 0 (the default) means unbounded; otherwise `put()` waits
 *   (state `QUEUE_PUT`) while the queue is full.
 * - `get()` waits (state `QUEUE_GET`) while the queue is empty; waiting
 *   getters are served in FIFO order, and a `put()` hands its item straight
 *   to the first of them. (In a `PriorityQueue` or `LifoQueue` the `put()`
 *   keeps an item for that getter instead, which takes the item that is next
 *   when it runs: the smallest, or the newest.) Waiting putters are served
 *   in FIFO order too.
 * - `join()` waits (state `QUEUE_JOIN`) until every item put has been marked
 *   processed with `taskDone()`.
 * - Getting from a non-empty queue, or putting into one with room, completes
 *   at once and is not a cancellation point. `put()` on a queue with room
 *   works from plain callbacks too.
 * - A getter or putter cancelled while waiting leaves no trace. One already
 *   handed its item (or its slot) keeps it: the cancel is raised at its next
 *   blocking operation.
 * - `for await (const item of queue)` gets items forever (until you `break`).
 * - To give up on a `get()` after a while, use `timeoutAfter`, not
 *   `Promise.race`: a `get()` that lost a race still takes the next item.
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { Queue, run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const got: number[] = [];
 * await run(async () => {
 *   const q = new Queue<number>();
 *   const consumer = await spawn(async () => {
 *     for await (const item of q) {
 *       got.push(item);
 *       await q.taskDone();
 *     }
 *   });
 *   for (let n = 0; n < 3; n++) await q.put(n);
 *   await q.join();
 *   await consumer.cancel();
 * });
 * assert.deepEqual(got, [0, 1, 2]);
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  #maxsize: number;
  #store: QueueStore<T> = new FifoStore<T>();
  #getters = new KernelQueue();
  #putters = new KernelQueue();
  #joiners = new KernelQueue();
  /** Putters woken for a free slot that have not yet stored their item. */
  #reserved = 0;
  /**
   * False for stores that do not give items out in the order they were put
   * (priority, LIFO): a put() cannot pick a waiting getter's item then.
   */
  #handOff = true;
  /**
   * Stored items kept for getters that were woken but have not run yet
   * (only when `#handOff` is false): they do not count in `qsize()`, and no
   * other `get()` may take them.
   */
  #promised = 0;
  /** Items put and not yet marked done. */
  #unfinished = 0;

  static {
    storeHooks.install = (queue, store) => {
      (queue as Queue<unknown>).#store = store;
      (queue as Queue<unknown>).#handOff = false;
    };
  }

  /**
   * Creates a queue.
   *
   * @param maxsize The most items the queue holds; 0 (the default) for no limit.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is negative or not an integer.
   */
  constructor(maxsize = 0) {
    if (typeof maxsize !== "number") {
      throw new TypeError(
        `Cannot create queue: expected maxsize as a number, received ${typeof maxsize}`,
      );
    }
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new RangeError(
        `Cannot create queue: maxsize must be an integer >= 0 (0 = unbounded), received ${maxsize}`,
      );
    }
    this.#maxsize = maxsize;
  }

  /**
   * The queue's size limit (0: unbounded).
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Queue(3).maxsize, 3);
   * ```
   */
  get maxsize(): number {
    return this.#maxsize;
  }

  /**
   * Whether the queue holds no items.
   *
   * @returns `true` if `qsize()` is 0.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<string>();
   * assert.equal(q.empty(), true);
   * await q.put("x");
   * assert.equal(q.empty(), false);
   * ```
   */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /**
   * Whether a `put()` would have to wait.
   *
   * @returns `true` if the queue is bounded and holds `maxsize` items.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<string>(1);
   * await q.put("x");
   * assert.equal(q.full(), true);
   * ```
   */
  full(): boolean {
    return this.#maxsize > 0 && this.qsize() >= this.#maxsize;
  }

  /**
   * How many items the queue holds.
   *
   * @returns The number of items (a putter already granted a slot counts).
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>();
   * await q.put(1);
   * await q.put(2);
   * assert.equal(q.qsize(), 2);
   * ```
   */
  qsize(): number {
    return this.#store.length - this.#promised + this.#reserved;
  }

  /**
   * Removes and returns the next item, waiting (state `QUEUE_GET`) behind
   * earlier getters while the queue is empty.
   *
   * @returns The item.
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { Queue, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const q = new Queue<string>();
   *   const getter = await spawn(() => q.get());
   *   assert.equal(getter.state, "QUEUE_GET");
   *   await q.put("hello");
   *   assert.equal(await getter.join(), "hello");
   * });
   * ```
   */
  get(): Promise<T> {
    // Not `async`: every await layer costs a microtask turn per item.
    if (this.#store.length === this.#promised) return this.#waitGet();
    const refused = outsideTask("get from a queue");
    if (refused !== undefined) return refused;
    return Promise.resolve(this.#take());
  }

  #waitGet(): Promise<T> {
    // A put() wakes the first getter with its item: being woken means owning it.
    if (this.#handOff) return _waitOnQueue(this.#getters, "QUEUE_GET") as Promise<T>;
    // Priority/LIFO: the put() kept an item for this getter, which takes the
    // one that is next when it runs (the waker carried on meanwhile and may
    // have put a smaller or newer one).
    return _waitOnQueue(this.#getters, "QUEUE_GET").then(() => {
      this.#promised--;
      return this.#store.take(); // qsize() is unchanged: no room to grant
    });
  }

  #take(): T {
    const item = this.#store.take();
    this.#grantRoom();
    return item;
  }

  /**
   * Grants free slots to waiting putters, first come first served: each
   * woken putter owns a reserved slot and stores its item when it resumes.
   * Called wherever room may have appeared, so no putter stays blocked while
   * the queue has room.
   */
  #grantRoom(): void {
    while (this.#putters.length > 0 && this.qsize() < this.#maxsize) {
      this.#reserved++;
      void _rescheduleTasks(this.#putters, 1);
    }
  }

  /**
   * Adds an item, waiting (state `QUEUE_PUT`) behind earlier putters while
   * the queue is full. If a task is waiting in `get()`, the item goes
   * straight to it (in a `PriorityQueue` or `LifoQueue`, an item is kept for
   * it, which it picks when it runs).
   *
   * @param item The item.
   * @throws {CurioError} If it has to wait outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while
   * waiting; the item was then not put.
   *
   * @example Usage
   * ```ts
   * import { Queue, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const q = new Queue<number>(1);
   *   await q.put(1);
   *   const putter = await spawn(() => q.put(2));
   *   assert.equal(putter.state, "QUEUE_PUT");
   *   assert.equal(await q.get(), 1);
   *   await putter.join();
   *   assert.equal(await q.get(), 2);
   * });
   * ```
   */
  put(item: T): Promise<void> {
    if (this.#putters.length === 0 && !this.full()) {
      this.#deliver(item);
      return Promise.resolve();
    }
    // The woken putter's item goes in as it resumes (waitThen: no promise
    // and no microtask hop more per blocked put). waitThen's step runs
    // outside the putter's async context, and a PriorityQueue's compare is
    // user code, which must run as the putter's own: the queues with a store
    // of their own (PriorityQueue, LifoQueue) put the item in from a then().
    if (this.#handOff) return waitThen(this.#putters, "QUEUE_PUT", this.#finishPut, item);
    return _waitOnQueue(this.#putters, "QUEUE_PUT").then(() => this.#finishPut(item));
  }

  /** A woken putter's item goes in, into the slot reserved for it. */
  #finishPut = (item: T): void => {
    this.#reserved--;
    this.#deliver(item);
  };

  #deliver(item: T): void {
    this.#unfinished++;
    if (this.#getters.length === 0) {
      this.#store.push(item);
      return;
    }
    // To a waiting getter: the slot this put reserved is free again.
    if (this.#handOff) void _rescheduleTasks(this.#getters, 1, item);
    else {
      this.#store.push(item);
      this.#promised++;
      void _rescheduleTasks(this.#getters, 1);
    }
    this.#grantRoom();
  }

  /**
   * Waits (state `QUEUE_JOIN`) until every item put so far has been marked
   * processed with {@linkcode Queue.prototype.taskDone}.
   *
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { Queue, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const q = new Queue<string>();
   *   await q.put("job");
   *   await spawn(async () => {
   *     await q.get();
   *     await q.taskDone();
   *   });
   *   await q.join();
   *   assert.equal(q.empty(), true);
   * });
   * ```
   */
  async join(): Promise<void> {
    if (this.#unfinished === 0) {
      const refused = outsideTask("join a queue");
      if (refused !== undefined) return refused;
      return;
    }
    await _waitOnQueue(this.#joiners, "QUEUE_JOIN");
  }

  /**
   * Marks one item as processed. When every item put has been marked, the
   * tasks waiting in `join()` wake up. Never blocks.
   *
   * @throws {Error} If called more times than items were put (nothing changes).
   *
   * @example Usage
   * ```ts
   * import { Queue, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const q = new Queue<number>();
   *   await q.put(1);
   *   await q.get();
   *   await q.taskDone();
   *   await assert.rejects(q.taskDone(), /more times than items were put/);
   * });
   * ```
   */
  taskDone(): Promise<void> {
    if (this.#unfinished <= 0) {
      return Promise.reject(
        new Error(
          "Cannot mark task done: taskDone() was called more times than items were put",
        ),
      );
    }
    if (--this.#unfinished === 0 && this.#joiners.length > 0) {
      void _rescheduleTasks(this.#joiners, this.#joiners.length);
    }
    return Promise.resolve();
  }

  /**
   * Iterates over the items, getting them one by one forever:
   * `for await (const item of queue)` (leave the loop with `break`).
   *
   * @returns An async iterator whose `next()` is `get()`.
   *
   * @example Usage
   * ```ts
   * import { Queue, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const q = new Queue<string>();
   *   await q.put("a");
   *   await q.put("stop");
   *   const seen: string[] = [];
   *   for await (const item of q) {
   *     if (item === "stop") break;
   *     seen.push(item);
   *   }
   *   assert.deepEqual(seen, ["a"]);
   * });
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: (): Promise<IteratorResult<T>> => this.get().then((value) => ({ value, done: false })),
      return: (): Promise<IteratorResult<T>> => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
