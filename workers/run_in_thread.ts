/**
 * Running functions in Web Workers: curio's `run_in_thread`.
 *
 * @module
 */

import { _getKernel, _waitOnQueue } from "../kernel/traps.ts";
import { Failure, threadPool } from "./_thread_pool.ts";
import { cloneFailure, replyValue, resourceError } from "./_calls.ts";
import { decodeError, jobOf } from "./_wire.ts";
import { encodeShared, isShared } from "./_shared_wire.ts";
import type { WorkerFunction } from "./worker_function.ts";

/**
 * Runs `fn(...args)` in a Web Worker from the kernel's thread pool and
 * returns its result; the calling task waits (state `THREAD_WAIT`) without
 * blocking the kernel. Use it for CPU-heavy or blocking work.
 *
 * - `fn` is either a **self-contained** function, sent as source and
 *   compiled in the worker (it cannot see variables of the enclosing scope:
 *   pass them as arguments), or {@linkcode workerFunction}`(module, name)`,
 *   which the worker imports, imports and all.
 * - Arguments and results are structured-cloned. Top-level
 *   {@linkcode SharedLock} and {@linkcode SharedQueue} arguments arrive as
 *   working objects over the same shared memory.
 * - An error thrown by `fn` rejects the call with an error of the same name
 *   and message, whose stack shows where in the worker it was thrown,
 *   followed by the calling task's stack.
 * - **Cancellation terminates the worker**: a cancelled call (or one that
 *   times out) terminates its worker at once, and the pool starts a fresh
 *   one for the next call. Deno's `Worker.terminate()` takes effect when
 *   the worker gets back to its event loop: an async function is stopped at
 *   its next `await`, but a synchronous computation cannot be interrupted
 *   and runs on to its end as a "zombie" (like curio's threads), its result
 *   discarded; until it ends it also keeps the program from exiting. For
 *   CPU-bound work that must be killable at any instant use
 *   {@linkcode runInProcess}.
 * - A worker that ends itself during a call (`Deno.exit()`, `process.exit()`,
 *   `self.close()`, an error thrown from a timer, an unhandled rejection)
 *   rejects that call at once with an error naming what happened, and the
 *   pool replaces it; one that ends itself while idle is replaced too.
 * - At most `workerLimits.maxThreads` workers (default 64) run per kernel;
 *   further calls wait in state `THREAD_ACQUIRE`. Workers are created
 *   lazily, reused, and terminated when the kernel shuts down.
 * - Workers have the permissions of the main program. Loading a
 *   `workerFunction` module from a local file needs `--allow-read`.
 *
 * @typeParam T What `fn` returns (or its promise resolves to).
 * @param fn A self-contained function, or a {@linkcode WorkerFunction}.
 * @param args Its arguments (structured-cloneable).
 * @returns `fn`'s result.
 * @throws {TypeError} If `fn` is neither a function with source nor a WorkerFunction.
 * @throws {DOMException} `DataCloneError` naming the argument that cannot be cloned (nothing is sent).
 * @throws {ReferenceError} If `fn` uses a variable it does not define (it is not self-contained).
 * @throws {CancelledError} If the task is cancelled or times out (the worker is terminated).
 * @throws {Error} If the worker ends itself or crashes before replying (`the worker called Deno.exit(7) before replying`).
 * @throws {CurioError} Outside a task.
 * @throws The error `fn` threw, rebuilt with the same name and message.
 *
 * @example Usage
 * ```ts
 * import { run, runInThread } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * function fib(n: number): number {
 *   return n < 2 ? n : fib(n - 1) + fib(n - 2);
 * }
 *
 * const result = await run(() => runInThread(fib, 20));
 * assert.equal(result, 6765);
 * ```
 */
export async function runInThread<T>(
  // deno-lint-ignore no-explicit-any
  fn: ((...args: any[]) => T | Promise<T>) | WorkerFunction<T>,
  ...args: unknown[]
): Promise<T> {
  const job = jobOf(fn, "a worker thread");
  let sent = args;
  let tokens = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== "object" || arg === null) continue;
    if (isShared(arg)) {
      if (!tokens) sent = encodeShared(args);
      tokens = true;
      continue;
    }
    const error = resourceError(arg, i, "a worker thread");
    if (error !== undefined) throw error;
  }
  const pool = threadPool(await _getKernel());
  const worker = pool.tryAcquire() ?? await pool.acquire();
  try {
    worker.start(job, sent, tokens);
  } catch (error) {
    pool.release(worker);
    throw cloneFailure(error, args, "send", "a worker thread");
  }
  // The reply wakes this task from the worker's message handler (see _thread_pool.ts).
  let value: unknown;
  try {
    value = await _waitOnQueue(worker.waiting, "THREAD_WAIT");
  } catch (error) {
    // Cancelled (or timed out) while the worker still runs the call: stop it.
    if (worker.busy) pool.discard(worker);
    else pool.release(worker);
    throw error;
  }
  pool.release(worker);
  if (!(value instanceof Failure)) return value as T;
  throw replyValue(value.reply, "runInThread", "a worker thread", decodeError);
}
