/**
 * Task groups: structured concurrency on top of `spawn`. A group's members
 * never outlive it: when `join()` (or `TaskGroup.scope`) returns or throws,
 * every member has terminated, cancelled if need be.
 *
 * Built only on public kernel pieces (spawn, Task, the KernelQueue traps),
 * as any user could build it.
 *
 * @module
 */

import { nameFrom } from "./_task_name.ts";
import { spawn, type SpawnOptions } from "./spawn.ts";
import type { Task } from "./task.ts";
import { CancelledError } from "./errors.ts";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "./traps.ts";

/**
 * When `join()` stops waiting for members (the rest are then cancelled):
 * - `"all"`: when every member has finished;
 * - `"any"`: when the first member finishes;
 * - `"object"`: when the first member returns something other than `undefined`;
 * - `"none"`: at once.
 *
 * In every mode, a member that fails (throws anything but its own
 * cancellation) makes `join()` cancel the rest and rethrow its error.
 */
export type TaskGroupWait = "all" | "any" | "object" | "none";

/** Options for {@linkcode TaskGroup}. */
export interface TaskGroupOptions {
  /** When `join()` stops waiting (default `"all"`). */
  wait?: TaskGroupWait;
}

/** Options for {@linkcode TaskGroup.prototype.spawn}. */
export interface TaskGroupSpawnOptions {
  /** A daemon member is not waited for: `join()` cancels it. */
  daemon?: boolean;
  /** A name for debugging; defaults to the function's name. */
  name?: string;
}

const WAITS: readonly string[] = ["all", "any", "object", "none"];

/** How a member's wrapper reports back to its group. */
interface MemberSlot<T> {
  task?: Task<T>;
  finished: boolean;
  failed: boolean;
  error: unknown;
}

/**
 * A group of tasks that finish together (curio's `TaskGroup`, with the
 * structured-concurrency guarantees of its later versions).
 *
 * - `join()` waits for members according to `wait` (see
 *   {@linkcode TaskGroupWait}), then cancels whatever is still running and
 *   waits for it to terminate.
 * - A member that fails cancels the rest at once (even while the owner is
 *   busy elsewhere, e.g. still in the body of a scope) and `join()` rethrows
 *   its error. A member cancelled by someone else does not fail the group.
 * - If `join()` itself is cancelled, the members are cancelled (and awaited)
 *   before the cancellation propagates.
 * - `TaskGroup.scope(body)` runs `body(group)` then joins; if the body
 *   throws, the members are cancelled and the body's error is rethrown.
 * - `await using g = new TaskGroup()` joins at the end of the block. (The
 *   block's own error is not visible to a disposer: if the block can throw
 *   while members run, prefer `TaskGroup.scope`, which cancels them.)
 * - Members that fail are still reported by the kernel like any crashed task
 *   (pass `logErrors: false` to `run` to silence that).
 *
 * @example Usage
 * ```ts
 * import { MockClock, run, sleep, TaskGroup } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   // Wait for all: results in spawn order.
 *   const results = await TaskGroup.scope(async (g) => {
 *     await g.spawn(async () => {
 *       await sleep(2);
 *       return "slow";
 *     });
 *     await g.spawn(async () => {
 *       await sleep(1);
 *       return "fast";
 *     });
 *     return g;
 *   }).then((g) => g.results);
 *   assert.deepEqual(results, ["slow", "fast"]);
 *
 *   // Wait for any: the first to finish wins, the rest are cancelled.
 *   await using g = new TaskGroup({ wait: "any" });
 *   const slow = await g.spawn(() => sleep(100));
 *   await g.spawn(() => sleep(1));
 *   await g.join();
 *   assert.equal(slow.cancelled, true);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export class TaskGroup implements AsyncIterable<Task> {
  #wait: TaskGroupWait;
  /** Non-daemon members, in spawn order. */
  #tasks: Task[] = [];
  /** Non-daemon members whose function has not yet finished. */
  #running = new Set<Task>();
  #daemons = new Set<Task>();
  /** Finished members not yet collected by nextDone() or join(). */
  #finished: Task[] = [];
  /** Tasks waiting for a member to finish. */
  #waiters = new KernelQueue();
  #completed: Task | null = null;
  #error: unknown = undefined;
  #joined = false;
  #failing = false;

  /**
   * Creates an empty task group.
   *
   * @param options `wait`: when `join()` stops waiting (default `"all"`).
   * @throws {RangeError} If `wait` is not one of `"all"`, `"any"`, `"object"`, `"none"`.
   */
  constructor(options: TaskGroupOptions = {}) {
    const { wait = "all" } = options;
    if (!WAITS.includes(wait)) {
      throw new RangeError(
        `Cannot create task group: wait must be "all", "any", "object" or "none", received ${
          String(wait)
        }`,
      );
    }
    this.#wait = wait;
  }

  /**
   * Runs `body` with a new group, then joins the group. If `body` throws,
   * the members are cancelled (and awaited) and its error is rethrown.
   *
   * @typeParam R What `body` resolves to.
   * @param body Spawns members into the group it is given.
   * @param options `wait`: when the join stops waiting (default `"all"`).
   * @returns What `body` returned.
   * @throws The body's error, or the error of the first member that failed.
   *
   * @example Usage
   * ```ts
   * import { MockClock, run, sleep, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const error = await TaskGroup.scope(async (g) => {
   *     await g.spawn(() => sleep(100)); // cancelled when the sibling fails
   *     await g.spawn(async () => {
   *       await sleep(1);
   *       throw new RangeError("member failed");
   *     });
   *   }).catch((e) => e);
   *   assert(error instanceof RangeError);
   * }, { clock: new MockClock({ autojump: 0 }), logErrors: false });
   * ```
   */
  static async scope<R>(
    body: (group: TaskGroup) => Promise<R>,
    options: TaskGroupOptions = {},
  ): Promise<R> {
    if (typeof body !== "function") {
      throw new TypeError("Cannot open task group scope: expected a function such as (g) => ...");
    }
    const group = new TaskGroup(options);
    let result: R;
    try {
      result = await body(group);
    } catch (error) {
      try {
        await group.#cancelAll();
      } catch {
        // The body's error is what the caller must see.
      } finally {
        group.#joined = true;
      }
      throw error;
    }
    await group.join();
    return result;
  }

  /**
   * Spawns `fn` as a member of the group.
   *
   * @typeParam T What `fn` resolves to.
   * @param fn The async function the member runs.
   * @param options `daemon` (not waited for; cancelled at join), `name`.
   * @returns The member's Task.
   * @throws {TypeError} If `fn` is not a function.
   * @throws {Error} If the group has already been joined.
   * @throws {CurioError} If called outside a task.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup();
   *   const t = await g.spawn(async () => 7, { name: "seven" });
   *   await g.join();
   *   assert.equal(t.name, "seven");
   *   assert.equal(t.result, 7);
   * });
   * ```
   */
  async spawn<T>(fn: () => Promise<T> | T, options: TaskGroupSpawnOptions = {}): Promise<Task<T>> {
    if (typeof fn !== "function") {
      throw new TypeError(
        "Cannot spawn task into group: expected a function such as () => child(x)",
      );
    }
    if (this.#joined) {
      throw new Error("Cannot spawn task into group: the group has already been joined");
    }
    const { daemon = false, name } = options;
    // The member may finish before spawn() returns: `slot` meets it either way.
    const slot: MemberSlot<T> = { finished: false, failed: false, error: undefined };
    const member = async (): Promise<T> => {
      try {
        return await fn();
      } catch (error) {
        slot.failed = true;
        slot.error = error;
        throw error;
      } finally {
        slot.finished = true;
        if (slot.task !== undefined) this.#memberDone(slot.task, slot);
      }
    };
    const task = await spawn(member, { daemon, name, [nameFrom]: fn } as SpawnOptions);
    slot.task = task;
    if (daemon) {
      if (!slot.finished) this.#daemons.add(task);
    } else {
      this.#tasks.push(task);
      this.#running.add(task);
      if (slot.finished) this.#memberDone(task, slot);
    }
    return task;
  }

  #memberDone(task: Task, slot: MemberSlot<unknown>): void {
    if (this.#daemons.delete(task) || !this.#running.delete(task)) return;
    this.#finished.push(task);
    const waiters = this.#waiters;
    if (waiters.length > 0) void _rescheduleTasks(waiters, waiters.length);
    if (slot.failed && !(task.cancelled && slot.error instanceof CancelledError)) this.#failFast();
  }

  /**
   * A member failed: cancel the others now, not only when the owner gets to
   * join(). A daemon helper task does it, since the failing member is on its
   * way out and the owner may be busy.
   */
  #failFast(): void {
    if (this.#failing || this.#joined) return;
    this.#failing = true;
    const victims = [...this.#running];
    if (victims.length === 0) return;
    spawn(() => this.#cancel(victims), { daemon: true, name: "TaskGroup.cancel" }).catch(() => {});
  }

  /**
   * Waits for the next member to finish and returns it (members are
   * returned once each, in the order they finished).
   *
   * @returns The member, terminated; `null` when none is left running.
   * @throws {CancelledError} If the calling task is cancelled while waiting.
   *
   * @example Usage
   * ```ts
   * import { MockClock, run, sleep, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   await g.spawn(() => sleep(2), { name: "second" });
   *   await g.spawn(() => sleep(1), { name: "first" });
   *   assert.equal((await g.nextDone())?.name, "first");
   *   assert.equal((await g.nextDone())?.name, "second");
   *   assert.equal(await g.nextDone(), null);
   * }, { clock: new MockClock({ autojump: 0 }) });
   * ```
   */
  async nextDone(): Promise<Task | null> {
    while (this.#finished.length === 0) {
      if (this.#running.size === 0) return null;
      await _waitOnQueue(this.#waiters, "TASK_JOIN");
    }
    const task = this.#finished.shift()!;
    try {
      await task.wait(); // its function is done; let it terminate
    } catch (error) {
      this.#finished.unshift(task);
      throw error;
    }
    return task;
  }

  /**
   * Waits for the next member to finish and returns its result.
   *
   * @returns The member's result.
   * @throws The member's own error, if it failed (a CancelledError if it was cancelled).
   * @throws {Error} If no member is left.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   await g.spawn(async () => "hello");
   *   assert.equal(await g.nextResult(), "hello");
   *   await assert.rejects(g.nextResult(), /no member is left/);
   * });
   * ```
   */
  async nextResult(): Promise<unknown> {
    const task = await this.nextDone();
    if (task === null) {
      throw new Error("Cannot get next result: no member is left in the task group");
    }
    if (task.exception !== undefined) throw task.exception;
    return task.result;
  }

  /**
   * Cancels every member still running and waits for them to terminate.
   * They are removed from what `nextDone()` returns.
   *
   * @throws {CancelledError} If the calling task is cancelled meanwhile (the
   * members are still awaited first).
   *
   * @example Usage
   * ```ts
   * import { run, sleep, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   const t = await g.spawn(() => sleep(1000));
   *   await g.cancelRemaining();
   *   assert.equal(t.cancelled, true);
   *   assert.equal(await g.nextDone(), null);
   * });
   * ```
   */
  async cancelRemaining(): Promise<void> {
    const victims = [...this.#running];
    try {
      await this.#cancel(victims);
    } finally {
      this.#finished = this.#finished.filter((t) => !victims.includes(t));
    }
  }

  /**
   * Waits for the members according to the group's `wait` mode, then
   * cancels (and awaits) every member still running, daemons included.
   * Joining again does nothing.
   *
   * @throws The error of the first member that failed (the others were cancelled).
   * @throws {CancelledError} If the calling task is cancelled (the members
   * are cancelled and awaited first).
   *
   * @example Usage
   * ```ts
   * import { MockClock, run, sleep, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup({ wait: "object" });
   *   await g.spawn(async () => {
   *     await sleep(1);
   *   });
   *   await g.spawn(async () => {
   *     await sleep(2);
   *     return "answer";
   *   });
   *   const late = await g.spawn(() => sleep(3));
   *   await g.join();
   *   assert.equal(g.result, "answer");
   *   assert.equal(late.cancelled, true);
   * }, { clock: new MockClock({ autojump: 0 }) });
   * ```
   */
  async join(): Promise<void> {
    if (this.#joined) return;
    let failed = false;
    try {
      if (this.#wait !== "none") {
        for (;;) {
          const task = await this.nextDone();
          if (task === null) break;
          const error = task.exception;
          if (error !== undefined && !(task.cancelled && error instanceof CancelledError)) {
            this.#completed ??= task;
            this.#error = error;
            failed = true;
            break;
          }
          if (task.cancelled) continue; // cancelled by someone else: neither failure nor winner
          if (this.#wait === "object" && task.result === undefined) continue;
          this.#completed ??= task;
          if (this.#wait !== "all") break;
        }
      }
    } finally {
      try {
        await this.#cancelAll();
      } finally {
        this.#joined = true;
      }
    }
    if (failed) throw this.#error;
  }

  /** Cancels every live member, daemons too, and awaits them all. */
  async #cancelAll(): Promise<void> {
    await this.#cancel([...this.#running, ...this.#daemons]);
    for (const task of this.#finished) await this.#settle(task);
  }

  /** Cancels `tasks` (newest first, all at once) and waits until each has terminated. */
  async #cancel(tasks: Task[]): Promise<void> {
    let error: unknown = undefined;
    if (tasks.length > 0) {
      tasks.sort((a, b) => b.id - a.id);
      try {
        await Promise.all(tasks.map((t) => t.cancel()));
      } catch (e) {
        error = e; // we were cancelled ourselves: still see every member out
      }
    }
    for (const task of tasks) {
      try {
        await this.#settle(task);
      } catch (e) {
        error ??= e;
      }
    }
    if (error !== undefined) throw error;
  }

  /** Waits until `task` has terminated, even through a cancellation of our own. */
  async #settle(task: Task): Promise<void> {
    let error: unknown = undefined;
    while (!task.terminated) {
      try {
        await task.wait();
      } catch (e) {
        error ??= e;
      }
    }
    if (error !== undefined) throw error;
  }

  /**
   * The non-daemon members, in spawn order.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   const t = await g.spawn(async () => 1);
   *   assert.deepEqual(g.tasks, [t]);
   * });
   * ```
   */
  get tasks(): Task[] {
    return [...this.#tasks];
  }

  /**
   * The member that decided the join: the first to finish (`"all"`,
   * `"any"`), the first with a result (`"object"`), or the first to fail;
   * `null` if none yet.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup({ wait: "any" });
   *   const t = await g.spawn(async () => "won");
   *   await g.join();
   *   assert.equal(g.completed, t);
   * });
   * ```
   */
  get completed(): Task | null {
    return this.#completed;
  }

  /**
   * The members' results, in spawn order (`undefined` for members that
   * failed, were cancelled or are still running).
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup();
   *   await g.spawn(async () => 1);
   *   await g.spawn(async () => 2);
   *   await g.join();
   *   assert.deepEqual(g.results, [1, 2]);
   * });
   * ```
   */
  get results(): unknown[] {
    return this.#tasks.map((t) => t.result);
  }

  /**
   * The members' errors, in spawn order (`undefined` for members that did
   * not fail).
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup();
   *   await g.spawn(async () => 1);
   *   await g.join();
   *   assert.deepEqual(g.exceptions, [undefined]);
   * });
   * ```
   */
  get exceptions(): unknown[] {
    return this.#tasks.map((t) => t.exception);
  }

  /**
   * The result of {@linkcode TaskGroup.prototype.completed} (`undefined` if none).
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup({ wait: "any" });
   *   await g.spawn(async () => "first");
   *   await g.join();
   *   assert.equal(g.result, "first");
   * });
   * ```
   */
  get result(): unknown {
    return this.#completed?.result;
  }

  /**
   * The error `join()` rethrew, or the error of the completed member
   * (`undefined` if none).
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup();
   *   await g.spawn(async () => {
   *     throw new Error("boom");
   *   });
   *   await assert.rejects(g.join(), /boom/);
   *   assert.equal((g.exception as Error).message, "boom");
   * }, { logErrors: false });
   * ```
   */
  get exception(): unknown {
    return this.#error ?? this.#completed?.exception;
  }

  /**
   * Yields members as they finish (`nextDone()` until it returns `null`).
   *
   * @returns An async iterator of finished members.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   await g.spawn(async () => 1);
   *   await g.spawn(async () => 2);
   *   let sum = 0;
   *   for await (const t of g) sum += t.result as number;
   *   assert.equal(sum, 3);
   * });
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Task> {
    return {
      next: async (): Promise<IteratorResult<Task>> => {
        const task = await this.nextDone();
        return task === null ? { value: undefined, done: true } : { value: task, done: false };
      },
    };
  }

  /**
   * Joins the group: what `await using g = new TaskGroup()` calls at the end
   * of the block.
   *
   * @throws The error of the first member that failed.
   *
   * @example Usage
   * ```ts
   * import { run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * let t;
   * await run(async () => {
   *   await using g = new TaskGroup();
   *   t = await g.spawn(async () => "done");
   * });
   * assert.equal(t!.result, "done");
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.join();
  }
}
