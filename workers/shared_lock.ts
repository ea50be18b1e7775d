/**
 * SharedLock: a lock in a 4-byte `SharedArrayBuffer` (0 free, 1 held) that
 * worker threads take with `Atomics.wait` and kernel tasks, through
 * `abide(lock)`, with `Atomics.waitAsync` (see shared.ts for the whole story).
 *
 * @module
 */

import { currentTask } from "../kernel/current_task.ts";
import { abideTwins } from "./_abide_registry.ts";
import { deadlineOf, remaining, waitWord } from "./_atomic_wait.ts";

/** The buffer a `fromBuffer()` call is rebuilding a lock over. */
let adopting: SharedArrayBuffer | undefined;

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
