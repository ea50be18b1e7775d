/**
 * `abide`: making curio abide by the rules of threads, locks and functions
 * that were not written for it.
 *
 * @module
 */

import { abideTwins } from "./_abide_registry.ts";
import { describe } from "./_wire.ts";
import { runInThread } from "./run_in_thread.ts";
import type { AsyncSharedLock, SharedLock } from "./shared.ts";

/** An async lock or context that `abide` returns as is. */
export type AsyncLockLike =
  | { acquire(): unknown; release(): unknown }
  | { [Symbol.asyncDispose](): PromiseLike<void> };

const AsyncFunction = (async () => {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;

/**
 * Makes curio abide by the execution rules of `op` (the manual's
 * `abide`):
 *
 * - a {@linkcode SharedLock} → an {@linkcode AsyncSharedLock} over the same
 *   memory: `await using _ = await abide(lock).acquire();` waits without
 *   blocking the kernel, cancellably;
 * - a blocking method of a {@linkcode SharedQueue} (`q.get`, `q.put`,
 *   `q.taskDone`, `q.join`) → its non-blocking twin, awaited by the task
 *   (`await abide(q.get)`);
 * - an `async` function → called with `args` (its promise is returned);
 * - an object that already is an async lock or context (has
 *   `acquire`/`release`, or `Symbol.asyncDispose`, such as curio's own
 *   `Lock`) → returned as is, so code can take any kind of lock;
 * - any other (synchronous) function → run with {@linkcode runInThread}, so
 *   it must be self-contained. It runs to completion unless cancelled, in
 *   which case its worker is terminated.
 *
 * @param op What to abide by.
 * @param args Arguments for a function `op`.
 * @returns The adapted lock or context, or a promise of the function's result.
 * @throws {TypeError} If `op` is none of the above.
 *
 * @example Usage
 * ```ts
 * import { abide, Lock, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const lck = new Lock();
 *   assert.equal(abide(lck), lck); // curio's own lock, as is
 *   assert.equal(await abide(async (x: number) => x + 1, 1), 2);
 *   assert.equal(await abide((x: number) => x * 2, 21), 42); // in a worker thread
 * });
 * ```
 */
export function abide(op: SharedLock): AsyncSharedLock;
/**
 * Abides by an async lock or context: returns it as is.
 *
 * @typeParam L The lock's type.
 * @param op The lock or context.
 * @returns `op`.
 */
export function abide<L extends AsyncLockLike>(op: L): L;
/**
 * Abides by a function: async functions are called, blocking ones run in a
 * worker thread (SharedQueue methods use their async twin).
 *
 * @typeParam A The argument types.
 * @typeParam R The result type.
 * @param op The function.
 * @param args Its arguments.
 * @returns Its result.
 */
export function abide<A extends unknown[], R>(
  op: (...args: A) => R | Promise<R>,
  ...args: A
): Promise<Awaited<R>>;
export function abide(op: unknown, ...args: unknown[]): unknown {
  if ((typeof op === "function" || (typeof op === "object" && op !== null))) {
    const twin = abideTwins.get(op as object);
    if (twin !== undefined) return twin(...args);
  }
  if (typeof op === "function") {
    if (op instanceof AsyncFunction || op instanceof AsyncGeneratorFunction) {
      return (op as (...a: unknown[]) => unknown)(...args);
    }
    return runInThread(op as (...a: unknown[]) => unknown, ...args);
  }
  if (typeof op === "object" && op !== null) {
    const o = op as Record<PropertyKey, unknown>;
    if (
      (typeof o.acquire === "function" && typeof o.release === "function") ||
      typeof o[Symbol.asyncDispose] === "function"
    ) {
      return op;
    }
  }
  throw new TypeError(
    `Cannot abide: expected a function, an async lock or context (acquire/release or Symbol.asyncDispose), or a SharedLock, received ${
      describe(op)
    }`,
  );
}
