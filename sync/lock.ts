/**
 * A mutual-exclusion lock for tasks, with FIFO hand-off.
 *
 * @module
 */

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { outsideTask } from "./_task_check.ts";

/**
 * A mutex lock for tasks (curio's `Lock`).
 *
 * - Waiters are served in FIFO order with direct hand-off: `release()` passes
 *   the lock straight to the first waiter, so no task can barge in between.
 * - Acquiring a free lock completes at once and is not a cancellation point.
 * - A waiter that is cancelled (or times out) leaves the queue at once; a
 *   waiter that was already handed the lock owns it, and the cancel is raised
 *   at its next blocking operation (release the lock in `finally`).
 * - `acquire()` resolves to the lock itself, which is async-disposable:
 *   `await using _ = await lck.acquire();` is the manual's `async with lck:`.
 *
 * @example Usage
 * ```ts
 * import { Lock, run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const trace: string[] = [];
 * await run(async () => {
 *   const lck = new Lock();
 *   {
 *     await using _ = await lck.acquire();
 *     trace.push("parent has the lock");
 *     await spawn(async () => {
 *       await using _ = await lck.acquire();
 *       trace.push("child has the lock");
 *     });
 *     await sleep(0);
 *   }
 * });
 * assert.deepEqual(trace, ["parent has the lock", "child has the lock"]);
 * ```
 */
export class Lock {
  #locked = false;
  #waiting = new KernelQueue();

  /**
   * Acquires the lock, waiting (state `LOCK_ACQUIRE`) behind earlier waiters
   * if it is held.
   *
   * @returns The lock itself, for `await using _ = await lck.acquire()`.
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { Lock, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lck = new Lock();
   *   assert.equal(await lck.acquire(), lck);
   *   assert.equal(lck.locked(), true);
   *   await lck.release();
   * });
   * ```
   */
  acquire(): Promise<this> {
    // Not `async`: every await layer costs a microtask turn per hand-off.
    if (this.#locked) return this.#wait();
    const refused = outsideTask("acquire a lock");
    if (refused !== undefined) return refused;
    this.#locked = true;
    return Promise.resolve(this);
  }

  #wait(): Promise<this> {
    // The releasing task wakes us with the lock itself: being woken means owning it.
    return _waitOnQueue(this.#waiting, "LOCK_ACQUIRE") as Promise<this>;
  }

  /**
   * Releases the lock, handing it to the first waiting task if there is one.
   * Never blocks; works from plain callbacks too.
   *
   * @throws {Error} If the lock is not held (nothing changes).
   *
   * @example Usage
   * ```ts
   * import { Lock, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lck = new Lock();
   *   await lck.acquire();
   *   await lck.release();
   *   assert.equal(lck.locked(), false);
   *   await assert.rejects(lck.release(), /Cannot release lock/);
   * });
   * ```
   */
  release(): Promise<void> {
    if (!this.#locked) {
      return Promise.reject(
        new Error("Cannot release lock: it is not held; release only after acquire()"),
      );
    }
    if (this.#waiting.length > 0) void _rescheduleTasks(this.#waiting, 1, this);
    else this.#locked = false;
    return Promise.resolve();
  }

  /**
   * Whether the lock is held.
   *
   * @returns `true` while some task holds the lock.
   *
   * @example Usage
   * ```ts
   * import { Lock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Lock().locked(), false);
   * ```
   */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Releases the lock: what `await using _ = await lck.acquire()` calls at
   * the end of the block.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { Lock, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const lck = new Lock();
   *   {
   *     await using _ = await lck.acquire();
   *     assert.equal(lck.locked(), true);
   *   }
   *   assert.equal(lck.locked(), false);
   * });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
