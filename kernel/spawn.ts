import { checkTaskFunction, currentCore } from "./_task_core.ts";
import { nameFrom, type NameSource } from "./_task_name.ts";
import { taskOf } from "./_task_of.ts";
import type { Task } from "./task.ts";

/** Options for {@linkcode spawn}. */
export interface SpawnOptions {
  /** A daemon runs in the background: the kernel does not wait for it. */
  daemon?: boolean;
  /**
   * A name for debugging (`Task.name`, the monitor). By default the
   * function's name, or for an arrow such as `() => countdown(10)` the first
   * call in its body (`countdown`), else `"task"`; worked out only when read.
   */
  name?: string;
}

/**
 * Starts `fn` as a new task and returns its {@linkcode Task}. The new task
 * runs up to its first blocking operation before `spawn` returns.
 *
 * Give the task as a function, not as an already-started promise:
 * `spawn(() => child(x))`.
 *
 * @typeParam T What `fn` resolves to.
 * @param fn The async function the task runs.
 * @param options `daemon`, `name`.
 * @returns The new task.
 * @throws {TypeError} If `fn` is not a function (a Promise, say).
 * @throws {CurioError} If called outside a task.
 *
 * @example Usage
 * ```ts
 * import { run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * async function countdown(n: number): Promise<number> {
 *   while (n > 0) {
 *     await sleep(0);
 *     n--;
 *   }
 *   return n;
 * }
 *
 * await run(async () => {
 *   const task = await spawn(() => countdown(3));
 *   assert.equal(await task.join(), 0);
 * });
 * ```
 */
export function spawn<T>(
  fn: () => Promise<T> | T,
  options?: SpawnOptions,
): Promise<Task<T>> {
  // Not an async function: spawning is on the hot path, and one promise is enough.
  try {
    checkTaskFunction(fn, "spawn task", "() => child(x)");
    const parent = currentCore("spawn a task");
    return parent.sched.spawnFrom(
      parent,
      fn,
      options?.name,
      options?.daemon ?? false,
      taskOf<T>,
      (options as { [nameFrom]?: NameSource } | undefined)?.[nameFrom],
    );
  } catch (error) {
    return Promise.reject(error);
  }
}
