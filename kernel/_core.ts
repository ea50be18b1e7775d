// The kernel's machinery: how tasks block, wake, get cancelled and time out.
//
// This is the only file that knows how a task blocks. Everything else
// (sleep, join, Lock, Queue, sockets, workers) blocks by calling `suspend()`
// or one of the traps in traps.ts built on it.
//
// The model, in brief:
// - A task is an async function started inside `context.run(core, fn)`, so
//   `context.getStore()` names the running task across every `await`.
// - A blocking operation is a *trap*: a promise only the kernel settles. The
//   trap is registered on its task while pending (`TaskCore.traps`), so a
//   cancel or an expired timeout can reject exactly the operations the task
//   is blocked on, several at once under Promise.all.
// - Waking is a commitment. Once a trap has been woken (a lock handed over,
//   an item delivered), a cancel can no longer reject it; the cancel waits
//   for the task's next trap. So nothing handed to a waiter is ever lost.
// - A woken task resumes through the microtask queue, FIFO behind every task
//   already ready. Once the kernel has gone YIELD_MS without letting Deno's
//   event loop run, wakes are parked and resumed from setImmediate instead,
//   so timers, sockets and signals are never starved by tasks that only talk
//   to each other.

import { AsyncLocalStorage } from "node:async_hooks";
import { clearImmediate, setImmediate } from "node:timers";
import { onJump } from "./_clock_events.ts";
import { type Clock, MockClock } from "./clock.ts";
import { CancelledError, CurioError, TaskTimeout } from "./errors.ts";
import { type Expirable, TimeQueue, type TimerEntry } from "./_time_queue.ts";

/** The task whose code is running, across awaits. Entered once per task. */
export const context: AsyncLocalStorage<TaskCore> = new AsyncLocalStorage<TaskCore>();

/** How long wakes may chain as microtasks before yielding to the event loop. */
const YIELD_MS = 2;
/** How many wakes between two looks at the time (a power of two). */
const WAKE_CHECK = 32;

/** Returns the running task, or throws a CurioError saying `action` needs one. */
export function currentCore(action: string): TaskCore {
  const core = context.getStore();
  if (core === undefined || core.terminated) {
    throw new CurioError(
      `Cannot ${action}: not inside a task; call it from a function run by run() or spawn()`,
    );
  }
  return core;
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
  /** Undoes the registration (unlinks a waiter, cancels a timer) on interrupt. */
  cleanup: (() => void) | undefined = undefined;
  queue: TrapList | undefined = undefined;
  prev: Trap | undefined = undefined;
  next: Trap | undefined = undefined;

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
    this.#runCleanup();
    this.#settle(false, error);
  }

  /** The task ended without awaiting this operation: unregister, never settle. */
  abandon(): void {
    if (this.done) return;
    this.#runCleanup();
    this.done = true;
    this.task.unblock(this);
  }

  expire(_now: number): void {
    this.wake(undefined);
  }

  /** Called by the scheduler's cycle: hand the outcome to the task. */
  resume(): void {
    const task = this.task;
    task.cycles++;
    if (!task.terminated && task.traps.length === 0) task.state = "RUNNING";
    if (this.#ok) this.#resolve(this.#value);
    else this.#reject(this.#value);
  }

  #runCleanup(): void {
    this.queue?.remove(this); // a waiter leaves its queue without a trace
    const cleanup = this.cleanup;
    this.cleanup = undefined;
    if (cleanup !== undefined) cleanup();
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
  queueMicrotask(() => {
    if (task.pending === pending) task.pending = undefined;
  });
  return Promise.reject(pending);
}

/**
 * Blocks the task `task` in a new trap and returns its promise. `arm`
 * registers the trap wherever it will be woken from, and sets
 * `trap.cleanup` to undo that registration if the trap is interrupted.
 *
 * A cancel or timeout that arrived while the task was not blocked is
 * delivered here instead of blocking.
 */
export function suspend<T>(
  task: TaskCore,
  state: string,
  arm: (trap: Trap<T>) => void,
): Promise<T> {
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap<T>(task);
  task.block(trap as Trap, state);
  arm(trap);
  return trap.promise;
}

/**
 * Blocks `task` in a new trap at the back of `list`; interrupting it unlinks
 * it. The hot path of every primitive, so it allocates no closures.
 */
export function suspendInList(task: TaskCore, state: string, list: TrapList): Promise<unknown> {
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap(task);
  task.block(trap, state);
  list.push(trap);
  return trap.promise;
}

/** Registers `trap` to be woken after `seconds` on the task's kernel clock. */
export function armSleep(trap: Trap<void>, seconds: number): void {
  const sched = trap.task.sched;
  const entry = sched.addTimer(sched.clock.now() + seconds, trap);
  trap.cleanup = () => entry.cancel();
}

// ---------------------------------------------------------------------------
// Timeouts

/** One `timeoutAfter` block of one task. */
export class TimeoutBlock implements Expirable {
  expired = false;
  entry: TimerEntry | undefined = undefined;
  constructor(readonly task: TaskCore, readonly deadline: number) {}

  expire(now: number): void {
    const task = this.task;
    const stack = task.timeouts;
    if (!stack.includes(this)) return;
    // Every block whose deadline has passed has expired, not just this one.
    for (const block of stack) if (block.deadline <= now) block.expired = true;
    task.sched.interrupt(task, new TaskTimeout(`Timed out after deadline ${this.deadline}`));
  }
}

// ---------------------------------------------------------------------------
// Tasks

let nextTaskId = 1;
const NO_TIMEOUTS: TimeoutBlock[] = Object.freeze([]) as unknown as TimeoutBlock[];

/** A task's private state. `Task` (task.ts) is its public face. */
export class TaskCore {
  readonly id: number = nextTaskId++;
  state = "READY";
  cycles = 0;
  terminated = false;
  cancelled = false;
  failed = false;
  result: unknown = undefined;
  exception: unknown = undefined;
  /** The traps the task is blocked on right now. */
  readonly traps: Trap[] = [];
  /** A cancellation to raise at the task's next trap. */
  pending: CancelledError | undefined = undefined;
  cancelRequested = false;
  /** The task's timeout blocks, outermost first. */
  timeouts: TimeoutBlock[] = NO_TIMEOUTS;
  /**
   * Where the task last blocked (recorded only while tracing is on). An Error
   * whose `.stack` is formatted only when read: capturing costs ~4 µs per
   * block, formatting ~50 µs (measured), so only `where` pays for it.
   */
  waitStack: Error | undefined = undefined;
  /** Since when (kernel clock) the task has been in its current state. */
  stateSince = 0;
  #joiners: TrapList | undefined = undefined;
  #abort: AbortController | undefined = undefined;
  #done: Promise<void> | undefined = undefined;
  #resolveDone: (() => void) | undefined = undefined;
  /** The public Task, set by task.ts right after construction. */
  facade: unknown = undefined;
  /** The task run() was given: its failure is reported by run(), not logged. */
  isMain = false;
  /** The id of the task that spawned this one (undefined for main and kernel tasks). */
  parentId: number | undefined = undefined;

  constructor(
    readonly sched: Scheduler,
    readonly fn: () => unknown,
    readonly name: string,
    readonly daemon: boolean,
  ) {}

  block(trap: Trap, state: string): void {
    const traps = this.traps;
    traps.push(trap);
    this.state = state;
    const sched = this.sched;
    if (sched.tracing) {
      this.waitStack = new Error();
      this.stateSince = sched.clock.now();
    }
    if (traps.length === 1) {
      sched.blocked++;
      sched.checkIdle();
    }
  }

  unblock(trap: Trap): void {
    const traps = this.traps;
    if (traps.length === 1 && traps[0] === trap) {
      traps.pop(); // the common case: one wait at a time
    } else {
      const i = traps.indexOf(trap);
      if (i === -1) return;
      traps.splice(i, 1);
    }
    if (traps.length === 0) {
      this.sched.blocked--;
      this.state = "READY";
    }
  }

  /** The tasks waiting for this one to terminate. */
  get joiners(): TrapList {
    return (this.#joiners ??= new TrapList());
  }

  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.cancelRequested) this.#abort.abort(new CancelledError(`Task ${this.id} cancelled`));
    }
    return this.#abort.signal;
  }

  abortSignal(reason: unknown): void {
    this.#abort?.abort(reason);
  }

  /** Resolves when the task has terminated; for waiters outside any task. */
  whenDone(): Promise<void> {
    if (this.terminated) return Promise.resolve();
    return (this.#done ??= new Promise<void>((resolve) => {
      this.#resolveDone = resolve;
    }));
  }

  finished(): void {
    this.#resolveDone?.();
    const joiners = this.#joiners;
    if (joiners !== undefined) {
      for (let t = joiners.shift(); t !== undefined; t = joiners.shift()) t.wake(undefined);
    }
  }

  /** Blocks the running task `waiter` until this task terminates. */
  waitFor(waiter: TaskCore): Promise<void> {
    if (this.terminated) return Promise.resolve();
    if (waiter === this) {
      // A task waiting on itself can only leave through a cancellation.
      const pending = deliverPending(waiter);
      if (pending !== undefined) return pending;
      return Promise.reject(
        new CurioError(`Cannot wait for task ${this.id}: a task cannot wait for itself`),
      );
    }
    return suspendInList(waiter, "TASK_JOIN", this.joiners) as Promise<void>;
  }
}

// ---------------------------------------------------------------------------
// The scheduler

/** What Scheduler needs from KernelOptions (see kernel.ts). */
export interface SchedulerOptions {
  logErrors: boolean;
  debug: boolean;
  clock: Clock;
}

export class Scheduler {
  readonly clock: Clock;
  readonly logErrors: boolean;
  readonly debug: boolean;
  /** Record where each task blocks (the monitor turns this on). */
  tracing = false;
  /** Live tasks by id, in creation order. */
  readonly tasks: Map<number, TaskCore> = new Map();
  /** The public Kernel object (set by kernel.ts). */
  kernel: unknown = undefined;
  /** Live tasks blocked in at least one trap. */
  blocked = 0;
  nonDaemon = 0;
  /** Total wakes, to tell whether anything happened between two looks. */
  #wakeCount = 0;

  /** Wakes parked while the kernel yields to the event loop. */
  #ready: Trap[] = [];
  #parkedFns: Array<() => void> = [];
  #scheduled = false;
  #yielding = false;
  #lastYield = performance.now();
  #timers = new TimeQueue();
  #host: ReturnType<typeof setTimeout> | undefined = undefined;
  #hostDeadline = Infinity;
  #running = false;
  #mock: MockClock | undefined;
  #unsubscribe: (() => void) | undefined = undefined;
  #idlePending = false;
  #idleHandle: { clear(): void } | undefined = undefined;
  #allDone: Array<() => void> = [];
  #shutdownHooks: Array<() => unknown> = [];

  constructor(options: SchedulerOptions) {
    this.clock = options.clock;
    this.logErrors = options.logErrors;
    this.debug = options.debug;
    this.#mock = options.clock instanceof MockClock ? options.clock : undefined;
  }

  /** Starts serving timers (called when Kernel.run begins). */
  start(): void {
    this.#running = true;
    if (this.#mock !== undefined) {
      this.#unsubscribe = onJump(this.#mock, () => this.#fireTimers(this.clock.now()));
      this.checkIdle();
    } else {
      this.#armHost();
    }
  }

  /** Stops serving timers, so nothing of the kernel keeps Deno alive. */
  stop(): void {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#idleHandle?.clear();
    this.#idleHandle = undefined;
    this.#idlePending = false;
    if (this.#host !== undefined) {
      clearTimeout(this.#host);
      this.#host = undefined;
      this.#hostDeadline = Infinity;
    }
  }

  // --- tasks -------------------------------------------------------------

  spawn(fn: () => unknown, name: string, daemon: boolean, isMain = false): TaskCore {
    const core = new TaskCore(this, fn, name, daemon);
    core.isMain = isMain;
    core.parentId = context.getStore()?.id;
    this.tasks.set(core.id, core);
    if (!daemon) this.nonDaemon++;
    core.state = "RUNNING";
    let result: unknown;
    try {
      result = context.run(core, fn);
    } catch (error) {
      result = Promise.reject(error);
    }
    (result instanceof Promise ? result : Promise.resolve(result)).then(
      (value) => this.#finish(core, true, value),
      (error) => this.#finish(core, false, error),
    );
    return core;
  }

  #finish(core: TaskCore, ok: boolean, value: unknown): void {
    core.terminated = true;
    core.state = "TERMINATED";
    if (ok) core.result = value;
    else {
      core.failed = true;
      core.exception = value;
    }
    // Operations started but never awaited must not outlive the task.
    if (core.traps.length > 0) { for (const trap of [...core.traps]) trap.abandon(); }
    if (core.timeouts.length > 0) {
      for (const block of core.timeouts) block.entry?.cancel();
      if (core.timeouts !== NO_TIMEOUTS) core.timeouts.length = 0;
    }
    core.pending = undefined;
    this.tasks.delete(core.id);
    if (!ok && !(value instanceof CancelledError)) this.#reportCrash(core, value);
    core.finished();
    if (!core.daemon && --this.nonDaemon === 0) {
      const waiters = this.#allDone;
      this.#allDone = [];
      for (const resolve of waiters) resolve();
    }
    this.checkIdle();
  }

  #reportCrash(core: TaskCore, error: unknown): void {
    if (core.isMain) return; // its error is what run() rejects with
    if (this.logErrors) {
      console.error(`curio: task ${core.id} (${core.name}) crashed:`, error);
    }
    if (this.debug) {
      // The manual's `pdb=True`: stop here in an attached inspector.
      // deno-lint-ignore no-debugger
      debugger;
    }
  }

  /** Resolves once no non-daemon task is left. */
  whenNonDaemonDone(): Promise<void> {
    if (this.nonDaemon === 0) return Promise.resolve();
    return new Promise((resolve) => this.#allDone.push(resolve));
  }

  /** Asks `task` to cancel; false if it had already terminated. */
  requestCancel(task: TaskCore): boolean {
    if (task.terminated) return false;
    if (task.cancelRequested) return true;
    task.cancelRequested = true;
    task.cancelled = true;
    const error = new CancelledError(`Task ${task.id} (${task.name}) was cancelled`);
    task.abortSignal(error);
    this.interrupt(task, error);
    return true;
  }

  /** Raises `error` in `task` at the traps it is blocked on, or at its next one. */
  interrupt(task: TaskCore, error: CancelledError): void {
    if (task.terminated) return;
    const traps = task.traps;
    if (traps.length > 0) {
      for (const trap of [...traps]) trap.interrupt(error);
      return;
    }
    // A pending cancel outranks a pending timeout.
    const pending = task.pending;
    if (
      pending === undefined || pending instanceof TaskTimeout || !(error instanceof TaskTimeout)
    ) {
      task.pending = error;
    }
  }

  /**
   * Cancels every remaining task, newest first, each awaited; then runs the
   * shutdown hooks, last registered first.
   */
  async shutdown(): Promise<void> {
    while (this.tasks.size > 0) {
      let newest: TaskCore | undefined;
      for (const task of this.tasks.values()) newest = task;
      this.requestCancel(newest!);
      await newest!.whenDone();
    }
    while (this.#shutdownHooks.length > 0) {
      const hook = this.#shutdownHooks.pop()!;
      try {
        await hook();
      } catch (error) {
        if (this.logErrors) console.error("curio: a shutdown hook failed:", error);
      }
    }
  }

  /** Runs `hook` when the kernel shuts down; returns a function that unregisters it. */
  addShutdownHook(hook: () => unknown): () => void {
    this.#shutdownHooks.push(hook);
    return () => {
      const i = this.#shutdownHooks.indexOf(hook);
      if (i !== -1) this.#shutdownHooks.splice(i, 1);
    };
  }

  // --- waking ------------------------------------------------------------

  /**
   * Hands a settled trap back to its task. Normally at once: the promise is
   * resolved and the task's continuation joins the microtask queue behind
   * everything already ready, which is FIFO and cheap. But a chain of
   * microtasks never lets Deno's event loop run, so every WAKE_CHECK wakes
   * the kernel looks at the time; once YIELD_MS have passed since it last
   * yielded, wakes are parked in the ready queue and resumed from
   * setImmediate, after timers and I/O have had their turn.
   */
  ready(trap: Trap): void {
    this.#wakeCount++;
    if (!this.#yielding && (this.#wakeCount & (WAKE_CHECK - 1)) === 0) {
      this.#yielding = performance.now() - this.#lastYield > YIELD_MS;
    }
    if (this.#yielding) {
      this.#ready.push(trap);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#resumeParked);
      }
      return;
    }
    trap.resume();
    // A task woken in one of several traps (Promise.all) stays blocked in
    // the others without blocking anew: that may be the moment all are idle.
    if (trap.task.traps.length > 0) this.checkIdle();
  }

  /**
   * Resolves with `value` at once, or, while the kernel is yielding to the
   * event loop, together with the parked wakes: a parent spawning in a loop
   * then waits its turn instead of piling up thousands of parked children.
   */
  defer<T>(value: T): Promise<T> {
    if (!this.#yielding) return Promise.resolve(value);
    return new Promise<T>((resolve) => {
      this.#parkedFns.push(() => resolve(value));
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#resumeParked);
      }
    });
  }

  #resumeParked = (): void => {
    this.#lastYield = performance.now();
    this.#yielding = false;
    this.#scheduled = false;
    const batch = this.#ready;
    this.#ready = [];
    for (const trap of batch) trap.resume();
    const fns = this.#parkedFns;
    this.#parkedFns = [];
    for (const fn of fns) fn();
    this.checkIdle();
  };

  // --- time --------------------------------------------------------------

  addTimer(deadline: number, target: Expirable): TimerEntry {
    const entry = this.#timers.push(deadline, target);
    if (this.#mock === undefined) {
      if (this.#running && deadline < this.#hostDeadline) this.#armHost();
    } else {
      this.checkIdle();
    }
    return entry;
  }

  #fireTimers(now: number): void {
    for (const entry of this.#timers.popExpired(now)) entry.target.expire(now);
    if (this.#mock === undefined) this.#armHost();
  }

  #armHost(): void {
    if (!this.#running) return;
    const next = this.#timers.next();
    if (next === this.#hostDeadline) return;
    if (this.#host !== undefined) clearTimeout(this.#host);
    this.#host = undefined;
    this.#hostDeadline = Infinity;
    if (next === undefined) return;
    this.#hostDeadline = next;
    const ms = Math.max(0, Math.ceil((next - this.clock.now()) * 1000));
    this.#host = setTimeout(this.#onHostTimer, ms);
  }

  #onHostTimer = (): void => {
    this.#host = undefined;
    this.#hostDeadline = Infinity;
    this.#fireTimers(this.clock.now());
  };

  /**
   * MockClock autojump: when every live task is blocked and no wake-up is
   * queued, only a deadline can move things on; after `autojump` real
   * seconds of that, jump virtual time to the next deadline.
   */
  checkIdle(): void {
    const mock = this.#mock;
    if (mock === undefined || mock.autojump === null || this.#idlePending || !this.#running) {
      return;
    }
    if (!this.#isIdle()) return;
    this.#idlePending = true;
    const seen = this.#wakeCount;
    const onIdle = (): void => {
      this.#idlePending = false;
      this.#idleHandle = undefined;
      if (!this.#running || !this.#isIdle()) return;
      if (this.#wakeCount !== seen) {
        this.checkIdle(); // something ran meanwhile: idle must last autojump again
        return;
      }
      const next = this.#timers.next();
      if (next === undefined) return; // deadlocked, or waiting on outside events
      const now = mock.now();
      if (next > now) mock.jump(next - now);
      this.#fireTimers(Math.max(next, mock.now()));
    };
    if (mock.autojump === 0) {
      const handle = setImmediate(onIdle);
      this.#idleHandle = { clear: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(onIdle, mock.autojump * 1000);
      this.#idleHandle = { clear: () => clearTimeout(handle) };
    }
  }

  #isIdle(): boolean {
    return this.tasks.size > 0 && this.blocked === this.tasks.size && this.#ready.length === 0 &&
      !this.#scheduled;
  }
}

/** Opens a timeout block with an absolute `deadline` for `task`. */
export function enterTimeout(task: TaskCore, deadline: number): TimeoutBlock {
  const block = new TimeoutBlock(task, deadline);
  if (task.timeouts === NO_TIMEOUTS) task.timeouts = [];
  task.timeouts.push(block);
  block.entry = task.sched.addTimer(deadline, block);
  return block;
}

/** Closes a timeout block; drops an undelivered timeout nobody is left to catch. */
export function exitTimeout(block: TimeoutBlock): void {
  const task = block.task;
  const stack = task.timeouts;
  const i = stack.lastIndexOf(block);
  if (i !== -1) stack.splice(i, 1);
  block.entry?.cancel();
  if (task.pending instanceof TaskTimeout && !stack.some((b) => b.expired)) {
    task.pending = undefined;
  }
}
