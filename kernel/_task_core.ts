// Tasks and traps: how a task blocks, wakes, gets cancelled and times out.
//
// This is the only file that knows how a task blocks. Everything else
// (sleep, join, Lock, Queue, sockets, workers) blocks by calling `suspend()`
// or one of the traps in traps.ts built on it. Who runs next is the
// scheduler's business (_scheduler.ts); a task reaches it only through the
// narrow `TaskScheduler` interface below.
//
// The model, in brief:
// - A task is an async function started inside `context.run(core, fn)`, so
//   `context.getStore()` names the running task across every `await`.
// - A blocking operation is a *trap*: a promise only the kernel settles. The
//   trap is registered on its task while pending (`TaskCore.trap`), so a
//   cancel or an expired timeout can reject exactly the operations the task
//   is blocked on, several at once under Promise.all.
// - Waking is a commitment. Once a trap has been woken (a lock handed over,
//   an item delivered), a cancel can no longer reject it; the cancel waits
//   for the task's next trap. So nothing handed to a waiter is ever lost.
// - A woken trap is not resolved at once: it goes to the scheduler's ready
//   queue (`TaskScheduler.ready`), and a task that blocks hands the kernel
//   on (`TaskScheduler.release`).

import { AsyncLocalStorage } from "node:async_hooks";
import { nameOfSource, type NameSource } from "./_task_name.ts";
import type { Clock } from "./clock.ts";
import { type CancelledError, CurioError, TaskTimeout } from "./errors.ts";
import { type Expirable, TimerEntry } from "./_time_queue.ts";

/**
 * What a task's async context holds: a reference to the task, cleared when
 * the task ends (see TaskCore.ref). Deno keeps each context's value in a
 * WeakMap, and V8's young-generation collector keeps such values alive
 * through one more collection after their keys die: holding the task itself
 * there kept ~8 MB of ended tasks (each with everything it references)
 * alive through every scavenge of a spawn loop, and copied them (measured:
 * 6-8 MB survived per scavenge, 4-6 ms each; with a cleared reference, as
 * little as without any context).
 */
export class TaskRef {
  /**
   * The task's open timeout block that ends through the shared handlers in
   * timeouts.ts (at most one at a time; see withDeadline there). Kept here,
   * not on the task, so that a block whose function settles after its task
   * ended is still found.
   */
  block: TimeoutBlock | undefined = undefined;
  constructor(public core: TaskCore | undefined) {}
}

const storage = new AsyncLocalStorage<TaskRef>();
/** Runs a function in the context this module was loaded in: outside every task. */
const atRoot = AsyncLocalStorage.snapshot();

/** The task whose code is running, across awaits. Entered once per task. */
export const context: {
  /** Runs `fn` as code of `core`. */
  run<R>(core: TaskCore, fn: () => R): R;
  /**
   * Runs `fn` outside every task, in the context this module was loaded in:
   * it carries no task's AsyncLocalStorage values.
   */
  outside<R>(fn: () => R): R;
  /** Runs `fn(core)` as code of `core` (no closure needed to pass the task). */
  runTask<R>(core: TaskCore, fn: (core: TaskCore) => R): R;
  /** The task whose code is running, if any (an ended task reads as none). */
  getStore(): TaskCore | undefined;
  /** The reference the running code's context holds (kept after its task ended). */
  ref(): TaskRef | undefined;
} = {
  run<R>(core: TaskCore, fn: () => R): R {
    return storage.run(core.ref, fn);
  },
  outside<R>(fn: () => R): R {
    return atRoot(fn);
  },
  runTask<R>(core: TaskCore, fn: (core: TaskCore) => R): R {
    return storage.run(core.ref, fn, core);
  },
  getStore(): TaskCore | undefined {
    return storage.getStore()?.core;
  },
  ref(): TaskRef | undefined {
    return storage.getStore();
  },
};

/** Returns the running task, or throws a CurioError saying `action` needs one. */
export function currentCore(action: string): TaskCore {
  const core = context.getStore();
  if (core?.abandoned) {
    throw new CurioError(
      `Cannot ${action}: task ${core.id} (${core.name}) was abandoned at kernel shutdown while it awaited a promise the kernel does not know`,
    );
  }
  if (core === undefined || core.terminated) {
    throw new CurioError(
      `Cannot ${action}: not inside a task; call it from a function run by run() or spawn()`,
    );
  }
  return core;
}

/** Whether code runs inside a live task (of any kernel). */
export function insideTask(): boolean {
  const core = context.getStore();
  return core !== undefined && !core.terminated;
}

/** Throws a TypeError unless `fn` is a function (tasks are functions, not promises). */
export function checkTaskFunction(fn: unknown, action: string, form: string): void {
  if (typeof fn === "function") return;
  const what = fn !== null && typeof (fn as { then?: unknown })?.then === "function"
    ? "a Promise (the function was already called)"
    : fn === null
    ? "null"
    : typeof fn;
  throw new TypeError(
    `Cannot ${action}: expected a function such as ${form}, received ${what}`,
  );
}

/** Throws unless `seconds` is a finite, non-negative number. */
export function checkSeconds(seconds: unknown, action: string): asserts seconds is number {
  if (typeof seconds !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected seconds as a number, received ${typeof seconds}`,
    );
  }
  if (!(seconds >= 0) || seconds === Infinity) {
    throw new RangeError(
      `Cannot ${action}: seconds must be a finite number >= 0, received ${seconds}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Traps

/**
 * One blocking operation of one task. It is also the node of the intrusive
 * FIFO (`KernelQueue`) the task may be waiting in: `queue`, `prev`, `next`.
 */
export class Trap<T = unknown> implements Expirable {
  readonly promise: Promise<T>;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  /** Woken, interrupted or abandoned: settled or about to be. */
  done = false;
  #ok = true;
  #value: unknown = undefined;
  /**
   * Undoes the registration on interrupt: a function (given the interrupt's
   * error; undefined when the trap is abandoned), or a sleep's timer entry
   * to cancel (no closure per sleep).
   */
  cleanup: ((error: unknown) => void) | TimerEntry | undefined = undefined;
  queue: TrapList | undefined = undefined;
  prev: Trap | undefined = undefined;
  next: Trap | undefined = undefined;
  /**
   * The operation's last step, if it has one (see waitThen): run with
   * `finishArg` as the task resumes from a wake, its result is what the
   * wait returns and a throw is what it throws.
   */
  finish: ((arg: unknown) => unknown) | undefined = undefined;
  finishArg: unknown = undefined;

  constructor(readonly task: TaskCore) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve as (value: unknown) => void;
      this.#reject = reject;
    });
  }

  /** Completes the operation with `value`; the task resumes in the next cycle. */
  wake(value?: T): void {
    if (this.done) return;
    this.#settle(true, value);
  }

  /** Completes the operation with an error (e.g. `_rescheduleTasks(..., exc)`). */
  fail(error: unknown): void {
    if (this.done) return;
    this.#settle(false, error);
  }

  /** Cancels the operation: undoes its registration, then fails it. */
  interrupt(error: unknown): void {
    if (this.done) return;
    this.#runCleanup(error);
    this.#settle(false, error);
  }

  /** The task ended without awaiting this operation: unregister, never settle. */
  abandon(): void {
    if (this.done) return;
    this.#runCleanup(undefined);
    this.done = true;
    this.task.unblock(this);
  }

  expire(_now: number): void {
    this.wake(undefined);
  }

  /** Called by the scheduler when the trap's turn comes: hand the outcome to the task. */
  resume(): void {
    const task = this.task;
    task.cycles++;
    if (!task.terminated && task.trap === undefined) task.state = "RUNNING";
    if (!this.#ok) return this.#reject(this.#value);
    const finish = this.finish;
    if (finish === undefined) return this.#resolve(this.#value);
    try {
      this.#resolve(finish(this.finishArg));
    } catch (error) {
      this.#reject(error);
    }
  }

  #runCleanup(error: unknown): void {
    this.queue?.remove(this); // a waiter leaves its queue without a trace
    const cleanup = this.cleanup;
    this.cleanup = undefined;
    if (cleanup instanceof TimerEntry) cleanup.cancel();
    else if (cleanup !== undefined) cleanup(error);
  }

  #settle(ok: boolean, value: unknown): void {
    this.done = true;
    this.#ok = ok;
    this.#value = value;
    const task = this.task;
    task.unblock(this);
    task.sched.ready(this);
  }
}

/** An intrusive doubly linked FIFO of traps: O(1) push, shift and unlink. */
export class TrapList {
  #head: Trap | undefined = undefined;
  #tail: Trap | undefined = undefined;
  length = 0;

  push(trap: Trap): void {
    trap.queue = this;
    trap.prev = this.#tail;
    trap.next = undefined;
    if (this.#tail === undefined) this.#head = trap;
    else this.#tail.next = trap;
    this.#tail = trap;
    this.length++;
  }

  shift(): Trap | undefined {
    const trap = this.#head;
    if (trap !== undefined) this.remove(trap);
    return trap;
  }

  remove(trap: Trap): void {
    if (trap.queue !== this) return;
    if (trap.prev === undefined) this.#head = trap.next;
    else trap.prev.next = trap.next;
    if (trap.next === undefined) this.#tail = trap.prev;
    else trap.next.prev = trap.prev;
    trap.queue = trap.prev = trap.next = undefined;
    this.length--;
  }
}

/**
 * Raises a cancel or timeout that arrived while `task` was not blocked: a
 * rejected promise to return instead of blocking, or undefined. Every trap
 * started in the same synchronous run (Promise.all, allSettled) gets it too;
 * it is cleared one microtask later, before any code can react to it, so a
 * catch or finally can block again normally.
 */
function deliverPending(task: TaskCore): Promise<never> | undefined {
  const pending = task.pending;
  if (pending === undefined) return undefined;
  clearPendingSoon(task, pending);
  return Promise.reject(pending);
}

/**
 * Clears `pending` from `task` one microtask from now (see deliverPending).
 * A function of its own: a closure in deliverPending would make V8 allocate
 * its context on every call, pending or not (48 B per blocking operation).
 */
function clearPendingSoon(task: TaskCore, pending: CancelledError): void {
  queueMicrotask(() => {
    if (task.pending === pending) task.pending = undefined;
  });
}

/**
 * Blocks the task `task` in a new trap and returns its promise.
 * `arm(trap, arg)` registers the trap wherever it will be woken from, and
 * sets `trap.cleanup` to undo that registration if the trap is interrupted.
 * (`arg` lets a shared `arm` take what a closure would capture: a closure
 * per blocking operation costs its context too.)
 *
 * A cancel or timeout that arrived while the task was not blocked is
 * delivered here instead of blocking; so is a deadline that passed while
 * the task computed (see Scheduler.beforeBlock).
 */
export function suspend<T, A = undefined>(
  task: TaskCore,
  state: string,
  arm: (trap: Trap<T>, arg: A) => void,
  arg: A,
): Promise<T> {
  task.sched.beforeBlock();
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap<T>(task);
  task.block(trap as Trap, state);
  arm(trap, arg);
  task.sched.release(task);
  return trap.promise;
}

/**
 * Blocks `task` in a new trap at the back of `list`; interrupting it unlinks
 * it, then calls `onInterrupt` (if given) with the cancel or timeout. The hot
 * path of every primitive, so it allocates no closures. `finish` (if given)
 * is the operation's last step, run with `finishArg` when a wake resumes the
 * task (Trap.finish).
 */
export function suspendInList(
  task: TaskCore,
  state: string,
  list: TrapList,
  onInterrupt?: (error: unknown) => void,
  finish?: (arg: unknown) => unknown,
  finishArg?: unknown,
): Promise<unknown> {
  task.sched.beforeBlock();
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap(task);
  task.block(trap, state);
  list.push(trap);
  trap.cleanup = onInterrupt;
  if (finish !== undefined) {
    trap.finish = finish;
    trap.finishArg = finishArg;
  }
  task.sched.release(task);
  return trap.promise;
}

/**
 * Blocks `task` until `promise` (one the kernel does not know) settles: its
 * value or error is the trap's. A cancel or timeout leaves the promise
 * behind; its later outcome lands on a trap that is done, so a rejection is
 * never unhandled.
 */
export function suspendOn<T>(task: TaskCore, state: string, promise: PromiseLike<T>): Promise<T> {
  return suspend(task, state, armOn<T>, promise);
}

function armOn<T>(trap: Trap<T>, promise: PromiseLike<T>): void {
  promise.then((value) => trap.wake(value), (error) => trap.fail(error));
}

/** Registers `trap` to be woken after `seconds` on the task's kernel clock. */
export function armSleep(trap: Trap<void>, seconds: number): void {
  const sched = trap.task.sched;
  trap.cleanup = sched.addTimer(sched.blockTime() + seconds, trap);
}

// ---------------------------------------------------------------------------
// Timeouts

/**
 * One `timeoutAfter` block of one task. It is its own entry in the kernel's
 * deadline heap (one object per block, not two).
 */
export class TimeoutBlock extends TimerEntry implements Expirable {
  expired = false;
  /** The block's AbortSignal (`currentSignal()` inside it), created on first use. */
  #abort: AbortController | undefined = undefined;
  /** Why the block's signal aborted (a timeout here or further out, a cancel). */
  #reason: CancelledError | undefined = undefined;

  /**
   * @param seconds The time limit asked for (`timeoutAfter`), or undefined
   * for an absolute deadline (`timeoutAt`): it words the TaskTimeout.
   */
  constructor(
    readonly task: TaskCore,
    deadline: number,
    readonly seconds: number | undefined,
  ) {
    super(deadline);
  }

  /** The TaskTimeout this block raises, in the words the user asked for it. */
  timeout(): TaskTimeout {
    return new TaskTimeout(
      this.seconds === undefined
        ? `Timed out at deadline ${this.deadline} (clock())`
        : `Timed out after ${this.seconds} s`,
    );
  }

  expire(now: number): void {
    const task = this.task;
    const stack = task.timeouts;
    const mine = stack.indexOf(this);
    if (mine === -1) return;
    // Every block whose deadline has passed has expired, not just this one.
    for (const block of stack) if (block.deadline <= now) block.expired = true;
    const error = this.timeout();
    // This block's signal aborts, and so do those of the blocks inside it.
    for (let i = mine; i < stack.length; i++) stack[i]!.abort(error);
    task.sched.interrupt(task, error);
  }

  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      this.task.signalUsed = true;
      if (this.#reason !== undefined) this.#abort.abort(this.#reason);
    }
    return this.#abort.signal;
  }

  abort(reason: CancelledError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#abort?.abort(reason);
  }
}

// ---------------------------------------------------------------------------
// Tasks

let nextTaskId = 1;

// TaskCore's flags.
const TERMINATED = 1;
const FAILED = 2;
const SIGNAL_USED = 4;
const FOREIGN_REPORTED = 8;
const ABANDONED = 16;
const IS_MAIN = 32;
const DAEMON = 64;
const NO_TIMEOUTS: TimeoutBlock[] = Object.freeze([]) as unknown as TimeoutBlock[];

/**
 * A task's rarely used state, allocated on first use: most tasks are never
 * cancelled, traced, joined while running or asked for a signal, and a
 * field on TaskCore costs every task 8 bytes.
 */
class TaskExtras {
  /** Traps beyond `TaskCore.trap` the task waits on at once (Promise.all). */
  moreTraps: Trap[] | undefined = undefined;
  pending: CancelledError | undefined = undefined;
  cancelError: CancelledError | undefined = undefined;
  waitStack: Error | undefined = undefined;
  stateSince = 0;
  joiners: TrapList | undefined = undefined;
  abort: AbortController | undefined = undefined;
  done: Promise<void> | undefined = undefined;
  resolveDone: (() => void) | undefined = undefined;
}

/** A task's private state. `Task` (task.ts) is its public face. */
export class TaskCore {
  readonly id: number = nextTaskId++;
  state = "READY";
  cycles = 0;
  /** TERMINATED, FAILED, ...: the task's yes/no facts in one small integer (one field, not seven). */
  #flags = 0;
  /** The task's result, or its exception when FAILED. */
  #outcome: unknown = undefined;
  /**
   * The trap the task is blocked on right now (undefined: not blocked); any
   * more it waits on at once (Promise.all) are in the extras.
   */
  trap: Trap | undefined = undefined;
  /** How many of the task's runnables (woken traps, its start) wait in the ready queue. */
  queued = 0;
  /** The task's timeout blocks, outermost first. */
  timeouts: TimeoutBlock[] = NO_TIMEOUTS;
  #extras: TaskExtras | undefined = undefined;
  /** The public Task, set by task.ts right after construction. */
  facade: unknown = undefined;
  /** What the task's async context holds; cleared when it ends (see TaskRef). */
  readonly ref: TaskRef = new TaskRef(this);
  /** The id of the task that spawned this one (undefined for main and kernel tasks). */
  parentId: number | undefined = undefined;
  /** The kernel's live tasks are a list through these two fields (linked_list.ts). */
  prev: TaskCore | undefined = undefined;
  next: TaskCore | undefined = undefined;

  /**
   * The `name` option or the default name once worked out (a string), else
   * where the default name comes from when not `fn` (a wrapper's function,
   * a namer), else undefined (see `name`).
   */
  #name: string | NameSource | undefined;

  constructor(
    readonly sched: TaskScheduler,
    readonly fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    nameFrom?: NameSource,
  ) {
    this.#name = name ?? nameFrom;
    if (daemon) this.#flags = DAEMON;
  }

  #more(): TaskExtras {
    return (this.#extras ??= new TaskExtras());
  }

  /** A cancellation to raise at the task's next trap. */
  get pending(): CancelledError | undefined {
    return this.#extras?.pending;
  }
  set pending(error: CancelledError | undefined) {
    if (error !== undefined || this.#extras !== undefined) this.#more().pending = error;
  }

  /** The CancelledError of the task's cancel, once asked for. */
  get cancelError(): CancelledError | undefined {
    return this.#extras?.cancelError;
  }
  set cancelError(error: CancelledError | undefined) {
    this.#more().cancelError = error;
  }

  /**
   * Where the task last blocked (recorded only while tracing is on). An Error
   * whose `.stack` is formatted only when read: capturing costs ~4 µs per
   * block, formatting ~50 µs (measured), so only `where` pays for it.
   */
  get waitStack(): Error | undefined {
    return this.#extras?.waitStack;
  }

  /** Since when (kernel clock) the task has been in its current state (while tracing). */
  get stateSince(): number {
    return this.#extras?.stateSince ?? 0;
  }

  /** What the task's function returned (undefined while running, or if it failed). */
  get result(): unknown {
    return this.failed ? undefined : this.#outcome;
  }

  /** What the task's function threw (undefined unless it failed). */
  get exception(): unknown {
    return this.failed ? this.#outcome : undefined;
  }

  /** The task ended: its function returned `value` (ok) or threw it. */
  settle(ok: boolean, value: unknown): void {
    this.#flags |= ok ? TERMINATED : TERMINATED | FAILED;
    this.#outcome = value;
  }

  #set(flag: number, on: boolean): void {
    this.#flags = on ? this.#flags | flag : this.#flags & ~flag;
  }

  /** The task has ended (its function returned or threw, or it was abandoned). */
  get terminated(): boolean {
    return (this.#flags & TERMINATED) !== 0;
  }

  /** The task ended with an error (`exception`). */
  get failed(): boolean {
    return (this.#flags & FAILED) !== 0;
  }

  /** Someone asked for one of the task's AbortSignals (task.signal, currentSignal()). */
  get signalUsed(): boolean {
    return (this.#flags & SIGNAL_USED) !== 0;
  }
  set signalUsed(on: boolean) {
    this.#set(SIGNAL_USED, on);
  }

  /** The task was told once that a cancel found it awaiting a foreign promise. */
  get foreignReported(): boolean {
    return (this.#flags & FOREIGN_REPORTED) !== 0;
  }
  set foreignReported(on: boolean) {
    this.#set(FOREIGN_REPORTED, on);
  }

  /** Left behind at shutdown, stuck in a foreign promise: kernel operations fail at once. */
  get abandoned(): boolean {
    return (this.#flags & ABANDONED) !== 0;
  }
  set abandoned(on: boolean) {
    this.#set(ABANDONED, on);
  }

  /** The task run() was given: its failure is reported by run(), not logged. */
  get isMain(): boolean {
    return (this.#flags & IS_MAIN) !== 0;
  }
  set isMain(on: boolean) {
    this.#set(IS_MAIN, on);
  }

  /** A daemon: the kernel does not wait for it. */
  get daemon(): boolean {
    return (this.#flags & DAEMON) !== 0;
  }

  /** The task's name: the `name` option, else worked out from its function when first read. */
  get name(): string {
    const name = this.#name;
    if (typeof name === "string") return name;
    return (this.#name = nameOfSource(name ?? this.fn));
  }

  /** Whether a cancel was asked for (`Task.cancelled`). */
  get cancelled(): boolean {
    return this.cancelError !== undefined;
  }

  /** Every trap the task is blocked on right now (a copy). */
  get traps(): Trap[] {
    const first = this.trap;
    if (first === undefined) return [];
    const more = this.#extras?.moreTraps;
    return more === undefined ? [first] : [first, ...more];
  }

  block(trap: Trap, state: string): void {
    this.state = state;
    const sched = this.sched;
    if (sched.tracing) {
      const extras = this.#more();
      extras.waitStack = new Error();
      extras.stateSince = sched.clock.now();
    }
    if (this.trap === undefined) {
      this.trap = trap;
      sched.blocked++;
      sched.checkIdle();
    } else {
      (this.#more().moreTraps ??= []).push(trap);
    }
  }

  unblock(trap: Trap): void {
    const extras = this.#extras;
    const more = extras?.moreTraps;
    if (this.trap === trap) {
      this.trap = more === undefined ? undefined : more.shift(); // usually: one wait at a time
    } else {
      const i = more === undefined ? -1 : more.indexOf(trap);
      if (i === -1) return;
      more!.splice(i, 1);
    }
    if (more !== undefined && more.length === 0) extras!.moreTraps = undefined;
    if (this.trap === undefined) {
      this.sched.blocked--;
      this.state = "READY";
    }
  }

  /**
   * The task ended: operations it started but never awaited, its timeout
   * blocks and an undelivered cancel must not outlive it.
   */
  dropWaits(): void {
    if (this.trap !== undefined) { for (const trap of this.traps) trap.abandon(); }
    if (this.timeouts.length > 0) {
      for (const block of this.timeouts) block.cancel();
      this.timeouts = NO_TIMEOUTS;
    }
    this.pending = undefined;
  }

  /** The tasks waiting for this one to terminate. */
  get joiners(): TrapList {
    return (this.#more().joiners ??= new TrapList());
  }

  get signal(): AbortSignal {
    const extras = this.#more();
    if (extras.abort === undefined) {
      extras.abort = new AbortController();
      this.signalUsed = true;
      if (extras.cancelError !== undefined) extras.abort.abort(extras.cancelError);
    }
    return extras.abort.signal;
  }

  /** Aborts the task's signal, if anyone asked for it. */
  abortSignal(reason: CancelledError): void {
    this.#extras?.abort?.abort(reason);
  }

  /** The AbortSignal of the innermost open timeout block, else the task's. */
  currentSignal(): AbortSignal {
    const stack = this.timeouts;
    return stack.length === 0 ? this.signal : stack[stack.length - 1]!.signal;
  }

  /** Resolves when the task has terminated; for waiters outside any task. */
  whenDone(): Promise<void> {
    if (this.terminated) return Promise.resolve();
    const extras = this.#more();
    return (extras.done ??= new Promise<void>((resolve) => {
      extras.resolveDone = resolve;
    }));
  }

  finished(): void {
    const extras = this.#extras;
    if (extras === undefined) return;
    extras.resolveDone?.();
    const joiners = extras.joiners;
    if (joiners !== undefined) {
      for (let t = joiners.shift(); t !== undefined; t = joiners.shift()) t.wake(undefined);
    }
  }

  /**
   * Blocks the running task `waiter` until this task terminates; then
   * `finish(finishArg)`, if given, is the wait's last step (Trap.finish).
   */
  waitFor(
    waiter: TaskCore,
    finish?: (arg: unknown) => unknown,
    finishArg?: unknown,
  ): Promise<unknown> {
    if (this.terminated) {
      try {
        return Promise.resolve(finish?.(finishArg));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (waiter === this) {
      // A task waiting on itself can only leave through a cancellation.
      const pending = deliverPending(waiter);
      if (pending !== undefined) return pending;
      return Promise.reject(
        new CurioError(`Cannot wait for task ${this.id}: a task cannot wait for itself`),
      );
    }
    return suspendInList(waiter, "TASK_JOIN", this.joiners, undefined, finish, finishArg);
  }
}

/** Something the ready queue holds: a woken trap, or the first cycle of a task. */
export interface Runnable {
  readonly task: TaskCore;
  resume(): void;
}

/**
 * What tasks and traps need of their scheduler (`Scheduler` in
 * _scheduler.ts): the seam between how a task blocks and who runs next.
 */
export interface TaskScheduler {
  /** The kernel clock. */
  readonly clock: Clock;
  /** Record where each task blocks (the monitor turns this on). */
  readonly tracing: boolean;
  /** Live tasks blocked in at least one trap. */
  blocked: number;
  /** The public Kernel object. */
  readonly kernel: unknown;
  /** A runnable became ready: it joins the back of the ready queue. */
  ready(item: Runnable): void;
  /** `task` blocked or finished: if it held the kernel, the next runnable runs. */
  release(task: TaskCore): void;
  /** Called before a task blocks: fires deadlines that passed meanwhile. */
  beforeBlock(): void;
  /** The kernel clock for the operation blocking now (suspend's arm): beforeBlock's reading, if fresh. */
  blockTime(): number;
  /** Checks whether every task is blocked (MockClock autojump). */
  checkIdle(): void;
  /** Schedules `target` to expire at `deadline` on the kernel clock. */
  addTimer(deadline: number, target: Expirable): TimerEntry;
  /** Schedules `entry` to expire at its deadline (an entry that is its own target). */
  armTimer(entry: TimerEntry): void;
  /** Raises `error` in `task` where it is blocked, or at its next blocking operation. */
  interrupt(task: TaskCore, error: CancelledError): void;
  /** Asks `task` to cancel; false if it had already terminated. */
  requestCancel(task: TaskCore): boolean;
  /** Starts a task from outside every task, as a child of `parent` (see Scheduler.spawn). */
  spawn(
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    isMain?: boolean,
    parent?: TaskCore,
    nameFrom?: NameSource,
  ): TaskCore;
  /** spawn() from task `parent` (see Scheduler.spawnFrom). */
  spawnFrom<T>(
    parent: TaskCore,
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    wrap: (core: TaskCore) => T,
    nameFrom?: NameSource,
  ): Promise<T>;
  /** Runs `hook` when the kernel shuts down; returns the unregister function. */
  addShutdownHook(hook: () => unknown): () => void;
}

/**
 * Opens a timeout block with an absolute `deadline` for `task`; `seconds`
 * is the limit asked for, if it was asked relative. A cancel disarms the
 * blocks open at that moment (see requestCancel), not the ones its cleanup
 * opens afterwards: `ignoreAfter(grace, drain)` in a cancelled task's
 * finally still bounds the drain.
 */
export function enterTimeout(
  task: TaskCore,
  deadline: number,
  seconds?: number,
): TimeoutBlock {
  const block = new TimeoutBlock(task, deadline, seconds);
  // A one-element literal: push() onto [] would grow a 17-slot store per task.
  if (task.timeouts === NO_TIMEOUTS) task.timeouts = [block];
  else task.timeouts.push(block);
  task.sched.armTimer(block);
  return block;
}

/**
 * Closes a timeout block. Leaving it into an enclosing block whose deadline
 * has passed makes a TaskTimeout pending, raised at the next blocking
 * operation (curio): a caught TimeoutCancellationError buys no time. An
 * undelivered timeout that no open block is left to catch is dropped.
 */
export function exitTimeout(block: TimeoutBlock): void {
  const task = block.task;
  let stack = task.timeouts;
  const i = stack.lastIndexOf(block);
  if (i !== -1) {
    // Usually the innermost block leaves: pop() allocates nothing, splice() an array.
    if (i === stack.length - 1) stack.pop();
    else stack.splice(i, 1);
  }
  if (stack.length === 0) stack = task.timeouts = NO_TIMEOUTS;
  block.cancel();
  let expired: TimeoutBlock | undefined;
  for (const b of stack) {
    if (b.expired) {
      expired = b;
      break;
    }
  }
  if (expired === undefined) {
    if (task.pending instanceof TaskTimeout) task.pending = undefined;
  } else if (task.pending === undefined && task.cancelError === undefined) {
    task.pending = expired.timeout();
  }
}
