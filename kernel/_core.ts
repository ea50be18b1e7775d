// The kernel's machinery: how tasks block, wake, get cancelled and time out,
// and who runs next.
//
// This is the only file that knows how a task blocks. Everything else
// (sleep, join, Lock, Queue, sockets, workers) blocks by calling `suspend()`
// or one of the traps in traps.ts built on it.
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
// - The kernel decides who runs next (API.md "Scheduling"). One task holds
//   the kernel at a time (`Scheduler.holder`). A woken trap is not resolved
//   at once: it joins the FIFO ready queue. Only when the holder blocks
//   (`suspend`) or finishes does the kernel resolve the next ready trap,
//   whose task becomes the holder. So an `await` that does not block (an
//   async helper, a free lock) lets nobody else in, and how many microtask
//   hops a primitive takes inside never changes the order of events.
// - A holder that awaits something the kernel does not know (fetch, a plain
//   setTimeout promise) is noticed at the next macrotask boundary: Deno
//   drains the microtask queue before each immediate callback, so a holder
//   still holding then waits on the outside world. It loses the kernel, and
//   the ready queue goes on.
// - Every few milliseconds of switching, the kernel steps aside and lets
//   Deno's event loop poll timers and I/O before it resumes the queue, in
//   the same order: real time may delay the queue, never reorder it.
import { AsyncLocalStorage } from "node:async_hooks";
import { clearImmediate, setImmediate } from "node:timers";
import { onJump } from "./_clock_events.ts";
import { HostYield } from "./_host_yield.ts";
import { defaultTaskName } from "./_task_name.ts";
import { type Clock, MockClock, monotonicClock } from "./clock.ts";
import { CancelledError, CurioError, TaskTimeout } from "./errors.ts";
import { type Expirable, TimeQueue, TimerEntry } from "./_time_queue.ts";

/** The task whose code is running, across awaits. Entered once per task. */
export const context: AsyncLocalStorage<TaskCore> = new AsyncLocalStorage<TaskCore>();

/** How long (ms) shutdown waits for a cancelled task stuck in a foreign promise before abandoning it. */
const ABANDON_AFTER_MS = 1000;
/** How long (ms) the kernel may switch between tasks before it lets Deno's event loop run. */
const YIELD_MS = 0.5;
/** How many switches between two looks at the time when no deadline is pending (a power of two). */
const SWITCH_CHECK = 16;

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

/**
 * Runs `arm` outside every task, for arming host callbacks (timers,
 * immediates, the step aside): a callback inherits the async context it was
 * armed in, and the kernel's own callbacks must not look like the task that
 * happened to arm them (interrupt() tells a running task from a waiting one
 * by the context). `AsyncLocalStorage.exit` does not do this in Deno 2.9.
 */
function outsideTasks<T>(arm: () => T): T {
  return context.run(undefined as unknown as TaskCore, arm);
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
   * Undoes the registration on interrupt: a function, or a sleep's timer
   * entry to cancel (no closure per sleep).
   */
  cleanup: (() => void) | TimerEntry | undefined = undefined;
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

  /** Marks the trap woken with `value` without queueing it (see Scheduler.spawnFrom). */
  preset(value: T): void {
    this.done = true;
    this.#value = value;
  }

  /** Called by the scheduler when the trap's turn comes: hand the outcome to the task. */
  resume(): void {
    const task = this.task;
    task.cycles++;
    if (!task.terminated && task.trap === undefined) task.state = "RUNNING";
    if (this.#ok) this.#resolve(this.#value);
    else this.#reject(this.#value);
  }

  #runCleanup(): void {
    this.queue?.remove(this); // a waiter leaves its queue without a trace
    const cleanup = this.cleanup;
    this.cleanup = undefined;
    if (cleanup instanceof TimerEntry) cleanup.cancel();
    else if (cleanup !== undefined) cleanup();
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
 * delivered here instead of blocking; so is a deadline that passed while
 * the task computed (see Scheduler.beforeBlock).
 */
export function suspend<T>(
  task: TaskCore,
  state: string,
  arm: (trap: Trap<T>) => void,
): Promise<T> {
  task.sched.beforeBlock();
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap<T>(task);
  task.block(trap as Trap, state);
  arm(trap);
  task.sched.release(task);
  return trap.promise;
}

/**
 * Blocks `task` in a new trap at the back of `list`; interrupting it unlinks
 * it. The hot path of every primitive, so it allocates no closures.
 */
export function suspendInList(task: TaskCore, state: string, list: TrapList): Promise<unknown> {
  task.sched.beforeBlock();
  const pending = deliverPending(task);
  if (pending !== undefined) return pending;
  const trap = new Trap(task);
  task.block(trap, state);
  list.push(trap);
  task.sched.release(task);
  return trap.promise;
}

/** Registers `trap` to be woken after `seconds` on the task's kernel clock. */
export function armSleep(trap: Trap<void>, seconds: number): void {
  const sched = trap.task.sched;
  trap.cleanup = sched.addTimer(sched.clock.now() + seconds, trap);
}

// ---------------------------------------------------------------------------
// Timeouts

/** One `timeoutAfter` block of one task. */
export class TimeoutBlock implements Expirable {
  expired = false;
  entry: TimerEntry | undefined = undefined;
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
    readonly deadline: number,
    readonly seconds: number | undefined,
  ) {}

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
const NO_TIMEOUTS: TimeoutBlock[] = Object.freeze([]) as unknown as TimeoutBlock[];

/** A task's private state. `Task` (task.ts) is its public face. */
export class TaskCore {
  readonly id: number = nextTaskId++;
  state = "READY";
  cycles = 0;
  terminated = false;
  failed = false;
  result: unknown = undefined;
  exception: unknown = undefined;
  /**
   * The trap the task is blocked on right now (undefined: not blocked), and
   * any more it waits on at once (Promise.all): one field for the usual case,
   * an array only when needed.
   */
  trap: Trap | undefined = undefined;
  #moreTraps: Trap[] | undefined = undefined;
  /** How many of the task's runnables (woken traps, its start) wait in the ready queue. */
  queued = 0;
  /** A cancellation to raise at the task's next trap. */
  pending: CancelledError | undefined = undefined;
  /** The CancelledError of the task's cancel, once asked for. */
  cancelError: CancelledError | undefined = undefined;
  /** Someone asked for one of the task's AbortSignals (task.signal, currentSignal()). */
  signalUsed = false;
  /** The task was told once that a cancel found it awaiting a foreign promise. */
  foreignReported = false;
  /** Left behind at shutdown, stuck in a foreign promise: kernel operations fail at once. */
  abandoned = false;
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

  /** The `name` option, or the default name once worked out (see `name`). */
  #name: string | undefined;
  /** The function whose name is the default name, when not `fn` (a wrapper's). */
  #nameFrom: (() => unknown) | undefined;

  constructor(
    readonly sched: Scheduler,
    readonly fn: () => unknown,
    name: string | undefined,
    readonly daemon: boolean,
    nameFrom?: () => unknown,
  ) {
    this.#name = name;
    this.#nameFrom = nameFrom;
  }

  /** The task's name: the `name` option, else worked out from its function when first read. */
  get name(): string {
    if (this.#name === undefined) {
      this.#name = defaultTaskName(this.#nameFrom ?? this.fn);
      this.#nameFrom = undefined;
    }
    return this.#name;
  }

  /** Whether a cancel was asked for (`Task.cancelled`). */
  get cancelled(): boolean {
    return this.cancelError !== undefined;
  }

  /** Every trap the task is blocked on right now (a copy). */
  get traps(): Trap[] {
    const first = this.trap;
    if (first === undefined) return [];
    return this.#moreTraps === undefined ? [first] : [first, ...this.#moreTraps];
  }

  block(trap: Trap, state: string): void {
    this.state = state;
    const sched = this.sched;
    if (sched.tracing) {
      this.waitStack = new Error();
      this.stateSince = sched.clock.now();
    }
    if (this.trap === undefined) {
      this.trap = trap;
      sched.blocked++;
      sched.checkIdle();
    } else {
      (this.#moreTraps ??= []).push(trap);
    }
  }

  unblock(trap: Trap): void {
    const more = this.#moreTraps;
    if (this.trap === trap) {
      this.trap = more === undefined ? undefined : more.shift(); // usually: one wait at a time
    } else {
      const i = more === undefined ? -1 : more.indexOf(trap);
      if (i === -1) return;
      more!.splice(i, 1);
    }
    if (more !== undefined && more.length === 0) this.#moreTraps = undefined;
    if (this.trap === undefined) {
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
      this.signalUsed = true;
      if (this.cancelError !== undefined) this.#abort.abort(this.cancelError);
    }
    return this.#abort.signal;
  }

  /** Aborts the task's signal, if anyone asked for it. */
  abortSignal(reason: CancelledError): void {
    this.#abort?.abort(reason);
  }

  /** The AbortSignal of the innermost open timeout block, else the task's. */
  currentSignal(): AbortSignal {
    const stack = this.timeouts;
    return stack.length === 0 ? this.signal : stack[stack.length - 1]!.signal;
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
  /** Pick a random ready task at each switch, from this seed (test use). */
  seed?: number | undefined;
}

/** Something the ready queue holds: a woken trap, or the first cycle of a task. */
interface Runnable {
  readonly task: TaskCore;
  resume(): void;
}

/** A task's first cycle, queued because another task held the kernel when it was spawned. */
class Start implements Runnable {
  constructor(readonly task: TaskCore, readonly back: Trap | undefined) {}

  resume(): void {
    this.task.sched.runFirstCycle(this.task, this.back);
  }
}

/** The ready queue: a FIFO of runnables with O(1) push and shift. */
class RunQueue {
  #items: Array<Runnable | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Runnable): void {
    this.#items.push(item);
  }

  shift(): Runnable | undefined {
    const items = this.#items;
    if (this.#head === items.length) return undefined;
    const item = items[this.#head];
    items[this.#head++] = undefined;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns the `i`-th runnable from the front (seeded schedules). */
  takeAt(i: number): Runnable | undefined {
    if (i === 0) return this.shift();
    return this.#items.splice(this.#head + i, 1)[0];
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same schedule. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  /**
   * The task that holds the kernel: it runs until it blocks or finishes.
   * Invariant: while it is set, no runnable of the ready queue is resumed.
   */
  holder: TaskCore | undefined = undefined;
  /** Told each time a task takes the kernel (the monitor's "who runs"), while set. */
  onHold: ((task: TaskCore) => void) | undefined = undefined;

  /** Woken traps and queued first cycles, in the order they became ready. */
  #ready = new RunQueue();
  /** Parents resuming after a child's first cycle; they go before the ready queue, newest first. */
  #urgent: Trap[] = [];
  /** The child whose first cycle runs synchronously inside spawn() right now, and its parent. */
  #firstCycle: TaskCore | undefined = undefined;
  #firstCycleParent: TaskCore | undefined = undefined;
  /** Random choice among ready runnables (seeded schedules), or undefined for FIFO. */
  #random: (() => number) | undefined;
  #switches = 0;
  /** performance.now() as beforeBlock() last read it, and at which switch. */
  #seen = 0;
  #seenAt = -1;
  /** True while the kernel lets the event loop run: the ready queue waits. */
  #yielding = false;
  #lastYield = performance.now();
  /** True while expired timers fire: their wakes queue, the caller dispatches after. */
  #firing = false;
  #checkArmed = false;
  #timers = new TimeQueue();
  #hostTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stepAside = new HostYield();
  #hostDeadline = Infinity;
  #running = false;
  /** The clock is the real monotonic one: one performance.now() reading serves deadlines and yields. */
  #realTime: boolean;
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
    this.#realTime = options.clock === monotonicClock;
    this.#random = options.seed === undefined ? undefined : seededRandom(options.seed);
  }

  /** Starts serving timers (called when Kernel.run begins). */
  start(): void {
    this.#running = true;
    if (this.#mock !== undefined) {
      this.#unsubscribe = onJump(this.#mock, () => {
        this.#runTimers(this.clock.now());
        this.#dispatchIfFree();
      });
      this.checkIdle();
    } else {
      this.#armHost();
    }
  }

  /**
   * Stops serving timers, so nothing of the kernel keeps Deno alive; resolves
   * once the step-aside pair is closed too.
   */
  stop(): Promise<void> {
    this.#running = false;
    const closed = this.#stepAside.close();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#idleHandle?.clear();
    this.#idleHandle = undefined;
    this.#idlePending = false;
    if (this.#hostTimer !== undefined) {
      clearTimeout(this.#hostTimer);
      this.#hostTimer = undefined;
      this.#hostDeadline = Infinity;
    }
    return closed;
  }

  // --- tasks -------------------------------------------------------------

  /**
   * Creates a task and starts it: its first cycle runs at once if nobody
   * holds the kernel, else when its turn in the ready queue comes. For
   * tasks the kernel starts itself (main, the monitor).
   */
  spawn(fn: () => unknown, name: string | undefined, daemon: boolean, isMain = false): TaskCore {
    const core = this.#create(fn, name, daemon, isMain);
    if (this.holder === undefined && !this.#yielding) {
      this.#hold(core);
      this.#run(core);
    } else {
      this.ready(new Start(core, undefined));
    }
    return core;
  }

  /**
   * spawn() from task `parent`: the child's first cycle runs at once and the
   * parent resumes right after it, ahead of the ready queue (API.md rule 4).
   * When another task holds the kernel (the parent runs outside it, resumed
   * by a foreign promise), the child's first cycle waits its turn instead.
   * Resolves with `wrap(child)`. Without a `name`, the task is named after
   * `nameFrom` (default `fn`) when the name is first read.
   */
  spawnFrom<T>(
    parent: TaskCore,
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    wrap: (core: TaskCore) => T,
    nameFrom?: () => unknown,
  ): Promise<T> {
    const core = this.#create(fn, name, daemon, false, nameFrom);
    const task = wrap(core);
    if (this.holder === parent || (this.holder === undefined && !this.#yielding)) {
      // The common case: the child blocks in the synchronous part of its
      // first cycle, and release() hands the kernel straight back to the
      // parent. Only a child still holding when #run returns (it awaits a
      // helper, or is about to finish) makes the parent wait its turn.
      const outer = this.#firstCycle;
      const outerParent = this.#firstCycleParent;
      this.#firstCycle = core;
      this.#firstCycleParent = parent;
      this.#hold(core);
      try {
        this.#run(core);
      } finally {
        this.#firstCycle = outer;
        this.#firstCycleParent = outerParent;
      }
      if (this.holder === parent) return Promise.resolve(task);
      const back = new Trap<T>(parent);
      back.preset(task);
      this.#resumeAfter(back as Trap);
      this.#armCheck();
      return back.promise;
    }
    const back = new Trap<T>(parent);
    back.preset(task);
    this.ready(new Start(core, back as Trap));
    return back.promise;
  }

  /** Runs `core`'s queued first cycle, holding the kernel; `back` (its parent) resumes next. */
  runFirstCycle(core: TaskCore, back: Trap | undefined): void {
    if (back !== undefined) this.#resumeAfter(back);
    this.#hold(core);
    this.#run(core);
  }

  /** `back`'s task resumes next, ahead of the ready queue (a parent after a child's first cycle). */
  #resumeAfter(back: Trap): void {
    back.task.queued++;
    back.task.state = "READY";
    this.#urgent.push(back);
  }

  #create(
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    isMain: boolean,
    nameFrom?: () => unknown,
  ): TaskCore {
    const core = new TaskCore(this, fn, name, daemon, nameFrom);
    core.isMain = isMain;
    core.parentId = context.getStore()?.id;
    this.tasks.set(core.id, core);
    if (!daemon) this.nonDaemon++;
    return core;
  }

  #run(core: TaskCore): void {
    core.state = "RUNNING";
    let result: unknown;
    try {
      result = context.run(core, core.fn);
    } catch (error) {
      result = Promise.reject(error);
    }
    (result instanceof Promise ? result : Promise.resolve(result)).then(
      (value) => this.#finish(core, true, value),
      (error) => this.#finish(core, false, error),
    );
  }

  #finish(core: TaskCore, ok: boolean, value: unknown): void {
    if (core.terminated) return; // an abandoned task's function ended after all
    core.terminated = true;
    core.state = "TERMINATED";
    if (ok) core.result = value;
    else {
      core.failed = true;
      core.exception = value;
    }
    // Operations started but never awaited must not outlive the task.
    if (core.trap !== undefined) { for (const trap of core.traps) trap.abandon(); }
    if (core.timeouts.length > 0) {
      for (const block of core.timeouts) block.entry?.cancel();
      if (core.timeouts !== NO_TIMEOUTS) core.timeouts.length = 0;
    }
    core.pending = undefined;
    this.tasks.delete(core.id);
    if (!ok && !(value instanceof CancelledError)) this.#reportCrash(core, value);
    core.finished();
    if ((!core.daemon && --this.nonDaemon === 0) || (core.isMain && core.failed)) {
      const waiters = this.#allDone;
      this.#allDone = [];
      for (const resolve of waiters) resolve();
    }
    if (this.holder === core) this.release(core);
    else this.checkIdle();
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

  /** Resolves once no non-daemon task is left, or as soon as the main task fails. */
  whenNonDaemonDone(): Promise<void> {
    if (this.nonDaemon === 0) return Promise.resolve();
    return new Promise((resolve) => this.#allDone.push(resolve));
  }

  /** Asks `task` to cancel; false if it had already terminated. */
  requestCancel(task: TaskCore): boolean {
    if (task.terminated) return false;
    if (task.cancelError !== undefined) return true;
    const error = new CancelledError(`Task ${task.id} (${task.name}) was cancelled`);
    task.cancelError = error;
    // A cancelled task's deadlines never fire (curio): its cleanup may block
    // without a timeout swallowing the cancel.
    for (const block of task.timeouts) {
      block.entry?.cancel();
      block.abort(error);
    }
    task.abortSignal(error);
    this.interrupt(task, error);
    return true;
  }

  /** Raises `error` in `task` at the traps it is blocked on, or at its next one. */
  interrupt(task: TaskCore, error: CancelledError): void {
    if (task.terminated) return;
    if (task.trap !== undefined) {
      for (const trap of task.traps) trap.interrupt(error);
      return;
    }
    // Neither blocked, nor queued, nor the code running now: the task awaits
    // a promise the kernel does not know. Its signals were aborted already.
    if (task.queued === 0 && context.getStore() !== task) this.#reachedForeign(task, error);
    // A pending cancel outranks a pending timeout.
    const pending = task.pending;
    if (
      pending === undefined || pending instanceof TaskTimeout || !(error instanceof TaskTimeout)
    ) {
      task.pending = error;
    }
  }

  /**
   * A cancel or deadline found `task` awaiting a foreign promise: it shows
   * as FOREIGN_WAIT, and unless it took a signal that reaches the promise
   * (currentSignal(), task.signal), one line says what to do about it.
   */
  #reachedForeign(task: TaskCore, error: CancelledError): void {
    task.state = "FOREIGN_WAIT";
    if (task.foreignReported || task.signalUsed || !this.logErrors) return;
    task.foreignReported = true;
    console.error(
      `curio: task ${task.id} (${task.name}) was ${
        error instanceof TaskTimeout ? "timed out" : "cancelled"
      } while it awaited a promise the kernel does not know; that takes effect at its next blocking operation. Await the promise with wait(), or pass currentSignal() to it, so cancels and timeouts reach it at once`,
    );
  }

  /**
   * Cancels every remaining task, newest first, each awaited; then runs the
   * shutdown hooks, last registered first.
   */
  async shutdown(): Promise<void> {
    await this.cancelAll();
    while (this.#shutdownHooks.length > 0) {
      const hook = this.#shutdownHooks.pop()!;
      try {
        await hook();
      } catch (error) {
        if (this.logErrors) console.error("curio: a shutdown hook failed:", error);
      }
    }
  }

  /**
   * Cancels every task, newest first, each awaited. A cancelled task still
   * awaiting a foreign promise after ABANDON_AFTER_MS is abandoned, with one
   * warning naming it: run() must return, and the kernel cannot reach it.
   */
  async cancelAll(): Promise<void> {
    while (this.tasks.size > 0) {
      let newest: TaskCore | undefined;
      for (const task of this.tasks.values()) newest = task;
      this.requestCancel(newest!);
      await this.#doneOrAbandoned(newest!);
    }
  }

  async #doneOrAbandoned(task: TaskCore): Promise<void> {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ABANDON_AFTER_MS);
      });
      const done = await Promise.race([task.whenDone().then(() => true), grace]);
      clearTimeout(timer);
      if (done || task.terminated) return;
      if (task.trap === undefined && task.queued === 0) {
        if (this.logErrors) {
          console.error(
            `curio: abandoned task ${task.id} (${task.name}) at shutdown: ${
              ABANDON_AFTER_MS / 1000
            } s after its cancel it still awaits a promise the kernel does not know (await it with wait(), or pass it currentSignal())`,
          );
        }
        task.abandoned = true;
        this.#finish(task, false, task.cancelError);
        return;
      }
      // Blocked in the kernel (its cleanup waits on something): keep waiting.
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

  // --- who runs next -----------------------------------------------------

  /**
   * A runnable became ready (a trap was woken, or a first cycle queued): it
   * joins the back of the ready queue. Waking never switches: if a task
   * holds the kernel, it carries on; if nobody does, the queue runs now.
   */
  ready(item: Runnable): void {
    item.task.queued++;
    this.#ready.push(item);
    if (this.holder !== undefined) this.#armCheck();
    else if (!this.#yielding && !this.#firing) this.#next();
  }

  #hold(task: TaskCore): void {
    this.holder = task;
    this.onHold?.(task);
  }

  /** `task` blocked or finished: if it held the kernel, the next ready runnable runs. */
  release(task: TaskCore): void {
    if (this.holder !== task) return;
    if (task === this.#firstCycle) {
      // Blocked inside spawn(): the parent carries on, as spawnFrom() returns.
      this.#hold(this.#firstCycleParent!);
      return;
    }
    this.holder = undefined;
    this.#next();
  }

  /**
   * Called by suspend() before the task blocks: a deadline that passed while
   * the task computed fires now, so it is raised right at this blocking
   * operation (`sleep(0)` included), not some switches later. Only while a
   * deadline is pending on a host timer (MockClock deadlines fire on jump).
   * The reading also serves the switch that follows.
   */
  beforeBlock(): void {
    if (this.#hostDeadline === Infinity) return;
    const real = performance.now();
    this.#seen = real;
    this.#seenAt = this.#switches;
    const now = this.#realTime ? real / 1000 : this.clock.now();
    if (now >= this.#hostDeadline) {
      this.#runTimers(now);
      this.#armHost();
    }
  }

  /**
   * Hands the kernel to the next runnable. Every few switches the kernel
   * looks at the time (or reuses beforeBlock's reading): expired deadlines
   * fire, and after YIELD_MS of switching it lets the event loop run first.
   */
  #next(): void {
    if (this.#yielding) return;
    const switches = this.#switches++;
    let real: number | undefined;
    if (this.#seenAt === switches) real = this.#seen;
    else if ((switches & (SWITCH_CHECK - 1)) === 0) {
      real = performance.now();
      if (this.#mock === undefined) {
        const now = this.#realTime ? real / 1000 : this.clock.now();
        if (now >= this.#hostDeadline) {
          this.#runTimers(now);
          this.#armHost();
        }
      }
    }
    if (
      real !== undefined && real - this.#lastYield > YIELD_MS &&
      this.#ready.length + this.#urgent.length > 0
    ) {
      this.#yielding = true;
      outsideTasks(() => this.#stepAside.stepAside(this.#endYield));
      return;
    }
    for (;;) {
      const item = this.#urgent.pop() ?? this.#pick();
      if (item === undefined) {
        this.checkIdle();
        return;
      }
      const task = item.task;
      // A task waiting on several traps (Promise.all) takes the kernel only
      // with its last one: the others would leave it holding without running.
      const holds = --task.queued === 0 && task.trap === undefined && !task.terminated;
      if (holds) this.#hold(task);
      item.resume();
      if (holds) return;
    }
  }

  #endYield = (): void => {
    this.#yielding = false;
    this.#lastYield = performance.now();
    if (this.#mock === undefined) {
      this.#runTimers(this.clock.now());
      this.#armHost();
    }
    this.#dispatchIfFree();
  };

  #pick(): Runnable | undefined {
    const n = this.#ready.length;
    if (this.#random === undefined || n < 2) return this.#ready.shift();
    return this.#ready.takeAt(Math.floor(this.#random() * n));
  }

  #dispatchIfFree(): void {
    if (this.holder === undefined && !this.#yielding) this.#next();
  }

  /**
   * Arms one check at the next macrotask boundary, while a task holds the
   * kernel and others wait. Deno drains the microtask queue before it runs
   * an immediate callback, so a holder still holding then is waiting on a
   * promise the kernel does not know (API.md rule 5): it loses the kernel.
   */
  #armCheck(): void {
    if (this.#checkArmed) return;
    this.#checkArmed = true;
    outsideTasks(() => setImmediate(this.#check));
  }

  #check = (): void => {
    this.#checkArmed = false;
    const holder = this.holder;
    if (holder === undefined) return;
    if (holder.trap === undefined && !holder.terminated) holder.state = "FOREIGN_WAIT";
    this.holder = undefined;
    this.#next();
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

  /** Expires every deadline up to `now`; the wakes queue (the caller dispatches). */
  #runTimers(now: number): void {
    this.#firing = true;
    try {
      for (const entry of this.#timers.popExpired(now)) entry.target.expire(now);
    } finally {
      this.#firing = false;
    }
  }

  #armHost(): void {
    if (!this.#running) return;
    const next = this.#timers.next();
    if (next === this.#hostDeadline) return;
    if (this.#hostTimer !== undefined) clearTimeout(this.#hostTimer);
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    if (next === undefined) return;
    this.#hostDeadline = next;
    const ms = Math.max(0, Math.ceil((next - this.clock.now()) * 1000));
    this.#hostTimer = outsideTasks(() => setTimeout(this.#onHostTimer, ms));
  }

  #onHostTimer = (): void => {
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    this.#runTimers(this.clock.now());
    this.#armHost();
    this.#dispatchIfFree();
  };

  /**
   * MockClock autojump: when every live task is blocked and nothing is
   * ready, running or yielding, only a deadline can move things on; after
   * `autojump` real seconds of that, jump virtual time to the next deadline.
   */
  checkIdle(): void {
    const mock = this.#mock;
    if (mock === undefined || mock.autojump === null || this.#idlePending || !this.#running) {
      return;
    }
    if (!this.#isIdle()) return;
    this.#idlePending = true;
    const seen = this.#switches;
    const onIdle = (): void => {
      this.#idlePending = false;
      this.#idleHandle = undefined;
      if (!this.#running || !this.#isIdle()) return;
      if (this.#switches !== seen) {
        this.checkIdle(); // something ran meanwhile: idle must last autojump again
        return;
      }
      const next = this.#timers.next();
      if (next === undefined) return; // deadlocked, or waiting on outside events
      const now = mock.now();
      if (next > now) mock.jump(next - now);
      else {
        this.#runTimers(now);
        this.#dispatchIfFree();
      }
    };
    if (mock.autojump === 0) {
      const handle = outsideTasks(() => setImmediate(onIdle));
      this.#idleHandle = { clear: () => clearImmediate(handle) };
    } else {
      const handle = outsideTasks(() => setTimeout(onIdle, mock.autojump! * 1000));
      this.#idleHandle = { clear: () => clearTimeout(handle) };
    }
  }

  #isIdle(): boolean {
    return this.tasks.size > 0 && this.blocked === this.tasks.size && this.holder === undefined &&
      this.#ready.length === 0 && this.#urgent.length === 0 && !this.#yielding;
  }
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
  block.entry = task.sched.addTimer(deadline, block);
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
  const stack = task.timeouts;
  const i = stack.lastIndexOf(block);
  if (i !== -1) stack.splice(i, 1);
  if (stack.length === 0) task.timeouts = NO_TIMEOUTS;
  block.entry?.cancel();
  const expired = stack.find((b) => b.expired);
  if (expired === undefined) {
    if (task.pending instanceof TaskTimeout) task.pending = undefined;
  } else if (task.pending === undefined && task.cancelError === undefined) {
    task.pending = expired.timeout();
  }
}
