/**
 * Running functions in warm `deno` child processes: curio's `run_in_process`.
 *
 * @module
 */

import { serialize } from "node:v8";
import { processPool } from "./_process_pool.ts";
import { cloneFailure, replyValue, resourceError } from "./_calls.ts";
import { decodeError, describe, jobOf } from "./_wire.ts";
import { isShared } from "./_shared_wire.ts";
import type { WorkerFunction } from "./worker_function.ts";

/**
 * Runs `fn(...args)` in a child `deno` process from the kernel's process
 * pool and returns its result; the calling task waits (state
 * `PROCESS_WAIT`) without blocking the kernel. Use it for work that must be
 * isolated in its own process (its own heap, its own crash).
 *
 * - `fn` is a **self-contained** function (sent as source) or
 *   {@linkcode workerFunction}`(module, name)` (imported by the child).
 * - Arguments and results cross a pipe in V8's structured-clone format
 *   (`node:v8` serialize): everything `structuredClone` supports (Maps,
 *   Sets, Dates, RegExps, BigInts, typed arrays, cycles, errors) except
 *   shared memory (`SharedArrayBuffer`, {@linkcode SharedLock},
 *   {@linkcode SharedQueue}), which a process cannot share.
 * - Children are `Deno.execPath()` processes, started lazily (about 40 ms
 *   each), kept warm and reused; at most `workerLimits.maxProcesses`
 *   (default: CPU count) per kernel; further calls wait in state
 *   `PROCESS_ACQUIRE`. They stop when the kernel shuts down.
 * - **Permissions**: the parent needs `--allow-run`. A child gets every
 *   permission the parent holds in full (`--allow-read`, `--allow-net`, ...;
 *   `--allow-all` if all); grants limited to paths or hosts are not passed
 *   on. Children never prompt. They run in the same working directory, so
 *   they find the same `deno.json`.
 * - The child's `console.log` output goes to stderr (stdout carries the
 *   protocol). A child that exits, is killed, or writes anything else to
 *   stdout fails the call with a clear error; the pool replaces it.
 * - An error thrown by `fn` rejects the call with an error of the same name
 *   and message. A cancelled call (or one that times out) sends SIGTERM to
 *   its process, and SIGKILL one second later if it is still alive.
 *
 * @typeParam T What `fn` returns (or its promise resolves to).
 * @param fn A self-contained function, or a {@linkcode WorkerFunction}.
 * @param args Its arguments (structured-cloneable, no shared memory).
 * @returns `fn`'s result.
 * @throws {TypeError} If `fn` is not a function with source or a WorkerFunction, or an argument is shared memory.
 * @throws {DOMException} `DataCloneError` naming the argument that cannot be cloned (nothing is sent).
 * @throws {CancelledError} If the task is cancelled or times out (the process is terminated).
 * @throws {CurioError} Outside a task.
 * @throws {Deno.errors.NotCapable} Without `--allow-run`.
 * @throws The error `fn` threw, rebuilt with the same name and message.
 *
 * @example Usage
 * ```ts
 * import { run, runInProcess } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const pid = await run(() => runInProcess(() => Deno.pid));
 * assert.notEqual(pid, Deno.pid);
 * ```
 */
export async function runInProcess<T>(
  // deno-lint-ignore no-explicit-any
  fn: ((...args: any[]) => T | Promise<T>) | WorkerFunction<T>,
  ...args: unknown[]
): Promise<T> {
  const job = jobOf(fn, "a worker process");
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (isShared(arg) || arg instanceof SharedArrayBuffer) {
      throw new TypeError(
        `Cannot send argument ${i} (${
          describe(arg)
        }) to a worker process: shared memory does not cross processes; use runInThread`,
      );
    }
    const error = resourceError(arg, i, "a worker process");
    if (error !== undefined) throw error;
  }
  const pool = await processPool();
  const worker = pool.tryAcquire() ?? await pool.acquire();
  let pending;
  try {
    pending = worker.start(job, args);
  } catch (error) {
    pool.release(worker);
    throw cloneFailure(error, args, "send", "a worker process", serialize);
  }
  const reply = await pool.reply(worker, pending, "PROCESS_WAIT");
  if ("ok" in reply && reply.ok) return reply.value as T;
  throw replyValue(reply, "runInProcess", "a worker process", decodeError);
}
