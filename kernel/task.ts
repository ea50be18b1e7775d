/**
 * Tasks: the unit of concurrency. A task runs one async function; it can be
 * joined, waited for and cancelled, and exposes curio's attributes for
 * debugging (`state`, `cycles`, ...).
 *
 * @module
 */

import { currentCore, type TaskCore } from "./_task_core.ts";
import { CancelledError, TaskError } from "./errors.ts";
import { noteCollected } from "./_task_collect.ts";

/** `task.#collect()`, as a join's last step (set in Task's static block). */
let collect: (task: unknown) => unknown;

/**
 * A running (or finished) task, as returned by {@linkcode spawn} and
 * {@linkcode currentTask}. Tasks are not constructed directly.
 *
 * @typeParam T What the task's function resolves to.
 *
 * @example Usage
 * ```ts
 * import { run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const t = await spawn(async () => {
 *     await sleep(0);
 *     return 42;
 *   }, { name: "answer" });
 *   assert.equal(t.name, "answer");
 *   assert.equal(await t.join(), 42);
 *   assert.equal(t.terminated, true);
 * });
 * ```
 */
export class Task<T = unknown> {
  #core: TaskCore;

  /**
   * Wraps the kernel's record of a task.
   *
   * @ignore Tasks are created by spawn() and run(), never by users.
   */
  constructor(core: TaskCore) {
    this.#core = core;
    core.facade = this;
  }

  /** Unique, increasing task id. */
  get id(): number {
    return this.#core.id;
  }

  /**
   * The id of the task that spawned this one; `undefined` for the main task
   * (and tasks the kernel starts itself, such as the monitor's).
   */
  get parentId(): number | undefined {
    return this.#core.parentId;
  }

  /** The task's name: the `name` option, or the function's name. */
  get name(): string {
    return this.#core.name;
  }

  /** The function the task runs. */
  get coro(): () => Promise<T> {
    return this.#core.fn as () => Promise<T>;
  }

  /** Whether the task is a daemon (the kernel does not wait for it). */
  get daemon(): boolean {
    return this.#core.daemon;
  }

  /**
   * `"READY"`, `"RUNNING"`, `"TERMINATED"`, or the name of the wait the task
   * is blocked in (`"TIME_SLEEP"`, `"TASK_JOIN"`, `"LOCK_ACQUIRE"`, ...).
   */
  get state(): string {
    return this.#core.state;
  }

  /** How many times the kernel has resumed the task. */
  get cycles(): number {
    return this.#core.cycles;
  }

  /** The error that ended the task, or `undefined`. */
  get exception(): unknown {
    return this.#core.exception;
  }

  /** What the task's function returned, once it has. */
  get result(): T | undefined {
    return this.#core.result as T | undefined;
  }

  /** Whether the task has been cancelled. */
  get cancelled(): boolean {
    return this.#core.cancelled;
  }

  /** Whether the task has run to completion (by returning, failing or cancelling). */
  get terminated(): boolean {
    return this.#core.terminated;
  }

  /**
   * Aborted when the task is cancelled: pass it to foreign APIs
   * (`fetch(url, { signal })`, `Deno.Command`) so they stop too.
   */
  get signal(): AbortSignal {
    return this.#core.signal;
  }

  /**
   * Waits for the task to terminate and returns its result. A
   * `TaskGroup` member collected this way leaves its group: its
   * failure is the caller's to handle, and the group does not act on it.
   *
   * @returns What the task's function returned.
   * @throws {TaskError} If the task failed; `.cause` is its error (a
   * {@linkcode CancelledError} if it was cancelled).
   *
   * @example Usage
   * ```ts
   * import { run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const t = await spawn(async () => "done");
   *   assert.equal(await t.join(), "done");
   * });
   * ```
   */
  join(): Promise<T> {
    // Not an async function: joining is on the hot path (one frame less).
    try {
      const me = currentCore("join a task");
      // The outcome is collected at once if the task has ended, else as the
      // joiner resumes (the wait's last step): no closure or extra promise.
      return this.#core.waitFor(me, collect, this) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  static {
    collect = (task) => (task as Task).#collect();
  }

  /** The outcome of the terminated task, for join(): its result, or its error as a TaskError. */
  #collect(): T {
    const core = this.#core;
    noteCollected(this);
    if (core.failed) {
      const cause = core.exception;
      const what = cause instanceof CancelledError ? "was cancelled" : "failed";
      throw new TaskError(`Task ${core.id} (${core.name}) ${what}`, { cause });
    }
    return core.result as T;
  }

  /**
   * Waits for the task to terminate, without raising its error. Like
   * `join()`, this collects a `TaskGroup` member: it leaves its group.
   *
   * @example Usage
   * ```ts
   * import { run, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const t = await spawn(async () => {
   *     throw new Error("ignored by wait()");
   *   });
   *   await t.wait();
   *   assert.equal(t.terminated, true);
   * }, { logErrors: false });
   * ```
   */
  async wait(): Promise<void> {
    await this.#core.waitFor(currentCore("wait for a task"));
    noteCollected(this);
  }

  /**
   * Cancels the task: a {@linkcode CancelledError} is raised where it is
   * blocked (or at its next blocking operation), and this call returns only
   * once the task has terminated. A second `cancel()` does not interrupt the
   * task's cleanup; it just waits too. A task may cancel itself.
   *
   * @returns `true` if this call cancelled the task, `false` if the task had
   * already finished or was already being cancelled.
   *
   * @example Usage
   * ```ts
   * import { run, sleep, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const t = await spawn(() => sleep(1000));
   *   assert.equal(await t.cancel(), true);
   *   assert.equal(t.cancelled, true);
   *   assert.equal(await t.cancel(), false);
   * });
   * ```
   */
  async cancel(): Promise<boolean> {
    const core = this.#core;
    const me = currentCore("cancel a task");
    const first = !core.cancelled && !core.terminated;
    core.sched.requestCancel(core);
    if (me === core) {
      // Self-cancel: the CancelledError is raised right here.
      const pending = core.pending;
      core.pending = undefined;
      throw pending ?? new CancelledError(`Task ${core.id} (${core.name}) cancelled itself`);
    }
    await core.waitFor(me);
    return first;
  }

  /** A short description such as `Task(3, "worker", TIME_SLEEP)`. */
  toString(): string {
    return `Task(${this.id}, ${JSON.stringify(this.name)}, ${this.state})`;
  }
}
