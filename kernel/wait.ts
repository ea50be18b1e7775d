/**
 * Foreign promises as kernel operations: `wait()` and `currentSignal()`.
 *
 * A task that awaits a plain promise (`fetch()`, a database driver, a
 * `setTimeout` promise) is out of the kernel's reach while it waits: a
 * cancel or an expired timeout can only land at its next blocking
 * operation. Two ways bring such a wait back in reach:
 *
 * - `await wait(p)` makes the wait a kernel blocking operation (state
 *   `FUTURE_WAIT`): ordered like every other wake-up, raised at once by a
 *   cancel or a timeout. `wait((signal) => fetch(url, { signal }))` also
 *   hands the function a signal that aborts then, so the work itself stops.
 * - `currentSignal()` is that signal, for code that passes it on itself:
 *   `fetch(url, { signal: currentSignal() })` inside `timeoutAfter()`
 *   rejects with the block's `TaskTimeout` when time runs out.
 *
 * @module
 */

import { currentCore, suspendOn } from "./_task_core.ts";

/**
 * Waits for a promise the kernel does not know, as a kernel blocking
 * operation (state `FUTURE_WAIT`): a cancel or an expired timeout raises at
 * once, and the abandoned promise's later rejection is swallowed (never an
 * unhandled rejection). Given a function, `wait` calls it with
 * {@linkcode currentSignal}, which aborts on that cancel or timeout, so the
 * work itself stops too.
 *
 * @typeParam T What the promise resolves to.
 * @param p A promise (or thenable), or a function that takes an AbortSignal
 * and returns one: `(signal) => fetch(url, { signal })`.
 * @returns The promise's value.
 * @throws The promise's rejection, or the cancellation or timeout.
 * @throws {TypeError} If `p` is neither a promise nor a function.
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { MockClock, run, TaskTimeout, timeoutAfter, wait } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * function slowAnswer(signal: AbortSignal): Promise<number> {
 *   return new Promise((resolve, reject) => {
 *     const timer = setTimeout(() => resolve(42), 60_000);
 *     signal.addEventListener("abort", () => {
 *       clearTimeout(timer);
 *       reject(signal.reason);
 *     });
 *   });
 * }
 *
 * await run(async () => {
 *   assert.equal(await wait(Promise.resolve("ready")), "ready");
 *   // The timeout reaches the foreign promise, and its timer is cleared.
 *   await assert.rejects(timeoutAfter(1, () => wait(slowAnswer)), TaskTimeout);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function wait<T>(
  p: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
): Promise<T> {
  // Not async: one promise per wait is enough.
  try {
    const core = currentCore("wait for a promise");
    let promise: unknown = p;
    if (typeof p === "function") promise = p(core.currentSignal());
    if (promise === null || typeof (promise as { then?: unknown })?.then !== "function") {
      throw new TypeError(
        `Cannot wait: expected a promise or a function returning one, such as (signal) => fetch(url, { signal }), received ${
          promise === null ? "null" : typeof promise
        }`,
      );
    }
    return suspendOn(core, "FUTURE_WAIT", promise as PromiseLike<T>);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The running task's AbortSignal for foreign promises: aborted when the task
 * is cancelled, or when the innermost enclosing timeout block (or one around
 * it) expires. Its `reason` is that `CancelledError` or `TaskTimeout`
 * itself, so `fetch(url, { signal: currentSignal() })` inside
 * `timeoutAfter()` rejects with the curio error and the block handles it as
 * usual. After a timeout block is left, code gets the enclosing block's
 * signal (not aborted by the inner block's expiry). Synchronous; signals are
 * created only when asked for.
 *
 * @returns The signal for the code running now.
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { currentSignal, MockClock, run, sleep, TaskTimeout, timeoutAfter } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const outer = currentSignal();
 *   let inner: AbortSignal | undefined;
 *   await assert.rejects(
 *     timeoutAfter(1, async () => {
 *       inner = currentSignal();
 *       await sleep(5);
 *     }),
 *     TaskTimeout,
 *   );
 *   assert.equal(inner!.aborted, true);
 *   assert(inner!.reason instanceof TaskTimeout);
 *   assert.equal(outer.aborted, false);
 *   assert.equal(currentSignal(), outer);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function currentSignal(): AbortSignal {
  return currentCore("get the current signal").currentSignal();
}
