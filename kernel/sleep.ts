import { armSleep, checkSeconds, currentCore, suspend, type Trap } from "./_task_core.ts";

/**
 * Suspends the calling task for `seconds` on the kernel clock. `sleep(0)`
 * just lets every other ready task run first. Always a cancellation point.
 *
 * @param seconds How long to sleep (floats allowed).
 * @throws {TypeError} If `seconds` is not a number.
 * @throws {RangeError} If `seconds` is negative, NaN or infinite.
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { clock, MockClock, run, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const start = await clock();
 *   await sleep(1.5);
 *   assert.equal((await clock()) - start, 1.5);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function sleep(seconds: number): Promise<void> {
  // Not an async function: a sleeping task should hold one promise, not two.
  try {
    checkSeconds(seconds, "sleep");
    const task = currentCore("sleep");
    if (seconds === 0) return suspend(task, "READY", wakeNow, undefined);
    return suspend(task, "TIME_SLEEP", armSleep, seconds);
  } catch (error) {
    return Promise.reject(error);
  }
}

// sleep(0) goes to the back of the ready queue: every task that is ready now
// runs first.
function wakeNow(trap: Trap<void>): void {
  trap.wake();
}
