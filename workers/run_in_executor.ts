/**
 * Running functions in a user-supplied executor: curio's `run_in_executor`.
 *
 * @module
 */

import { _futureWait } from "../kernel/traps.ts";
import { describe } from "./_wire.ts";

/**
 * Anything that runs work and returns a promise-like for its result (the
 * counterpart of a `concurrent.futures` executor). If the returned object
 * has a `cancel()` method, a cancelled call calls it.
 */
export interface Executor {
  /**
   * Starts `fn(...args)`.
   *
   * @param fn The function.
   * @param args Its arguments.
   * @returns A promise-like for its result.
   */
  // deno-lint-ignore no-explicit-any
  submit(fn: any, ...args: any[]): PromiseLike<any>;
}

/**
 * Runs `fn(...args)` through `executor.submit(fn, ...args)` and waits
 * (state `FUTURE_WAIT`) for the promise-like it returns, without blocking
 * the kernel. Cancelling the task abandons the wait and calls the
 * returned object's `cancel()` if it has one. Prefer {@linkcode runInThread}
 * and {@linkcode runInProcess}: they really stop cancelled work.
 *
 * @typeParam T What the work resolves to.
 * @param executor An object with `submit(fn, ...args)`.
 * @param fn The work, in whatever form the executor accepts.
 * @param args Its arguments.
 * @returns The work's result.
 * @throws {TypeError} If `executor` has no `submit` method, or `submit` returns no promise-like.
 * @throws {CancelledError} If the task is cancelled or times out.
 * @throws {CurioError} Outside a task.
 * @throws Whatever the submitted work rejects with.
 *
 * @example Usage
 * ```ts
 * import { run, runInExecutor } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const inline = {
 *   submit: <A extends unknown[], R>(fn: (...a: A) => R, ...args: A) =>
 *     Promise.resolve().then(() => fn(...args)),
 * };
 * const n = await run(() => runInExecutor(inline, (a: number, b: number) => a * b, 6, 7));
 * assert.equal(n, 42);
 * ```
 */
export async function runInExecutor<T>(
  executor: Executor,
  // deno-lint-ignore no-explicit-any
  fn: any,
  ...args: unknown[]
): Promise<T> {
  if (typeof (executor as Partial<Executor> | null)?.submit !== "function") {
    throw new TypeError(
      `Cannot run in executor: expected an object with a submit(fn, ...args) method, received ${
        describe(executor)
      }`,
    );
  }
  const future = executor.submit(fn, ...args) as PromiseLike<T> & { cancel?: () => unknown };
  if (typeof future?.then !== "function") {
    throw new TypeError(
      `Cannot run in executor: submit() must return a promise-like, it returned ${
        describe(future)
      }`,
    );
  }
  try {
    return await _futureWait(future, "FUTURE_WAIT");
  } catch (error) {
    if (typeof future.cancel === "function") {
      try {
        future.cancel();
      } catch {
        // the executor's cancel is best effort
      }
    }
    throw error;
  }
}
