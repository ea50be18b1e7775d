/**
 * How many worker threads and processes a kernel may use (curio's
 * `MAX_WORKER_THREADS` / `MAX_WORKER_PROCESSES`).
 *
 * @module
 */

/**
 * The pool sizes of {@linkcode runInThread} and {@linkcode runInProcess}.
 * Each kernel has its own pools, created lazily. A new limit applies to the
 * next call; workers already running above a lowered limit finish their call
 * and are then retired.
 */
export class WorkerLimits {
  #maxThreads = 64;
  #maxProcesses = Math.max(1, navigator.hardwareConcurrency || 1);

  /**
   * The most Web Workers `runInThread` runs at once per kernel (default 64).
   *
   * @example Usage
   * ```ts
   * import { workerLimits } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert(workerLimits.maxThreads >= 1);
   * ```
   */
  get maxThreads(): number {
    return this.#maxThreads;
  }

  /**
   * Sets the most Web Workers per kernel.
   *
   * @param value A positive integer.
   * @throws {RangeError} If `value` is not a positive integer.
   */
  set maxThreads(value: number) {
    this.#maxThreads = checkLimit(value, "maxThreads");
  }

  /**
   * The most `deno` child processes `runInProcess` runs at once per kernel
   * (default: `navigator.hardwareConcurrency`).
   *
   * @example Usage
   * ```ts
   * import { workerLimits } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * assert(workerLimits.maxProcesses >= 1);
   * ```
   */
  get maxProcesses(): number {
    return this.#maxProcesses;
  }

  /**
   * Sets the most child processes per kernel.
   *
   * @param value A positive integer.
   * @throws {RangeError} If `value` is not a positive integer.
   */
  set maxProcesses(value: number) {
    this.#maxProcesses = checkLimit(value, "maxProcesses");
  }
}

function checkLimit(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot set workerLimits.${name}: expected a positive integer, received ${String(value)}`,
    );
  }
  return value;
}

/**
 * The worker pool limits, shared by every kernel in this process: set them
 * before the work starts.
 *
 * @example Usage
 * ```ts
 * import { run, runInThread, workerLimits } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const before = workerLimits.maxThreads;
 * workerLimits.maxThreads = 2;
 * try {
 *   const n = await run(() => runInThread((a: number, b: number) => a + b, 2, 3));
 *   assert.equal(n, 5);
 *   assert.throws(() => { workerLimits.maxThreads = 0; }, RangeError);
 * } finally {
 *   workerLimits.maxThreads = before;
 * }
 * ```
 */
export const workerLimits: WorkerLimits = new WorkerLimits();
