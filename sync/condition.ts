/**
 * Condition variables for tasks.
 *
 * @module
 */

import { CancelledError } from "../kernel/errors.ts";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { Lock } from "./lock.ts";

/**
 * A condition variable (curio's `Condition`): tasks holding its lock wait
 * for a notification, then re-acquire the lock.
 *
 * - `wait()` releases the lock, waits (state `COND_WAIT`) for `notify()`,
 *   and re-acquires the lock before it returns **or throws**, also when the
 *   task is cancelled or times out.
 * - Waiters are notified in FIFO order. A waiter that was notified but then
 *   cancelled while re-acquiring the lock passes its notification on to the
 *   next waiter, so no notification is lost.
 * - `wait()`, `waitFor()`, `notify()` and `notifyAll()` throw unless the
 *   lock is held.
 * - `acquire()` resolves to the condition itself, which is async-disposable:
 *   `await using _ = await cond.acquire();` is the manual's `async with cond:`.
 *
 * @example Usage
 * ```ts
 * import { Condition, run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const items: number[] = [];
 * const got: number[] = [];
 * await run(async () => {
 *   const cond = new Condition();
 *   const consumer = await spawn(async () => {
 *     while (got.length < 3) {
 *       await using _ = await cond.acquire();
 *       while (items.length === 0) await cond.wait();
 *       got.push(items.shift()!);
 *     }
 *   });
 *   for (let n = 0; n < 3; n++) {
 *     {
 *       await using _ = await cond.acquire();
 *       items.push(n);
 *       await cond.notify();
 *     }
 *     await sleep(0);
 *   }
 *   await consumer.join();
 * });
 * assert.deepEqual(got, [0, 1, 2]);
 * ```
 */
export class Condition {
  #lock: Lock;
  #waiting = new KernelQueue();

  /**
   * Creates a condition variable.
   *
   * @param lock The lock to use (default: a new {@linkcode Lock}).
   * @throws {TypeError} If `lock` is not a Lock.
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError("Cannot create condition: expected a Lock (or nothing)");
    }
    this.#lock = lock ?? new Lock();
  }

  /**
   * Whether the condition's lock is held.
   *
   * @returns `true` while some task holds the lock.
   *
   * @example Usage
   * ```ts
   * import { Condition } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Condition().locked(), false);
   * ```
   */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Acquires the condition's lock (see {@linkcode Lock.prototype.acquire}).
   *
   * @returns The condition itself, for `await using _ = await cond.acquire()`.
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { Condition, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   assert.equal(await cond.acquire(), cond);
   *   assert.equal(cond.locked(), true);
   *   await cond.release();
   * });
   * ```
   */
  async acquire(): Promise<this> {
    await this.#lock.acquire();
    return this;
  }

  /**
   * Releases the condition's lock.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { Condition, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   await cond.acquire();
   *   await cond.release();
   *   assert.equal(cond.locked(), false);
   * });
   * ```
   */
  release(): Promise<void> {
    return this.#lock.release();
  }

  /**
   * Releases the lock, waits (state `COND_WAIT`) for a notification, then
   * re-acquires the lock. The lock is held again when this returns or throws.
   *
   * @throws {Error} If the lock is not held.
   * @throws {CancelledError} If the task is cancelled (or times out); the
   * lock has been re-acquired by then.
   *
   * @example Usage
   * ```ts
   * import { Condition, run, sleep, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   const waiter = await spawn(async () => {
   *     await using _ = await cond.acquire();
   *     await cond.wait();
   *     return cond.locked();
   *   });
   *   while (waiter.state !== "COND_WAIT") await sleep(0);
   *   {
   *     await using _ = await cond.acquire();
   *     await cond.notify();
   *   }
   *   assert.equal(await waiter.join(), true);
   * });
   * ```
   */
  async wait(): Promise<void> {
    if (!this.#lock.locked()) {
      throw new Error("Cannot wait on condition: its lock is not held; acquire() it first");
    }
    await this.#lock.release();
    let notified = false;
    let failed = false;
    let error: unknown;
    try {
      await _waitOnQueue(this.#waiting, "COND_WAIT");
      notified = true;
    } catch (e) {
      failed = true;
      error = e;
    }
    // Re-acquire the lock whatever happened. A cancel or timeout is delivered
    // once, so after catching it the next acquire() waits normally.
    for (;;) {
      try {
        await this.#lock.acquire();
        break;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        if (!failed) {
          failed = true;
          error = e;
        }
      }
    }
    if (failed) {
      // Notified, then cancelled while re-acquiring: the notification goes on.
      if (notified && this.#waiting.length > 0) void _rescheduleTasks(this.#waiting, 1);
      throw error;
    }
  }

  /**
   * Waits until `predicate()` returns a truthy value: checks it first, then
   * after every notification (with the lock held each time).
   *
   * @typeParam R What the predicate returns.
   * @param predicate A function of no arguments, called with the lock held.
   * @returns The predicate's truthy value.
   * @throws {Error} If the lock is not held.
   * @throws {CancelledError} If the task is cancelled (or times out); the
   * lock is held again by then.
   *
   * @example Usage
   * ```ts
   * import { Condition, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   let count = 0;
   *   const waiter = await spawn(async () => {
   *     await using _ = await cond.acquire();
   *     return await cond.waitFor(() => count >= 2 && `count is ${count}`);
   *   });
   *   for (let i = 0; i < 2; i++) {
   *     await using _ = await cond.acquire();
   *     count++;
   *     await cond.notifyAll();
   *   }
   *   assert.equal(await waiter.join(), "count is 2");
   * });
   * ```
   */
  async waitFor<R>(predicate: () => R): Promise<R> {
    if (typeof predicate !== "function") {
      throw new TypeError("Cannot wait for predicate: expected a function of no arguments");
    }
    if (!this.#lock.locked()) {
      throw new Error("Cannot wait on condition: its lock is not held; acquire() it first");
    }
    for (;;) {
      const result = predicate();
      if (result) return result;
      await this.wait();
    }
  }

  /**
   * Wakes up to `n` tasks waiting in `wait()`, first come first served. They
   * resume once they re-acquire the lock. Never blocks.
   *
   * @param n How many waiters to wake (default 1).
   * @throws {Error} If the lock is not held.
   * @throws {RangeError} If `n` is negative or not a number.
   *
   * @example Usage
   * ```ts
   * import { Condition, run } from "@curio/curio";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   await using _ = await cond.acquire();
   *   await cond.notify(); // nobody waits: nothing happens
   * });
   * ```
   */
  notify(n = 1): Promise<void> {
    if (typeof n !== "number" || !(n >= 0)) {
      return Promise.reject(
        new RangeError(`Cannot notify condition: n must be a number >= 0, received ${n}`),
      );
    }
    if (!this.#lock.locked()) {
      return Promise.reject(
        new Error("Cannot notify condition: its lock is not held; acquire() it first"),
      );
    }
    if (n > 0 && this.#waiting.length > 0) void _rescheduleTasks(this.#waiting, n);
    return Promise.resolve();
  }

  /**
   * Wakes every task waiting in `wait()`.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { Condition, run } from "@curio/curio";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   await using _ = await cond.acquire();
   *   await cond.notifyAll();
   * });
   * ```
   */
  notifyAll(): Promise<void> {
    return this.notify(this.#waiting.length);
  }

  /**
   * Releases the lock: what `await using _ = await cond.acquire()` calls at
   * the end of the block.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Usage
   * ```ts
   * import { Condition, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const cond = new Condition();
   *   {
   *     await using _ = await cond.acquire();
   *   }
   *   assert.equal(cond.locked(), false);
   * });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
