/**
 * An event flag tasks can wait on.
 *
 * @module
 */

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { outsideTask } from "./_task_check.ts";

/**
 * An event (curio's `Event`): a flag that tasks wait on until it is set.
 *
 * - `wait()` on a set event completes at once (not a cancellation point);
 *   otherwise the task waits in state `EVENT_WAIT`.
 * - `set()` wakes every waiting task; it never blocks and works from plain
 *   callbacks too. The event stays set until `clear()`.
 * - A waiter cancelled (or timed out) leaves no trace.
 *
 * @example Usage
 * ```ts
 * import { Event, run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const trace: string[] = [];
 * await run(async () => {
 *   const evt = new Event();
 *   for (const name of ["a", "b", "c"]) {
 *     await spawn(async () => {
 *       await evt.wait();
 *       trace.push(name);
 *     });
 *   }
 *   await sleep(0);
 *   assert.deepEqual(trace, []);
 *   await evt.set();
 * });
 * assert.deepEqual(trace, ["a", "b", "c"]);
 * ```
 */
export class Event {
  #set = false;
  #waiting = new KernelQueue();

  /**
   * Whether the event is set.
   *
   * @returns `true` between `set()` and `clear()`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const evt = new Event();
   * assert.equal(evt.isSet(), false);
   * await evt.set();
   * assert.equal(evt.isSet(), true);
   * ```
   */
  isSet(): boolean {
    return this.#set;
  }

  /**
   * Clears the event, so that `wait()` blocks again.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const evt = new Event();
   * await evt.set();
   * evt.clear();
   * assert.equal(evt.isSet(), false);
   * ```
   */
  clear(): void {
    this.#set = false;
  }

  /**
   * Waits (state `EVENT_WAIT`) until the event is set; returns at once if it
   * already is.
   *
   * @throws {CurioError} If called outside a task.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   *
   * @example Usage
   * ```ts
   * import { Event, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const evt = new Event();
   *   const waiter = await spawn(() => evt.wait());
   *   assert.equal(waiter.state, "EVENT_WAIT");
   *   await evt.set();
   *   await waiter.join();
   * });
   * ```
   */
  wait(): Promise<void> {
    if (!this.#set) return _waitOnQueue(this.#waiting, "EVENT_WAIT") as Promise<void>;
    // Set when called: return, even if someone clears it before we resolve.
    return outsideTask("wait for an event") ?? Promise.resolve();
  }

  /**
   * Sets the event and wakes every waiting task. Never blocks.
   *
   * @example Usage
   * ```ts
   * import { Event, run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const evt = new Event();
   *   const waiters = [await spawn(() => evt.wait()), await spawn(() => evt.wait())];
   *   await evt.set();
   *   for (const w of waiters) await w.join();
   *   assert.equal(evt.isSet(), true);
   * });
   * ```
   */
  set(): Promise<void> {
    this.#set = true;
    const waiting = this.#waiting;
    if (waiting.length > 0) void _rescheduleTasks(waiting, waiting.length);
    return Promise.resolve();
  }
}
