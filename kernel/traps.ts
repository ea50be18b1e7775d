/**
 * The low-level traps: the only ways a task blocks and wakes. Every primitive
 * in this library (Lock, Queue, sockets, workers) is built from these, and so
 * can yours. The manual's own `Lock` works as written:
 *
 * ```ts
 * import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
 *
 * class MyLock {
 *   #acquired = false;
 *   #waiting = new KernelQueue();
 *   async acquire(): Promise<void> {
 *     if (this.#acquired) await _waitOnQueue(this.#waiting, "LOCK_ACQUIRE");
 *     this.#acquired = true;
 *   }
 *   async release(): Promise<void> {
 *     if (this.#waiting.length > 0) await _rescheduleTasks(this.#waiting, 1);
 *     else this.#acquired = false;
 *   }
 * }
 * ```
 *
 * A waiter cancelled in `_waitOnQueue` is unlinked from the queue at once. A
 * waiter already rescheduled is committed: what it was handed (here, the
 * lock) is its own, and a cancel that arrives later is raised at its next
 * blocking operation.
 *
 * @module
 */

import {
  currentCore,
  enterTimeout,
  exitTimeout,
  suspendInList,
  suspendOn,
  TimeoutBlock,
  TrapList,
} from "./_task_core.ts";
import { kernelQueueList } from "./_queue_list.ts";
import { taskOf } from "./_task_of.ts";
import type { Kernel, KernelOptions, KernelRunOptions } from "./kernel.ts";
import type { Task } from "./task.ts";
import type { Clock } from "./clock.ts";

// The types the traps name, so that this entry point documents alone.
export type { Clock, Kernel, KernelOptions, KernelRunOptions, Task };

/**
 * A FIFO of tasks waiting on something, owned by a synchronization
 * primitive. Tasks enter it with {@linkcode _waitOnQueue} and leave it when
 * woken by {@linkcode _rescheduleTasks} or when cancelled.
 *
 * @example Usage
 * ```ts
 * import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
 * import { run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const q = new KernelQueue();
 *   const t = await spawn(() => _waitOnQueue(q, "MY_WAIT"));
 *   assert.equal(q.length, 1);
 *   assert.equal(t.state, "MY_WAIT");
 *   await _rescheduleTasks(q, 1, "hello");
 *   assert.equal(await t.join(), "hello");
 * });
 * ```
 */
export class KernelQueue {
  #list = new TrapList();

  static {
    kernelQueueList.of = (queue) => (queue as KernelQueue).#list;
  }

  /** How many tasks are waiting. */
  get length(): number {
    return this.#list.length;
  }
}

/**
 * Puts the calling task to sleep on `kqueue` until
 * {@linkcode _rescheduleTasks} wakes it.
 *
 * @param kqueue The queue to wait in.
 * @param stateName The task's state while waiting (e.g. `"LOCK_ACQUIRE"`).
 * @returns The `value` given to `_rescheduleTasks`.
 * @throws The `exc` given to `_rescheduleTasks`, or a cancellation.
 *
 * @example Usage
 * ```ts
 * import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
 * import { run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const q = new KernelQueue();
 *   const t = await spawn(() => _waitOnQueue(q, "WAITING"));
 *   await _rescheduleTasks(q, 1, 7);
 *   assert.equal(await t.join(), 7);
 * });
 * ```
 */
export function _waitOnQueue(kqueue: KernelQueue, stateName: string): Promise<unknown> {
  // Not async: this is every primitive's hot path, and one promise is enough.
  try {
    if (!(kqueue instanceof KernelQueue)) {
      throw new TypeError("Cannot wait on queue: expected a KernelQueue");
    }
    const state = typeof stateName === "string" ? stateName : String(stateName);
    return suspendInList(currentCore("wait on a kernel queue"), state, kernelQueueList.of(kqueue));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Throws {@linkcode CurioError} unless called from inside a task. For the
 * fast paths of primitives: an operation that completes at once (a free
 * lock, a non-empty queue) uses no trap and is no cancellation point, but is
 * still only meaningful inside a task. Synchronous, so the fast path costs
 * no extra promise.
 *
 * @param action What was attempted, for the error message (`"acquire a lock"`).
 * @throws {CurioError} If no task is running.
 *
 * @example Usage
 * ```ts
 * import { _requireTask } from "@curio/curio/traps";
 * import { CurioError, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => _requireTask("take a token"), CurioError);
 * await run(async () => _requireTask("take a token"));
 * ```
 */
export function _requireTask(action: string): void {
  currentCore(action);
}

/**
 * Wakes up to `n` tasks from the front of `kqueue`. Never blocks; works from
 * plain callbacks too.
 *
 * @param kqueue The queue.
 * @param n How many tasks to wake (default 1).
 * @param value What their `_waitOnQueue` returns.
 * @param exc If given, what their `_waitOnQueue` throws instead.
 *
 * @example Usage
 * ```ts
 * import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
 * import { run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const q = new KernelQueue();
 *   const t = await spawn(() => _waitOnQueue(q, "WAITING"));
 *   await _rescheduleTasks(q, 1, undefined, new RangeError("go away"));
 *   await assert.rejects(t.join());
 * }, { logErrors: false });
 * ```
 */
export function _rescheduleTasks(
  kqueue: KernelQueue,
  n = 1,
  value?: unknown,
  exc?: unknown,
): Promise<void> {
  if (!(kqueue instanceof KernelQueue)) {
    return Promise.reject(new TypeError("Cannot reschedule tasks: expected a KernelQueue"));
  }
  if (typeof n !== "number" || !(n >= 0)) {
    return Promise.reject(
      new RangeError(`Cannot reschedule tasks: n must be a number >= 0, received ${n}`),
    );
  }
  const list = kernelQueueList.of(kqueue);
  for (let i = 0; i < n; i++) {
    const trap = list.shift();
    if (trap === undefined) break;
    if (exc !== undefined) trap.fail(exc);
    else trap.wake(value);
  }
  return DONE;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * Suspends the calling task until `future` settles, and returns its value.
 * Cancelling the task abandons the wait (the promise itself runs on).
 *
 * @typeParam T What `future` resolves to.
 * @param future Any promise or thenable.
 * @param stateName The task's state while waiting (default `"FUTURE_WAIT"`).
 * @returns The promise's value.
 * @throws The promise's rejection, or a cancellation.
 *
 * @example Usage
 * ```ts
 * import { _futureWait } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const text = await _futureWait(Promise.resolve("ready"));
 *   assert.equal(text, "ready");
 * });
 * ```
 */
export function _futureWait<T>(
  future: PromiseLike<T>,
  stateName = "FUTURE_WAIT",
): Promise<T> {
  try {
    if (future === null || typeof (future as { then?: unknown })?.then !== "function") {
      throw new TypeError("Cannot wait for future: expected a Promise or thenable");
    }
    return suspendOn(currentCore("wait for a future"), stateName, future);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** An object {@linkcode _readWait} can wait on: curio's Socket and FileStream. */
export interface ReadWaitable {
  /** Resolves when data (or EOF) can be read without blocking. */
  [readWaitHook](): PromiseLike<void>;
}

/** An object {@linkcode _writeWait} can wait on. */
export interface WriteWaitable {
  /** Resolves when data can be written without blocking. */
  [writeWaitHook](): PromiseLike<void>;
}

/**
 * The method through which an I/O object tells {@linkcode _readWait} when it
 * is readable. Deno has no readiness API for raw handles, so curio's Socket
 * and FileStream implement it by reading ahead into their own buffer.
 */
export const readWaitHook: unique symbol = Symbol("curio.readWait");

/** The method through which an I/O object tells {@linkcode _writeWait} when it is writable. */
export const writeWaitHook: unique symbol = Symbol("curio.writeWait");

/**
 * Sleeps until `fileobj` can be read without blocking. Works on objects
 * implementing {@linkcode readWaitHook} (curio's Socket, FileStream).
 *
 * @param fileobj What to wait on.
 * @throws {TypeError} If `fileobj` cannot report readiness (a raw Deno handle).
 *
 * @example Usage
 * ```ts
 * import { _readWait, readWaitHook } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 *
 * await run(async () => {
 *   await _readWait({ [readWaitHook]: () => Promise.resolve() });
 * });
 * ```
 */
export async function _readWait(fileobj: ReadWaitable): Promise<void> {
  const hook = (fileobj as Partial<ReadWaitable> | null)?.[readWaitHook];
  if (typeof hook !== "function") {
    throw new TypeError(
      "Cannot wait for reading: Deno has no readiness API for raw handles; wrap it in a curio Socket or FileStream",
    );
  }
  await _futureWait(hook.call(fileobj), "READ_WAIT");
}

/**
 * Sleeps until `fileobj` can be written without blocking.
 *
 * @param fileobj What to wait on (implements {@linkcode writeWaitHook}).
 * @throws {TypeError} If `fileobj` cannot report readiness.
 *
 * @example Usage
 * ```ts
 * import { _writeWait, writeWaitHook } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 *
 * await run(async () => {
 *   await _writeWait({ [writeWaitHook]: () => Promise.resolve() });
 * });
 * ```
 */
export async function _writeWait(fileobj: WriteWaitable): Promise<void> {
  const hook = (fileobj as Partial<WriteWaitable> | null)?.[writeWaitHook];
  if (typeof hook !== "function") {
    throw new TypeError(
      "Cannot wait for writing: Deno has no readiness API for raw handles; wrap it in a curio Socket or FileStream",
    );
  }
  await _futureWait(hook.call(fileobj), "WRITE_WAIT");
}

/**
 * Waits for `task` to terminate; its result, or a TaskError. Same as
 * `task.join()`.
 *
 * @typeParam T The task's result type.
 * @param task The task.
 * @returns The task's result.
 *
 * @example Usage
 * ```ts
 * import { _joinTask } from "@curio/curio/traps";
 * import { run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await _joinTask(await spawn(async () => 5)), 5);
 * });
 * ```
 */
export async function _joinTask<T>(task: Task<T>): Promise<T> {
  return await task.join();
}

/**
 * Cancels `task` and waits for it to terminate. Same as `task.cancel()`.
 *
 * @param task The task.
 * @returns Whether this call cancelled it.
 *
 * @example Usage
 * ```ts
 * import { _cancelTask } from "@curio/curio/traps";
 * import { run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await _cancelTask(await spawn(() => sleep(10))), true);
 * });
 * ```
 */
export async function _cancelTask(task: Task): Promise<boolean> {
  return await task.cancel();
}

/**
 * Returns the kernel running the calling task.
 *
 * @returns The Kernel.
 *
 * @example Usage
 * ```ts
 * import { _getKernel } from "@curio/curio/traps";
 * import { Kernel, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert(await _getKernel() instanceof Kernel);
 * });
 * ```
 */
export async function _getKernel(): Promise<Kernel> {
  return currentCore("get the kernel").sched.kernel as Kernel;
}

/**
 * Returns the calling task (same as `currentTask()`).
 *
 * @returns The running Task.
 *
 * @example Usage
 * ```ts
 * import { _getCurrent } from "@curio/curio/traps";
 * import { currentTask, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await _getCurrent(), await currentTask());
 * });
 * ```
 */
export async function _getCurrent(): Promise<Task> {
  return taskOf(currentCore("get the current task"));
}

/** The token returned by {@linkcode _setTimeout}, for {@linkcode _unsetTimeout}. */
export type TimeoutToken = { readonly deadline: number };

/**
 * Sets a timeout of `seconds` on the calling task (`null`: none). Every
 * blocking operation until the matching {@linkcode _unsetTimeout} is
 * cancelled with TaskTimeout once it passes. Prefer `timeoutAfter()`.
 *
 * @param seconds Seconds from now, or `null` for no deadline.
 * @returns A token to give to `_unsetTimeout`.
 *
 * @example Usage
 * ```ts
 * import { _setTimeout, _unsetTimeout } from "@curio/curio/traps";
 * import { MockClock, run, sleep, TaskTimeout } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const token = await _setTimeout(1);
 *   try {
 *     await assert.rejects(sleep(2), TaskTimeout);
 *   } finally {
 *     await _unsetTimeout(token);
 *   }
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export async function _setTimeout(seconds: number | null): Promise<TimeoutToken> {
  const task = currentCore("set a timeout");
  if (seconds !== null && (typeof seconds !== "number" || Number.isNaN(seconds))) {
    throw new TypeError("Cannot set timeout: expected seconds as a number or null");
  }
  const deadline = seconds === null ? Infinity : task.sched.clock.now() + seconds;
  return enterTimeout(task, deadline, seconds ?? undefined);
}

/**
 * Removes the timeout set by the {@linkcode _setTimeout} call that returned
 * `previous`.
 *
 * @param previous The token `_setTimeout` returned.
 *
 * @example Usage
 * ```ts
 * import { _setTimeout, _unsetTimeout } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 *
 * await run(async () => {
 *   await _unsetTimeout(await _setTimeout(5));
 * });
 * ```
 */
export async function _unsetTimeout(previous: TimeoutToken): Promise<void> {
  if (!(previous instanceof TimeoutBlock)) {
    throw new TypeError("Cannot unset timeout: expected the token returned by _setTimeout()");
  }
  exitTimeout(previous);
}

// ---------------------------------------------------------------------------
// Signals (the kernel side lives in _signals.ts)

import {
  ignore as ignoreSignals,
  type SignalSource,
  unwatch as unwatchSignals,
  wait as waitSignal,
  watch as watchSignals,
} from "./_signals.ts";

/**
 * What the signal traps accept: any object with a `signals` array of signal
 * names (curio's `SignalSet` is one). The kernel keeps its queue and waiters
 * per object.
 */
export type SignalWatchable = SignalSource;

/**
 * Tells the kernel to start queueing the signals of `sigset`: from now on, a
 * signal that arrives while no task waits in {@linkcode _sigwait} is queued,
 * not lost. Watches nest; each needs its {@linkcode _sigunwatch}. A watch
 * still open when the kernel shuts down is closed then, so no listener
 * outlives `run()`.
 *
 * @param sigset The signal set.
 * @throws {TypeError} If `sigset` has no `signals` array of names.
 * @throws {RangeError} If Deno cannot listen for one of the signals
 * (`SIGKILL`, `SIGSTOP`, an unknown name).
 * @throws {CurioError} Outside a task.
 *
 * @example Usage
 * ```ts
 * import { _sigunwatch, _sigwait, _sigwatch } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const sigset = { signals: ["SIGUSR2"] as Deno.Signal[] };
 *   await _sigwatch(sigset);
 *   try {
 *     Deno.kill(Deno.pid, "SIGUSR2");
 *     assert.equal(await _sigwait(sigset), "SIGUSR2");
 *   } finally {
 *     await _sigunwatch(sigset);
 *   }
 * });
 * ```
 */
export async function _sigwatch(sigset: SignalWatchable): Promise<void> {
  watchSignals(sigset);
}

/**
 * Tells the kernel to stop queueing the signals of `sigset` (closes the
 * newest open {@linkcode _sigwatch}). When the last watch closes, signals
 * still queued are dropped and the Deno listeners are removed (unless a task
 * is still waiting). Without an open watch, does nothing.
 *
 * @param sigset The signal set.
 * @throws {TypeError} If `sigset` has no `signals` array of names.
 * @throws {CurioError} Outside a task.
 *
 * @example Usage
 * ```ts
 * import { _sigunwatch, _sigwatch } from "@curio/curio/traps";
 * import { run } from "@curio/curio";
 *
 * await run(async () => {
 *   const sigset = { signals: ["SIGUSR2"] as Deno.Signal[] };
 *   await _sigwatch(sigset);
 *   await _sigunwatch(sigset); // the listener is gone: run() can finish
 * });
 * ```
 */
export async function _sigunwatch(sigset: SignalWatchable): Promise<void> {
  unwatchSignals(sigset);
}

/**
 * Returns the next signal of `sigset`: the oldest queued one at once
 * (not a cancellation point), else blocks in state `"SIGNAL_WAIT"` until one
 * arrives. Without an open {@linkcode _sigwatch} it listens only while it
 * waits, so it catches the next signal only.
 *
 * @param sigset The signal set.
 * @returns The signal's name, e.g. `"SIGUSR1"`.
 * @throws {TypeError} If `sigset` has no `signals` array of names.
 * @throws {RangeError} If Deno cannot listen for one of the signals.
 * @throws {CurioError} Outside a task.
 *
 * @example Usage
 * ```ts
 * import { _sigunwatch, _sigwait, _sigwatch } from "@curio/curio/traps";
 * import { run, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const sigset = { signals: ["SIGUSR2"] as Deno.Signal[] };
 *   await _sigwatch(sigset);
 *   try {
 *     const waiter = await spawn(() => _sigwait(sigset));
 *     assert.equal(waiter.state, "SIGNAL_WAIT");
 *     Deno.kill(Deno.pid, "SIGUSR2");
 *     assert.equal(await waiter.join(), "SIGUSR2");
 *   } finally {
 *     await _sigunwatch(sigset);
 *   }
 * });
 * ```
 */
export async function _sigwait(sigset: SignalWatchable): Promise<Deno.Signal> {
  return await waitSignal(sigset);
}

/**
 * Ignores the signals of `sigset` until the returned object is disposed: the
 * Unix `SIG_IGN`, process wide. Signals arriving meanwhile are swallowed:
 * not queued by any watching set, and their default action (usually ending
 * the process) does not happen. Never blocks; works outside tasks too.
 *
 * @param sigset The signal set.
 * @returns A disposable for `using`.
 * @throws {TypeError} If `sigset` has no `signals` array of names.
 * @throws {RangeError} If Deno cannot listen for one of the signals.
 *
 * @example Usage
 * ```ts
 * import { _sigignore } from "@curio/curio/traps";
 * import { run, sleep } from "@curio/curio";
 *
 * await run(async () => {
 *   using _ = _sigignore({ signals: ["SIGUSR2"] as Deno.Signal[] });
 *   Deno.kill(Deno.pid, "SIGUSR2"); // swallowed: the process lives on
 *   await sleep(0.05);
 * });
 * ```
 */
export function _sigignore(sigset: SignalWatchable): Disposable {
  return ignoreSignals(sigset);
}
