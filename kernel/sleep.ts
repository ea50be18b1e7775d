import { armSleep, checkSeconds, currentCore, suspend } from "./_core.ts";

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
export async function sleep(seconds: number): Promise<void> {
  checkSeconds(seconds, "sleep");
  const task = currentCore("sleep");
  if (seconds === 0) {
    return await suspend<void>(task, "READY", (trap) => trap.wake());
  }
  return await suspend<void>(task, "TIME_SLEEP", (trap) => armSleep(trap, seconds));
}
