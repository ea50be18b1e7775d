/**
 * The exceptions curio raises. Every one of them derives from
 * {@linkcode CurioError}, so `catch (e) { if (e instanceof CurioError) ... }`
 * catches anything the library itself signals.
 *
 * ```
 * CurioError
 * ├── CancelledError            a task was cancelled while blocked
 * │   ├── TaskTimeout           ... by the deadline of its own timeout block
 * │   └── TimeoutCancellationError  ... by the deadline of an enclosing block
 * ├── UncaughtTimeoutError      a TaskTimeout escaped from an inner block
 * ├── TaskError                 Task.join() on a task that failed (.cause)
 * └── ResourceBusy              two tasks wait on the same socket direction
 * ```
 *
 * @module
 */

/**
 * Base class of every error curio raises.
 *
 * @example Usage
 * ```ts
 * import { CurioError, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * // sleep() outside of a task has no kernel to block in.
 * await assert.rejects(sleep(1), CurioError);
 * ```
 */
export class CurioError extends Error {
  /**
   * Creates a curio error.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Raised inside a task, at the kernel operation it is blocked on, when the
 * task is cancelled. Catch it to clean up; rethrow it (or let it escape) to
 * finish cancelling.
 *
 * @example Usage
 * ```ts
 * import { CancelledError, run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const child = await spawn(async () => {
 *     try {
 *       await sleep(60);
 *     } catch (e) {
 *       assert(e instanceof CancelledError);
 *       throw e;
 *     }
 *   });
 *   assert.equal(await child.cancel(), true);
 * });
 * ```
 */
export class CancelledError extends CurioError {}

/**
 * Raised in a task whose {@linkcode timeoutAfter} block ran out of time.
 *
 * @example Usage
 * ```ts
 * import { MockClock, run, sleep, TaskTimeout, timeoutAfter } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await assert.rejects(timeoutAfter(1, () => sleep(10)), TaskTimeout);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export class TaskTimeout extends CancelledError {}

/**
 * Raised in an inner timeout block when an *enclosing* block's deadline
 * expired. The enclosing block turns it into its own {@linkcode TaskTimeout}.
 *
 * @example Usage
 * ```ts
 * import {
 *   MockClock, run, sleep, TaskTimeout, timeoutAfter, TimeoutCancellationError,
 * } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   let inner: unknown;
 *   await assert.rejects(
 *     timeoutAfter(1, async () => {
 *       try {
 *         await timeoutAfter(5, () => sleep(10));
 *       } catch (e) {
 *         inner = e;
 *         throw e;
 *       }
 *     }),
 *     TaskTimeout,
 *   );
 *   assert(inner instanceof TimeoutCancellationError);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export class TimeoutCancellationError extends CancelledError {}

/**
 * Raised when a {@linkcode TaskTimeout} from an inner timeout block escapes
 * into an outer block whose own deadline has not expired: the inner timeout
 * went unhandled.
 *
 * @example Usage
 * ```ts
 * import {
 *   MockClock, run, sleep, timeoutAfter, UncaughtTimeoutError,
 * } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await assert.rejects(
 *     timeoutAfter(10, () => timeoutAfter(1, () => sleep(5))),
 *     UncaughtTimeoutError,
 *   );
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export class UncaughtTimeoutError extends CurioError {}

/**
 * Raised by `Task.join()` when the task failed. `.cause` is the task's own
 * error (a {@linkcode CancelledError} when the task was cancelled).
 *
 * @example Usage
 * ```ts
 * import { run, spawn, TaskError } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const t = await spawn(async () => {
 *     throw new RangeError("boom");
 *   });
 *   const err = await t.join().catch((e) => e);
 *   assert(err instanceof TaskError);
 *   assert(err.cause instanceof RangeError);
 * }, { logErrors: false });
 * ```
 */
export class TaskError extends CurioError {}

/**
 * Raised when a task tries to wait on a socket or stream direction (read or
 * write) that another task is already waiting on.
 *
 * @example Usage
 * ```ts
 * import { ResourceBusy } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const err = new ResourceBusy("Cannot read: another task is already reading");
 * assert.equal(err.name, "ResourceBusy");
 * ```
 */
export class ResourceBusy extends CurioError {}
