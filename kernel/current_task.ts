import { currentCore } from "./_task_core.ts";
import { taskOf } from "./_task_of.ts";
import type { Task } from "./task.ts";

/**
 * Returns the calling task's own {@linkcode Task}.
 *
 * @returns The running task.
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { currentTask, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async function main() {
 *   const me = await currentTask();
 *   assert.equal(me.name, "main");
 *   assert.equal(me.state, "RUNNING");
 * });
 * ```
 */
export async function currentTask(): Promise<Task> {
  return taskOf(currentCore("get the current task"));
}

/**
 * Returns the kernel clock's current time in seconds (the clock that
 * `sleep` and the timeouts use).
 *
 * @returns Seconds on the kernel clock.
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { clock, MockClock, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await clock(), 0);
 * }, { clock: new MockClock() });
 * ```
 */
export async function clock(): Promise<number> {
  return currentCore("read the kernel clock").sched.clock.now();
}
