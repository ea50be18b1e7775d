/**
 * Counting semaphores for tasks: `Semaphore` and `BoundedSemaphore`.
 *
 * @module
 */

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { outsideTask } from "./_task_check.ts";

/**
 * A counting semaphore for tasks (curio's `Semaphore`): `acquire()` takes a
 * permit, waiting while there is none; `release()` gives one back.
 *
 * - Waiters are served in FIFO order with direct hand-off: `release()`
 *   passes the permit straight to the first waiter (the count stays 0), so
 *   nobody barges in.
 * - Taking an available permit completes at once and is not a cancellation
 *   point; otherwise the task waits in state `SEMA_ACQUIRE`.
 * - A waiter cancelled (or timed out) leaves no trace. One that was already
 *   handed a permit owns it: the cancel is raised at its next blocking
 *   operation (release in `finally`).
 * - `acquire()` resolves to the semaphore itself, which is async-disposable:
 *   `await using _ = await sema.acquire();`.
 *
 * @example Usage
 * ```ts
 * import { MockClock, run, Semaphore, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * let running = 0;
 * let most = 0;
 * await run(async () => {
 *   const sema = new Semaphore(2); // two at a time
 *   for (let n = 0; n < 6; n++) {
 *     await spawn(async () => {
 *       await using _ = await sema.acquire();
 *       most = Math.max(most, ++running);
 *       await sleep(1);
 *       running--;
 *     });
 *   }
 * }, { clock: new MockClock({ autojump: 0 }) });
 * assert.equal(most, 2);
 * ```
 */
export class Semaphore {
  #value: number;
  #waiting = new KernelQueue();

  /**
   * Creates a semaphore holding `value` permits.
   *
   * @param value The initial count (default 1).
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   */
  constructor(value = 1) {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot create semaphore: expected value as a number, received ${typeof value}`,
      );
    }
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot create semaphore: value must be an integer >= 0, received ${value}`,
      );
    }
    this.#value = value;
  }

  /**
   * How many permits are available now.
   *
   * @example Usage
   * ```ts
   * import { run, Semaphore } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sema = new Semaphore(3);
   *   await sema.acquire();
   *   assert.equal(sema.value, 2);
   * });
   * ```
   */
  get value(): number {
    return this.#value;
  }

  /**
   * Takes a permit, waiting (state `SEMA_ACQUIRE`) behind earlier waiters if
   * none is available.
   *
   * @returns The semaphore itself, for `await using _ = await sema.acquire()`.
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { run, Semaphore, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sema = new Semaphore(1);
   *   await sema.acquire();
   *   const waiter = await spawn(() => sema.acquire());
   *   assert.equal(waiter.state, "SEMA_ACQUIRE");
   *   await sema.release();
   *   assert.equal(await waiter.join(), sema);
   * });
   * ```
   */
  acquire(): Promise<this> {
    if (this.#value === 0) return this.#wait();
    const refused = outsideTask("acquire a semaphore");
    if (refused !== undefined) return refused;
    this.#value--;
    return Promise.resolve(this);
  }

  #wait(): Promise<this> {
    // release() wakes the first waiter with the semaphore: being woken means holding a permit.
    return _waitOnQueue(this.#waiting, "SEMA_ACQUIRE") as Promise<this>;
  }

  /**
   * Gives a permit back, handing it straight to the first waiting task if
   * there is one. Never blocks; works from plain callbacks too.
   *
   * @example Usage
   * ```ts
   * import { run, Semaphore } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sema = new Semaphore(0);
   *   await sema.release();
   *   assert.equal(sema.value, 1);
   * });
   * ```
   */
  release(): Promise<void> {
    const waiting = this.#waiting;
    if (waiting.length > 0) void _rescheduleTasks(waiting, 1, this);
    else this.#value++;
    return Promise.resolve();
  }

  /**
   * Whether a task calling `acquire()` now would have to wait.
   *
   * @returns `true` if no permit is available.
   *
   * @example Usage
   * ```ts
   * import { Semaphore } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Semaphore(0).locked(), true);
   * assert.equal(new Semaphore(1).locked(), false);
   * ```
   */
  locked(): boolean {
    return this.#value === 0;
  }

  /**
   * Releases a permit: what `await using _ = await sema.acquire()` calls at
   * the end of the block.
   *
   * @example Usage
   * ```ts
   * import { run, Semaphore } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sema = new Semaphore(1);
   *   {
   *     await using _ = await sema.acquire();
   *     assert.equal(sema.value, 0);
   *   }
   *   assert.equal(sema.value, 1);
   * });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * A {@linkcode Semaphore} whose count may never exceed its initial value:
 * a `release()` without a matching `acquire()` is a bug, and throws.
 *
 * @example Usage
 * ```ts
 * import { BoundedSemaphore, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const sema = new BoundedSemaphore(1);
 *   await sema.acquire();
 *   await sema.release();
 *   await assert.rejects(sema.release(), /exceed its initial value/);
 *   assert.equal(sema.value, 1);
 * });
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  #bound: number;

  /**
   * Creates a bounded semaphore holding `value` permits, at most.
   *
   * @param value The initial and largest count (default 1).
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   */
  constructor(value = 1) {
    super(value);
    this.#bound = value;
  }

  /**
   * Gives a permit back, like {@linkcode Semaphore.prototype.release}.
   *
   * @throws {Error} If the count would exceed the initial value (the count
   * is left unchanged).
   *
   * @example Usage
   * ```ts
   * import { BoundedSemaphore } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const sema = new BoundedSemaphore(2);
   * await assert.rejects(sema.release(), Error);
   * assert.equal(sema.value, 2);
   * ```
   */
  override release(): Promise<void> {
    if (this.value >= this.#bound) {
      return Promise.reject(
        new Error(
          `Cannot release semaphore: its count would exceed its initial value ${this.#bound}; release only what was acquired`,
        ),
      );
    }
    return super.release();
  }
}
