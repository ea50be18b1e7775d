/**
 * Task groups: structured concurrency on top of `spawn`. A group's members
 * never outlive it: when `join()` (or `TaskGroup.scope`) returns or throws,
 * every member has terminated, cancelled if need be.
 *
 * Who handles a member's failure is decided by who collects the member (as
 * in curio). The group collects members while `join()` waits; the program
 * collects a member one by one with `nextDone()`, `nextResult()`, iteration
 * or the member's own `join()`/`wait()`, and such a member leaves the group.
 * The group acts on a failure only when it collected the member itself: then
 * it cancels the rest and `join()` rethrows. It never acts behind the back
 * of a program that is, say, handling one member's failure while keeping the
 * others running.
 *
 * Built on public kernel pieces (spawn, Task, the KernelQueue traps), plus
 * one private hook that tells the group when the program's own
 * `join()`/`wait()` of a member returned.
 *
 * @module
 */

import { nameFrom } from "./_task_name.ts";
import { offCollected, onCollected } from "./_task_collect.ts";
import { spawn, type SpawnOptions } from "./spawn.ts";
import type { Task } from "./task.ts";
import { CancelledError, CurioError } from "./errors.ts";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "./traps.ts";

/**
 * When `join()` stops waiting for members (the rest are then cancelled):
 * - `"all"`: when every member has finished;
 * - `"any"`: when the first member finishes;
 * - `"object"`: when the first member returns something other than `undefined`;
 * - `"none"`: at once (members that had already finished are still collected).
 *
 * In every mode, a member that `join()` collects and finds failed (it threw
 * anything but its own cancellation) makes `join()` cancel the rest and
 * rethrow its error. Members the program collected itself do not count.
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
interface MemberSlot {
  task?: Task;
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
 * - A failing member fails the group when `join()` collects it: while
 *   `join()` waits, at the moment the member fails; a member that had failed
 *   before `join()` was called, when `join()` starts. `join()` then cancels
 *   the rest and rethrows the member's error. A member cancelled by someone
 *   else does not fail the group.
 * - A member the program collects itself (`nextDone()`, `nextResult()`,
 *   `for await`, the member's own `join()`/`wait()`) leaves the group: it is
 *   no longer in `tasks`, `results` or `exceptions`, and its failure is the
 *   program's to handle (nobody is cancelled for it).
 * - `results`, `exceptions`, `result` and `exception` are read after the
 *   group has joined (before, they throw {@linkcode CurioError}).
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
 *
 * @example Handling one member's failure and keeping the others
 * ```ts
 * import { MockClock, run, sleep, TaskError, TaskGroup } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const g = new TaskGroup();
 *   const flaky = await g.spawn(async () => {
 *     await sleep(1);
 *     throw new Error("flaky");
 *   });
 *   const steady = await g.spawn(async () => {
 *     await sleep(2);
 *     return "steady";
 *   });
 *   // Collected by the program: its failure is ours, the group is unaffected.
 *   await assert.rejects(flaky.join(), TaskError);
 *   await g.join();
 *   assert.deepEqual(g.tasks, [steady]);
 *   assert.deepEqual(g.results, ["steady"]);
 * }, { clock: new MockClock({ autojump: 0 }), logErrors: false });
 * ```
 */
export class TaskGroup implements AsyncIterable<Task> {
  #wait: TaskGroupWait;
  /** Non-daemon members still in the group (not collected one by one), in spawn order. */
  #tasks: Task[] = [];
  /** Non-daemon members whose function has not yet finished. */
  #running = new Set<Task>();
  #daemons = new Set<Task>();
  /** Finished members that nobody has collected yet, in the order they finished. */
  #finished: Task[] = [];
  #slots = new WeakMap<Task, MemberSlot>();
  /** Tasks waiting for a member to finish. */
  #waiters = new KernelQueue();
  #completed: Task | null = null;
  #error: unknown = undefined;
  #failed = false;
  #joined = false;

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
   * the members are cancelled (and awaited) and its error is rethrown. A
   * member that fails while the body runs is acted on when the join
   * collects it, once the body has returned.
   *
   * @typeParam R What `body` resolves to.
   * @param body Spawns members into the group it is given.
   * @param options `wait`: when the join stops waiting (default `"all"`).
   * @returns What `body` returned.
   * @throws The body's error, or the error of the first failed member the join collected.
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
    const slot: MemberSlot = { finished: false, failed: false, error: undefined };
    const member = async (): Promise<T> => {
      try {
        return await fn();
      } catch (error) {
        slot.failed = true;
        slot.error = error;
        throw error;
      } finally {
        slot.finished = true;
        if (slot.task !== undefined) this.#memberDone(slot.task);
      }
    };
    const task = await spawn(member, { daemon, name, [nameFrom]: fn } as SpawnOptions);
    slot.task = task;
    if (daemon) {
      if (!slot.finished) this.#daemons.add(task);
    } else {
      this.#slots.set(task, slot);
      this.#tasks.push(task);
      this.#running.add(task);
      onCollected(task, () => this.#leave(task));
      if (slot.finished) this.#memberDone(task);
    }
    return task;
  }

  /** A member's function has finished: queue it for whoever collects it. */
  #memberDone(task: Task): void {
    if (this.#daemons.delete(task) || !this.#running.delete(task)) return;
    this.#finished.push(task);
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    if (waiters.length > 0) void _rescheduleTasks(waiters, waiters.length);
  }

  /** The program collected `task` itself: it leaves the group. */
  #leave(task: Task): void {
    const at = this.#tasks.indexOf(task);
    if (at >= 0) this.#tasks.splice(at, 1);
    this.#running.delete(task);
    const done = this.#finished.indexOf(task);
    if (done >= 0) this.#finished.splice(done, 1);
    this.#wakeWaiters(); // a collector waiting for the last member must see it gone
  }

  /** Whether `task` failed: threw anything but the CancelledError of its own cancellation. */
  #failedMember(task: Task): boolean {
    const slot = this.#slots.get(task);
    if (slot === undefined || !slot.failed) return false;
    return !(task.cancelled && slot.error instanceof CancelledError);
  }

  /**
   * Takes the next finished member, waiting for one if need be, and waits
   * for it to terminate; `null` when none is left. The caller collects it.
   */
  async #collect(): Promise<Task | null> {
    while (this.#finished.length === 0) {
      if (this.#running.size === 0) return null;
      await _waitOnQueue(this.#waiters, "TASK_JOIN");
    }
    const task = this.#finished.shift()!;
    offCollected(task); // from here the group collects it, not the program
    try {
      await task.wait(); // its function is done; let it terminate
    } catch (error) {
      this.#finished.unshift(task);
      onCollected(task, () => this.#leave(task));
      throw error;
    }
    return task;
  }

  /**
   * Waits for the next member to finish and returns it (members are
   * returned once each, in the order they finished). The member is
   * collected by the caller: it leaves the group (no longer in `tasks`,
   * `results`, `exceptions`), and if it failed, the group does not act on
   * it: handling its error is the caller's business.
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
   *   assert.equal(g.tasks.length, 1, "the collected member left the group");
   *   assert.equal((await g.nextDone())?.name, "second");
   *   assert.equal(await g.nextDone(), null);
   * }, { clock: new MockClock({ autojump: 0 }) });
   * ```
   */
  async nextDone(): Promise<Task | null> {
    const task = await this.#collect();
    if (task !== null) this.#leave(task);
    return task;
  }

  /**
   * Waits for the next member to finish and returns its result. Like
   * `nextDone()`, the member leaves the group, and its error is the
   * caller's (the group does not act on it).
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
   * They are removed from what `nextDone()` returns, but stay in `tasks`.
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
    // Our own waits below are not the program collecting them.
    for (const task of victims) offCollected(task);
    try {
      await this.#cancel(victims);
    } finally {
      this.#finished = this.#finished.filter((t) => !victims.includes(t));
      for (const task of victims) {
        if (!this.#joined && this.#tasks.includes(task)) onCollected(task, () => this.#leave(task));
      }
    }
  }

  /**
   * Collects the members according to the group's `wait` mode, then
   * cancels (and awaits) every member still running, daemons included.
   * Members that had finished before the call are collected first, in the
   * order they finished. When a collected member turns out to have failed,
   * `join()` stops waiting, cancels the rest and rethrows its error: the
   * moment it fails if `join()` is already waiting, at once if it had
   * failed before. Members the program collected itself do not count.
   * Joining again does nothing.
   *
   * @throws The error of the first failed member collected (the others were cancelled).
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
    const wait = this.#wait;
    try {
      for (;;) {
        // "none" waits for nobody, but still collects who had already finished.
        if (wait === "none" && this.#finished.length === 0) break;
        const task = await this.#collect();
        if (task === null) break;
        if (this.#failedMember(task)) {
          this.#completed ??= task;
          this.#error = task.exception;
          this.#failed = true;
          break;
        }
        if (task.cancelled) continue; // cancelled by someone else: neither failure nor winner
        if (wait === "object" && task.result === undefined) continue;
        this.#completed ??= task;
        if (wait === "any" || wait === "object") break;
      }
    } finally {
      try {
        await this.#cancelAll();
      } finally {
        this.#joined = true;
      }
    }
    if (this.#failed) throw this.#error;
  }

  /** Cancels every live member, daemons too, and awaits them all: the group collects them. */
  async #cancelAll(): Promise<void> {
    for (const task of this.#tasks) offCollected(task);
    await this.#cancel([...this.#running, ...this.#daemons]);
    for (const task of this.#finished) await this.#settle(task);
    this.#finished = []; // collected by the join: nextDone() has nothing more to give
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

  #mustHaveJoined(what: string): void {
    if (!this.#joined) {
      throw new CurioError(
        `Cannot read TaskGroup ${what}: the group has not joined yet; call join() first`,
      );
    }
  }

  /**
   * The non-daemon members still in the group, in spawn order: members
   * collected one by one (`nextDone()`, iteration, their own
   * `join()`/`wait()`) have left it.
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
   *   await t.join();
   *   assert.deepEqual(g.tasks, []);
   * });
   * ```
   */
  get tasks(): Task[] {
    return [...this.#tasks];
  }

  /**
   * The member that decided the join: the first `join()` collected that
   * finished (`"all"`, `"any"`, `"none"`), the first with a result
   * (`"object"`), or else the first failed one; `null` if none (yet).
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
   * The results of the members still in the group, in spawn order
   * (`undefined` for members that failed or were cancelled).
   *
   * @throws {CurioError} If the group has not joined yet.
   *
   * @example Usage
   * ```ts
   * import { CurioError, run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup();
   *   await g.spawn(async () => 1);
   *   await g.spawn(async () => 2);
   *   assert.throws(() => g.results, CurioError);
   *   await g.join();
   *   assert.deepEqual(g.results, [1, 2]);
   * });
   * ```
   */
  get results(): unknown[] {
    this.#mustHaveJoined("results");
    return this.#tasks.map((t) => t.result);
  }

  /**
   * The errors of the members still in the group, in spawn order
   * (`undefined` for members that did not fail).
   *
   * @throws {CurioError} If the group has not joined yet.
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
    this.#mustHaveJoined("exceptions");
    return this.#tasks.map((t) => t.exception);
  }

  /**
   * The result of the winner, {@linkcode TaskGroup.prototype.completed}.
   *
   * @throws {CurioError} If the group has not joined yet, or no member won
   * (e.g. an empty group).
   * @throws The winner's own error, if the winner failed.
   *
   * @example Usage
   * ```ts
   * import { CurioError, run, TaskGroup } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const g = new TaskGroup({ wait: "any" });
   *   await g.spawn(async () => "first");
   *   await g.join();
   *   assert.equal(g.result, "first");
   *
   *   const empty = new TaskGroup();
   *   await empty.join();
   *   assert.throws(() => empty.result, CurioError);
   * });
   * ```
   */
  get result(): unknown {
    this.#mustHaveJoined("result");
    const winner = this.#completed;
    if (winner === null) {
      throw new CurioError("Cannot read TaskGroup result: no member won (none finished in it)");
    }
    if (this.#failedMember(winner)) throw winner.exception;
    return winner.result;
  }

  /**
   * The error `join()` rethrew, or else the error of the completed member
   * (`undefined` if none).
   *
   * @throws {CurioError} If the group has not joined yet.
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
    this.#mustHaveJoined("exception");
    return this.#error ?? this.#completed?.exception;
  }

  /**
   * Yields members as they finish (`nextDone()` until it returns `null`):
   * each yielded member has left the group, and its failure is the loop's to
   * handle.
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
   * of the block (see {@linkcode TaskGroup.prototype.join}).
   *
   * @throws The error of the first failed member the join collected.
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
