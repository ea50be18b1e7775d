/**
 * A lock and a queue that Web Workers and kernel tasks can share: the
 * TypeScript counterparts of Python's `threading.Lock` and `queue.Queue` in
 * the manual's `abide` examples.
 *
 * Both live in a `SharedArrayBuffer` and synchronize with `Atomics`:
 *
 * - **In a worker thread** use their blocking methods (`acquire()`,
 *   `get()`, `put()`, ...), which wait with `Atomics.wait`, exactly like
 *   Python code uses a `threading.Lock`.
 * - **In a kernel task** never call those (they would block the kernel):
 *   go through {@linkcode abide}. `abide(lock)` gives an async lock whose
 *   waits park only the calling task (`Atomics.waitAsync`);
 *   `await abide(q.get)` gets an item the same way. These waits are
 *   cancellable and leave no trace when cancelled.
 * - Pass them to {@linkcode runInThread} as arguments (top-level arguments
 *   arrive in the worker as working `SharedLock`/`SharedQueue` objects), or
 *   send `.buffer` to your own `Worker` and rebuild them there with
 *   `SharedLock.fromBuffer()` / `SharedQueue.fromBuffer()`.
 * - They cannot cross process boundaries (`runInProcess` rejects them).
 * - Waiters are woken all at once and race for the lock: there is no FIFO
 *   hand-off across threads (Python's `threading.Lock` promises none either).
 *   A worker terminated while it holds the lock leaves it locked.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import { _futureWait } from "../kernel/traps.ts";
import { currentTask } from "../kernel/current_task.ts";
import { abideTwins } from "./_abide_registry.ts";
import { hold, unhold } from "./_keepalive.ts";

/** Longest single `Atomics.waitAsync` (ms): a safety net, and how long a cancelled wait lingers. */
const POLL_MS = 200;

/** The buffer a `fromBuffer()` call is rebuilding an object over. */
let adopting: SharedArrayBuffer | undefined;

function deadlineOf(timeout: number | undefined, what: string): number {
  if (timeout === undefined || timeout === null || timeout < 0) return Infinity;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`Cannot ${what}: timeout must be a number of seconds`);
  }
  return performance.now() + timeout * 1000;
}

function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

/**
 * Parks the calling task (never the kernel) until `i32[index]` is no longer
 * `expected` (or the poll interval passes).
 */
async function waitWord(
  i32: Int32Array,
  index: number,
  expected: number,
  state: string,
): Promise<void> {
  const result = Atomics.waitAsync(i32, index, expected, POLL_MS);
  if (!result.async) return;
  hold();
  try {
    await _futureWait(result.value, state);
  } finally {
    unhold();
  }
}

/**
 * A mutual-exclusion lock shared by Web Workers and kernel tasks (the
 * counterpart of Python's `threading.Lock`). Workers call the blocking
 * `acquire()`/`release()`; tasks use `abide(lock)`.
 *
 * @example Usage
 * ```ts
 * import { abide, run, runInThread, SharedLock } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const lock = new SharedLock();
 * await run(async () => {
 *   // A worker thread takes the lock with the blocking API ...
 *   const n = await runInThread((l: SharedLock) => {
 *     l.acquire();
 *     try {
 *       return 1;
 *     } finally {
 *       l.release();
 *     }
 *   }, lock);
 *   // ... and a task with abide(), which never blocks the kernel.
 *   await using _ = await abide(lock).acquire();
 *   assert.equal(n, 1);
 *   assert.equal(lock.locked(), true);
 * });
 * assert.equal(lock.locked(), false);
 * ```
 */
export class SharedLock {
  readonly #i32: Int32Array;
  readonly #buffer: SharedArrayBuffer;

  /**
   * Creates an unlocked lock in a new `SharedArrayBuffer`.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SharedLock().locked(), false);
   * ```
   */
  constructor() {
    this.#buffer = adopting ?? new SharedArrayBuffer(4);
    this.#i32 = new Int32Array(this.#buffer);
    let adapter: AsyncSharedLock | undefined;
    abideTwins.set(this, () => adapter ??= new AsyncSharedLock(this, this.#i32));
  }

  /**
   * Rebuilds a lock from the buffer of another (in another worker).
   *
   * @param buffer The `.buffer` of a SharedLock.
   * @returns A SharedLock over the same memory.
   * @throws {TypeError} If `buffer` is not a 4-byte SharedArrayBuffer.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const a = new SharedLock();
   * const b = SharedLock.fromBuffer(a.buffer);
   * a.acquire();
   * assert.equal(b.locked(), true);
   * a.release();
   * ```
   */
  static fromBuffer(buffer: SharedArrayBuffer): SharedLock {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== 4) {
      throw new TypeError(
        "Cannot rebuild shared lock: expected the 4-byte SharedArrayBuffer from lock.buffer",
      );
    }
    adopting = buffer;
    try {
      return new SharedLock();
    } finally {
      adopting = undefined;
    }
  }

  /**
   * The shared memory holding the lock; post it to a Worker and rebuild the
   * lock there with {@linkcode SharedLock.fromBuffer}.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert(new SharedLock().buffer instanceof SharedArrayBuffer);
   * ```
   */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /**
   * Acquires the lock, blocking the calling **thread** (`Atomics.wait`).
   * Call it in worker threads only; in a task use `abide(lock).acquire()`.
   *
   * @param blocking `false`: return at once if the lock is held.
   * @param timeout Seconds to wait at most (negative or omitted: forever).
   * @returns `true` if acquired, `false` if not (non-blocking or timed out).
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const lock = new SharedLock();
   * assert.equal(lock.acquire(), true);
   * assert.equal(lock.acquire(false), false);
   * lock.release();
   * ```
   */
  acquire(blocking = true, timeout?: number): boolean {
    const i32 = this.#i32;
    if (Atomics.compareExchange(i32, 0, 0, 1) === 0) return true;
    if (!blocking) return false;
    const deadline = deadlineOf(timeout, "acquire shared lock");
    for (;;) {
      const ms = remaining(deadline);
      if (ms <= 0) return false;
      Atomics.wait(i32, 0, 1, ms);
      if (Atomics.compareExchange(i32, 0, 0, 1) === 0) return true;
    }
  }

  /**
   * Releases the lock and wakes everything waiting for it (threads and tasks).
   * Any thread or task may release it.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const lock = new SharedLock();
   * assert.throws(() => lock.release(), /Cannot release shared lock/);
   * ```
   */
  release(): void {
    if (Atomics.compareExchange(this.#i32, 0, 1, 0) !== 1) {
      throw new Error("Cannot release shared lock: it is not held; release only after acquire()");
    }
    Atomics.notify(this.#i32, 0);
  }

  /**
   * Whether the lock is held (by anyone).
   *
   * @returns `true` while held.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SharedLock().locked(), false);
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#i32, 0) !== 0;
  }

  /**
   * Releases the lock: `lock.acquire(); using _ = lock;` in a worker.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const lock = new SharedLock();
   * {
   *   lock.acquire();
   *   using _ = lock;
   * }
   * assert.equal(lock.locked(), false);
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * What `abide(sharedLock)` returns: the same lock seen from kernel tasks.
 * `acquire()` parks only the calling task (state `LOCK_ACQUIRE`) while a
 * thread holds the lock; it is cancellable and a cancelled wait takes
 * nothing. Use it like a curio `Lock`:
 * `await using _ = await abide(lock).acquire();`.
 *
 * @example Usage
 * ```ts
 * import { abide, AsyncSharedLock, run, SharedLock } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const lock = new SharedLock();
 * await run(async () => {
 *   const alock = abide(lock);
 *   assert(alock instanceof AsyncSharedLock);
 *   await alock.acquire();
 *   assert.equal(lock.locked(), true);
 *   await alock.release();
 * });
 * ```
 */
export class AsyncSharedLock {
  readonly #lock: SharedLock;
  readonly #i32: Int32Array;

  /**
   * Wraps `lock`'s memory; made by `abide(lock)`.
   *
   * @param lock The shared lock.
   * @param i32 Its memory.
   */
  constructor(lock: SharedLock, i32: Int32Array) {
    if (!(lock instanceof SharedLock) || !(i32 instanceof Int32Array)) {
      throw new TypeError("Cannot make AsyncSharedLock: use abide(sharedLock)");
    }
    this.#lock = lock;
    this.#i32 = i32;
  }

  /** The shared lock this adapter acquires. */
  get lock(): SharedLock {
    return this.#lock;
  }

  /**
   * Acquires the lock without blocking the kernel. A free lock is taken at
   * once (not a cancellation point).
   *
   * @returns This adapter, for `await using _ = await abide(lock).acquire()`.
   * @throws {CurioError} Outside a task.
   * @throws {CancelledError} If cancelled (or timed out) while waiting; the lock is not taken.
   *
   * @example Usage
   * ```ts
   * import { abide, run, SharedLock, TaskTimeout, timeoutAfter } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const lock = new SharedLock();
   * lock.acquire(); // held by "another thread"
   * await run(async () => {
   *   await assert.rejects(timeoutAfter(0.05, () => abide(lock).acquire()), TaskTimeout);
   * });
   * lock.release();
   * ```
   */
  async acquire(): Promise<this> {
    await currentTask();
    const i32 = this.#i32;
    while (Atomics.compareExchange(i32, 0, 0, 1) !== 0) {
      await waitWord(i32, 0, 1, "LOCK_ACQUIRE");
    }
    return this;
  }

  /**
   * Releases the lock, waking threads and tasks waiting for it.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { abide, run, SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await assert.rejects(abide(new SharedLock()).release(), /not held/);
   * });
   * ```
   */
  async release(): Promise<void> {
    this.#lock.release();
  }

  /**
   * Whether the lock is held (by anyone).
   *
   * @returns `true` while held.
   *
   * @example Usage
   * ```ts
   * import { abide, SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(abide(new SharedLock()).locked(), false);
   * ```
   */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Releases the lock at the end of an `await using` block.
   *
   * @example Usage
   * ```ts
   * import { abide, run, SharedLock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const lock = new SharedLock();
   * await run(async () => {
   *   await using _ = await abide(lock).acquire();
   *   assert.equal(lock.locked(), true);
   * });
   * assert.equal(lock.locked(), false);
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#lock.release();
  }
}

// SharedQueue memory: an Int32 header, then a byte ring of records
// (4-byte little-endian length + a V8 structured-clone serialization).
const MUTEX = 0; // 0 free, 1 held (only for the few instructions of an operation)
const SEQ = 1; // bumped by every change; waiters wait on it
const COUNT = 2; // items queued
const UNFINISHED = 3; // items put and not yet marked done (join / taskDone)
const HEAD = 4; // byte offset of the oldest record
const TAIL = 5; // byte offset where the next record goes
const USED = 6; // bytes in use
const MAXSIZE = 7; // max items (0: bounded only by capacity)
const HEADER_BYTES = 8 * 4;

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
  readonly #buffer: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #capacity: number;

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
    if (adopting !== undefined) {
      this.#buffer = adopting;
    } else {
      if (typeof maxsize !== "number" || !Number.isInteger(maxsize) || maxsize < 0) {
        throw new RangeError(
          `Cannot create shared queue: maxsize must be an integer >= 0, received ${maxsize}`,
        );
      }
      const capacity = options.capacity ?? 65536;
      if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 16) {
        throw new RangeError(
          `Cannot create shared queue: capacity must be an integer >= 16 bytes, received ${capacity}`,
        );
      }
      this.#buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
      new Int32Array(this.#buffer)[MAXSIZE] = maxsize;
    }
    this.#i32 = new Int32Array(this.#buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(this.#buffer, HEADER_BYTES);
    this.#capacity = this.#bytes.length;
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
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES + 16) {
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
    return this.#buffer;
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
    return Atomics.load(this.#i32, COUNT);
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
    const max = Atomics.load(this.#i32, MAXSIZE);
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
    const record = this.#encode(item);
    const deadline = deadlineOf(timeout, "put into shared queue");
    for (;;) {
      const seen = this.#lockSync();
      const done = this.#tryPut(record);
      this.#unlock(done);
      if (done) return;
      const ms = remaining(deadline);
      if (!block || ms <= 0) throw new QueueFull();
      Atomics.wait(this.#i32, SEQ, seen, ms);
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
    const deadline = deadlineOf(timeout, "get from shared queue");
    for (;;) {
      const seen = this.#lockSync();
      const record = this.#tryGet();
      this.#unlock(record !== undefined);
      if (record !== undefined) return deserialize(record) as T;
      const ms = remaining(deadline);
      if (!block || ms <= 0) throw new QueueEmpty();
      Atomics.wait(this.#i32, SEQ, seen, ms);
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
    this.#lockSync();
    const left = this.#i32[UNFINISHED]!;
    if (left > 0) this.#i32[UNFINISHED] = left - 1;
    this.#unlock(left > 0);
    if (left <= 0) {
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
    for (;;) {
      const seen = Atomics.load(this.#i32, SEQ);
      if (Atomics.load(this.#i32, UNFINISHED) === 0) return;
      Atomics.wait(this.#i32, SEQ, seen);
    }
  }

  async #getAsync(): Promise<T> {
    await currentTask();
    for (;;) {
      const seen = await this.#lockAsync();
      const record = this.#tryGet();
      this.#unlock(record !== undefined);
      if (record !== undefined) return deserialize(record) as T;
      await waitWord(this.#i32, SEQ, seen, "QUEUE_GET");
    }
  }

  async #putAsync(item: T): Promise<void> {
    await currentTask();
    const record = this.#encode(item);
    for (;;) {
      const seen = await this.#lockAsync();
      const done = this.#tryPut(record);
      this.#unlock(done);
      if (done) return;
      await waitWord(this.#i32, SEQ, seen, "QUEUE_PUT");
    }
  }

  async #taskDoneAsync(): Promise<void> {
    this.taskDone();
  }

  async #joinAsync(): Promise<void> {
    await currentTask();
    for (;;) {
      const seen = Atomics.load(this.#i32, SEQ);
      if (Atomics.load(this.#i32, UNFINISHED) === 0) return;
      await waitWord(this.#i32, SEQ, seen, "QUEUE_JOIN");
    }
  }

  #encode(item: T): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = serialize(item);
    } catch (error) {
      throw new DOMException(
        `Cannot put into shared queue: ${(error as Error).message}; put structured-cloneable data`,
        "DataCloneError",
      );
    }
    const record = new Uint8Array(4 + payload.length);
    new DataView(record.buffer).setUint32(0, payload.length, true);
    record.set(payload, 4);
    if (record.length > this.#capacity) {
      throw new RangeError(
        `Cannot put into shared queue: the item needs ${record.length} bytes, more than the queue's capacity of ${this.#capacity}; create the queue with a larger capacity`,
      );
    }
    return record;
  }

  // The internal mutex guards only the few instructions of one operation.
  // Threads may block on it; the kernel side never does (see #lockAsync).
  #lockSync(): number {
    const i32 = this.#i32;
    while (Atomics.compareExchange(i32, MUTEX, 0, 1) !== 0) {
      Atomics.wait(i32, MUTEX, 1, 1);
    }
    return i32[SEQ]!;
  }

  async #lockAsync(): Promise<number> {
    const i32 = this.#i32;
    for (let spins = 0; Atomics.compareExchange(i32, MUTEX, 0, 1) !== 0; spins++) {
      if (spins > 100) await waitWord(i32, MUTEX, 1, "QUEUE_LOCK");
    }
    return i32[SEQ]!;
  }

  #unlock(changed: boolean): void {
    const i32 = this.#i32;
    if (changed) i32[SEQ] = (i32[SEQ]! + 1) | 0;
    Atomics.store(i32, MUTEX, 0);
    Atomics.notify(i32, MUTEX);
    if (changed) Atomics.notify(i32, SEQ);
  }

  #tryPut(record: Uint8Array): boolean {
    const i32 = this.#i32;
    const max = i32[MAXSIZE]!;
    if ((max > 0 && i32[COUNT]! >= max) || this.#capacity - i32[USED]! < record.length) {
      return false;
    }
    const tail = i32[TAIL]!;
    const first = Math.min(record.length, this.#capacity - tail);
    this.#bytes.set(record.subarray(0, first), tail);
    if (first < record.length) this.#bytes.set(record.subarray(first), 0);
    i32[TAIL] = (tail + record.length) % this.#capacity;
    i32[USED] = i32[USED]! + record.length;
    i32[COUNT] = i32[COUNT]! + 1;
    i32[UNFINISHED] = i32[UNFINISHED]! + 1;
    return true;
  }

  #tryGet(): Uint8Array | undefined {
    const i32 = this.#i32;
    if (i32[COUNT] === 0) return undefined;
    const head = i32[HEAD]!;
    const header = this.#read(head, 4);
    const length = new DataView(header.buffer).getUint32(0, true);
    const payload = this.#read((head + 4) % this.#capacity, length);
    i32[HEAD] = (head + 4 + length) % this.#capacity;
    i32[USED] = i32[USED]! - 4 - length;
    i32[COUNT] = i32[COUNT]! - 1;
    return payload;
  }

  #read(at: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const first = Math.min(length, this.#capacity - at);
    out.set(this.#bytes.subarray(at, at + first));
    if (first < length) out.set(this.#bytes.subarray(0, length - first), first);
    return out;
  }
}
