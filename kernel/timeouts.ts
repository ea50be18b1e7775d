/**
 * Timeouts: put a deadline on everything a task does inside a block.
 *
 * The deadline applies to the calling task: every kernel operation inside the
 * block, however deeply nested, is cancelled with {@linkcode TaskTimeout}
 * when it passes. Nested blocks follow curio: the block whose deadline
 * expired raises `TaskTimeout`; an inner block interrupted by an outer
 * deadline sees {@linkcode TimeoutCancellationError} (which the outer block
 * turns into its `TaskTimeout`); a `TaskTimeout` escaping an inner block into
 * an outer block whose own deadline has not expired becomes
 * {@linkcode UncaughtTimeoutError}.
 *
 * @module
 */

import {
  checkSeconds,
  checkTaskFunction,
  context,
  currentCore,
  enterTimeout,
  exitTimeout,
  type TimeoutBlock,
} from "./_task_core.ts";
import { TaskTimeout, TimeoutCancellationError, UncaughtTimeoutError } from "./errors.ts";

/** Options for {@linkcode ignoreAfter} and {@linkcode ignoreAt}. */
export interface IgnoreOptions<D> {
  /** What to return when time runs out (default `undefined`). */
  timeoutResult?: D;
}

/**
 * Checks the arguments of a timeout function, then runs `fn` inside a new
 * timeout block of the calling task: until `time` seconds from now, or until
 * the kernel-clock deadline `time` if `absolute`. Not an async function: a
 * suspended async frame per block cost ~1.2 KB per waiting task (measured),
 * two callbacks sharing one small context cost a tenth of that, and a task's
 * first open block (most blocks) ends through two shared handlers that find
 * it on the task's context reference, ~160 B less per waiting task again.
 * The four public functions are this with their own arguments.
 */
function withDeadline<T, D>(
  time: unknown,
  fn: () => Promise<T>,
  absolute: boolean,
  ignore: boolean,
  timeoutResult: D,
): Promise<T | D> {
  const action = "set a timeout";
  let block: TimeoutBlock;
  try {
    checkTaskFunction(fn, action, "() => op(x)");
    const task = currentCore(action);
    if (absolute) {
      if (typeof time !== "number") {
        throw new TypeError(
          `Cannot ${action}: expected a deadline as a number, received ${typeof time}`,
        );
      }
      if (Number.isNaN(time)) throw new RangeError(`Cannot ${action}: deadline is NaN`);
      block = enterTimeout(task, time);
    } else {
      checkSeconds(time, action);
      block = enterTimeout(task, task.sched.clock.now() + time, time);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  let started: Promise<T>;
  try {
    started = Promise.resolve(fn());
  } catch (error) {
    started = Promise.reject(error);
  }
  const ref = block.task.ref;
  if (ref.block === undefined && timeoutResult === undefined) {
    // The one block of the task that ends through the shared handlers: they run in
    // this context and find the block on it (no closures per block).
    ref.block = block;
    // timeoutResult is undefined here, so what sharedIgnored returns is a D.
    return started.then(sharedReturned, ignore ? sharedIgnored : sharedThrew) as Promise<T | D>;
  }
  return endThrough(started, block, ignore, timeoutResult);
}

/**
 * Ends `block` when `started` settles, through closures of its own: for a
 * block nested in another of the same task, or with a timeoutResult. A
 * function apart from withDeadline, whose every call would otherwise build
 * the context these closures capture (~70 B), shared handlers or not.
 */
function endThrough<T, D>(
  started: Promise<T>,
  block: TimeoutBlock,
  ignore: boolean,
  timeoutResult: D,
): Promise<T | D> {
  return started.then(
    (value) => {
      exitTimeout(block);
      return value;
    },
    (error) => settled(block, error, ignore, timeoutResult),
  );
}

/** The block ending through the shared handlers, found on the running code's context. */
function sharedBlock(): TimeoutBlock {
  const ref = context.ref()!;
  const block = ref.block!;
  ref.block = undefined;
  return block;
}

function sharedReturned<T>(value: T): T {
  exitTimeout(sharedBlock());
  return value;
}

function sharedThrew(error: unknown): never {
  return settled<never>(sharedBlock(), error, false, undefined as never);
}

function sharedIgnored(error: unknown): undefined {
  return settled(sharedBlock(), error, true, undefined);
}

/** Block `block` ends with `error`: its own timeout is raised (or ignored), other errors pass. */
function settled<D>(block: TimeoutBlock, error: unknown, ignore: boolean, timeoutResult: D): D {
  try {
    if (!caught(block, error)) throw error;
    if (ignore) return timeoutResult;
    throw asTimeout(block, error);
  } finally {
    exitTimeout(block);
  }
}

/**
 * Whether `error`, ending timeout block `block`, is this block's own
 * timeout (to raise as TaskTimeout, or to ignore). Throws what an enclosing
 * block or an uncaught inner timeout calls for instead; other errors are
 * not the block's business (false).
 */
function caught(block: TimeoutBlock, error: unknown): boolean {
  if (!(error instanceof TaskTimeout || error instanceof TimeoutCancellationError)) return false;
  const stack = block.task.timeouts;
  const mine = stack.lastIndexOf(block);
  const outermost = stack.findIndex((b, i) => i <= mine && b.expired);
  if (outermost === -1) {
    throw new UncaughtTimeoutError(
      "A timeout from an inner block was not caught; handle TaskTimeout inside the block that set it",
      { cause: error },
    );
  }
  if (outermost < mine) {
    // An enclosing block's deadline passed: let it report the timeout.
    if (error instanceof TimeoutCancellationError) throw error;
    throw new TimeoutCancellationError(
      `An enclosing timeout (deadline ${stack[outermost]!.deadline}) expired`,
      { cause: error },
    );
  }
  return true;
}

/** The block's own TaskTimeout for `error` (a TimeoutCancellationError from inside becomes its cause). */
function asTimeout(block: TimeoutBlock, error: unknown): TaskTimeout {
  if (error instanceof TaskTimeout) return error;
  const timeout = block.timeout();
  timeout.cause = error;
  return timeout;
}

/**
 * Runs `fn` in the calling task with a time limit of `seconds`.
 *
 * @typeParam T What `fn` resolves to.
 * @param seconds The time limit.
 * @param fn The work to limit, as a function: `() => op(x)`.
 * @returns `fn`'s result.
 * @throws {TaskTimeout} If time runs out.
 * @throws {RangeError} If `seconds` is negative or NaN.
 *
 * @example Usage
 * ```ts
 * import { MockClock, run, sleep, TaskTimeout, timeoutAfter } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await timeoutAfter(5, async () => {
 *     await sleep(1);
 *     return "in time";
 *   }), "in time");
 *   await assert.rejects(timeoutAfter(5, () => sleep(10)), TaskTimeout);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function timeoutAfter<T>(seconds: number, fn: () => Promise<T>): Promise<T> {
  return withDeadline(seconds, fn, false, false, undefined) as Promise<T>;
}

/**
 * Like {@linkcode timeoutAfter}, with an absolute deadline on the kernel
 * clock ({@linkcode clock}).
 *
 * @typeParam T What `fn` resolves to.
 * @param deadline When time runs out, in kernel-clock seconds.
 * @param fn The work to limit.
 * @returns `fn`'s result.
 * @throws {TaskTimeout} If the deadline passes.
 *
 * @example Usage
 * ```ts
 * import { clock, MockClock, run, sleep, TaskTimeout, timeoutAt } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const deadline = (await clock()) + 2;
 *   await assert.rejects(timeoutAt(deadline, () => sleep(3)), TaskTimeout);
 *   assert.equal(await clock(), 2);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function timeoutAt<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  return withDeadline(deadline, fn, true, false, undefined) as Promise<T>;
}

/**
 * Runs `fn` with a time limit of `seconds`; when time runs out, returns
 * `timeoutResult` (default `undefined`) instead of raising.
 *
 * @typeParam T What `fn` resolves to.
 * @typeParam D The type of `timeoutResult`.
 * @param seconds The time limit.
 * @param fn The work to limit.
 * @param options `timeoutResult`.
 * @returns `fn`'s result, or `timeoutResult` on timeout.
 *
 * @example Usage
 * ```ts
 * import { ignoreAfter, MockClock, run, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const r = await ignoreAfter(1, () => sleep(5), { timeoutResult: "late" });
 *   assert.equal(r, "late");
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function ignoreAfter<T, D = undefined>(
  seconds: number,
  fn: () => Promise<T>,
  options: IgnoreOptions<D> = {},
): Promise<T | D> {
  return withDeadline(seconds, fn, false, true, options?.timeoutResult as D);
}

/**
 * Like {@linkcode ignoreAfter}, with an absolute deadline on the kernel clock.
 *
 * @typeParam T What `fn` resolves to.
 * @typeParam D The type of `timeoutResult`.
 * @param deadline When time runs out, in kernel-clock seconds.
 * @param fn The work to limit.
 * @param options `timeoutResult`.
 * @returns `fn`'s result, or `timeoutResult` on timeout.
 *
 * @example Usage
 * ```ts
 * import { ignoreAt, MockClock, run, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await ignoreAt(1, () => sleep(5)), undefined);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export function ignoreAt<T, D = undefined>(
  deadline: number,
  fn: () => Promise<T>,
  options: IgnoreOptions<D> = {},
): Promise<T | D> {
  return withDeadline(deadline, fn, true, true, options?.timeoutResult as D);
}
