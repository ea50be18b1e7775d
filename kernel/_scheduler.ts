// The scheduler: who runs next, time, and the step aside for Deno's event loop.
//
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
// - Every half millisecond of switching, the kernel steps aside and lets
//   Deno's event loop poll timers and I/O before it resumes the queue, in
//   the same order: real time may delay the queue, never reorder it. A
//   kernel that ran out of ready tasks meanwhile (the event loop had its
//   turn then) does not.
// - All deadlines live in one heap (_time_queue.ts) with one host timer.

import { clearImmediate, setImmediate } from "node:timers";
import { onJump } from "./_clock_events.ts";
import { HostYield } from "./_host_yield.ts";
import type { NameSource } from "./_task_name.ts";
import { LinkedList } from "./linked_list.ts";
import { Ring } from "./ring.ts";
import { context, type Runnable, TaskCore, type TaskScheduler } from "./_task_core.ts";
import { type Clock, MockClock, monotonicClock } from "./clock.ts";
import { CancelledError, TaskTimeout } from "./errors.ts";
import { type Expirable, TimeQueue, TimerEntry } from "./_time_queue.ts";

/** How long (ms) shutdown waits for a cancelled task stuck in a foreign promise before abandoning it. */
const ABANDON_AFTER_MS = 1000;
/** How long (ms) the kernel may switch between tasks before it lets Deno's event loop run. */
const YIELD_MS = 0.5;
/** How many switches between two looks at the time when no deadline is pending (a power of two). */
const SWITCH_CHECK = 16;

/**
 * Runs `arm` outside every task, for arming host callbacks (timers,
 * immediates, the step aside): a callback inherits the async context it was
 * armed in, and the kernel's own callbacks must not look like the task that
 * happened to arm them (interrupt() tells a running task from a waiting one
 * by the context). `AsyncLocalStorage.exit` does not do this in Deno 2.9.
 * The context is the one the kernel's module was loaded in, kept once
 * (`AsyncLocalStorage.snapshot()`), so the kernel's callbacks carry no
 * task's AsyncLocalStorage values either. (In Deno 2.9 running in a
 * snapshot enters a context per call too: it costs what entering a "no
 * task" context did, measured within noise.)
 */
function outsideTasks<T>(arm: () => T): T {
  return context.outside(arm);
}

/** What Scheduler needs from KernelOptions (see kernel.ts). */
export interface SchedulerOptions {
  logErrors: boolean;
  debug: boolean;
  clock: Clock;
  /** Pick a random ready task at each switch, from this seed (test use). */
  seed?: number | undefined;
}

/**
 * A task's first cycle, queued because another task held the kernel when it
 * was spawned. It is armed in the task's context at once, made from the
 * context of the spawn (so the task sees its parent's AsyncLocalStorage
 * values, as a child started at once does), and runs as a continuation in
 * that context when its turn comes, like a woken trap: run from the kernel,
 * it would inherit whichever context the kernel happened to be in.
 */
class Start implements Runnable {
  #go!: (core: TaskCore) => void;

  constructor(
    readonly task: TaskCore,
    readonly back: Resume | undefined,
    readonly sched: Scheduler,
  ) {
    context.run(task, () =>
      new Promise<TaskCore>((go) => {
        this.#go = go;
      }).then(Scheduler.runQueuedFirstCycle));
  }

  resume(): void {
    this.sched.beginQueuedFirstCycle(this.task, this.back);
    this.#go(this.task);
  }
}

/**
 * How a spawning parent resumes after its child's first cycle: a promise
 * fulfilled with the child's Task when the kernel hands the parent its turn.
 * Lighter than a Trap (nothing can interrupt it: a cancel meanwhile waits
 * for the parent's next blocking operation).
 */
class Resume<T = unknown> implements Runnable {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;

  constructor(readonly task: TaskCore, readonly value: T) {
    this.promise = new Promise<T>((resolve) => {
      this.#resolve = resolve;
    });
  }

  resume(): void {
    const task = this.task;
    task.cycles++;
    if (!task.terminated && task.trap === undefined) task.state = "RUNNING";
    this.#resolve(this.value);
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

export class Scheduler implements TaskScheduler {
  readonly clock: Clock;
  readonly logErrors: boolean;
  readonly debug: boolean;
  /** Record where each task blocks (the monitor turns this on). */
  tracing = false;
  /** Live tasks, in creation order. */
  readonly tasks: LinkedList<TaskCore> = new LinkedList<TaskCore>();
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
  #ready = new Ring<Runnable>();
  /** Parents resuming after a child's first cycle; they go before the ready queue, newest first. */
  #urgent: Resume[] = [];
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
  /**
   * The ready queue ran empty since `#lastYield`: the kernel went idle, so
   * Deno's event loop had its turn (and polled I/O) without a step aside.
   */
  #wentIdle = false;
  /**
   * True while the code running dispatches after it is done, so a wake made
   * meanwhile only queues: expired timers firing, or #next resuming a
   * runnable whose task does not take the kernel (a trap's finish step,
   * wait_then.ts, may wake others there; dispatching from inside #next would
   * let two tasks run at once).
   */
  #queueWakes = false;
  #checkArmed = false;
  #timers = new TimeQueue();
  #hostTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stepAside = new HostYield();
  /** What the host timer is armed for (Infinity: not armed). */
  #hostDeadline = Infinity;
  /**
   * The earliest pending deadline, or earlier (a deadline that was cancelled
   * meanwhile): the cheap test of whether anything may be due. Real clocks
   * only; Infinity while none is pending.
   */
  #nextDeadline = Infinity;
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
      this.#rearm();
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
   * tasks the kernel starts itself (main, the monitor), and for tasks
   * started from a host callback as children of `parent` (httpServer's
   * requests).
   */
  spawn(
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    isMain = false,
    parent?: TaskCore,
    nameFrom?: NameSource,
  ): TaskCore {
    const parentId = parent !== undefined ? parent.id : context.getStore()?.id;
    const core = this.#create(fn, name, daemon, isMain, parentId, nameFrom);
    if (this.holder === undefined && !this.#yielding) {
      this.#hold(core);
      this.#run(core);
    } else {
      this.ready(new Start(core, undefined, this));
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
    nameFrom?: NameSource,
  ): Promise<T> {
    const core = this.#create(fn, name, daemon, false, parent.id, nameFrom);
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
      const back = new Resume(parent, task);
      this.#resumeAfter(back as Resume);
      this.#armCheck();
      return back.promise;
    }
    const back = new Resume(parent, task);
    this.ready(new Start(core, back as Resume, this));
    return back.promise;
  }

  /** `core`'s queued first cycle is next: it holds the kernel; `back` (its parent) resumes after it. */
  beginQueuedFirstCycle(core: TaskCore, back: Resume | undefined): void {
    if (back !== undefined) this.#resumeAfter(back);
    this.#hold(core);
  }

  /** A queued first cycle, run as a continuation in the task's context (see Start). */
  static runQueuedFirstCycle(core: TaskCore): void {
    core.state = "RUNNING";
    const trapPromise = Scheduler.#firstCycleBody(core);
    if (trapPromise !== undefined) {
      outsideTasks(() => (core.sched as Scheduler).#endWithTrap(core, trapPromise));
    }
  }

  /** `back`'s task resumes next, ahead of the ready queue (a parent after a child's first cycle). */
  #resumeAfter(back: Resume): void {
    back.task.queued++;
    back.task.state = "READY";
    this.#urgent.push(back);
  }

  #create(
    fn: () => unknown,
    name: string | undefined,
    daemon: boolean,
    isMain: boolean,
    parentId: number | undefined,
    nameFrom?: NameSource,
  ): TaskCore {
    const core = new TaskCore(this, fn, name, daemon, nameFrom);
    core.isMain = isMain;
    core.parentId = parentId;
    this.tasks.add(core);
    if (!daemon) this.nonDaemon++;
    return core;
  }

  /**
   * Runs `core`'s first cycle as its code and arranges for the task to end
   * when its function's promise settles.
   */
  #run(core: TaskCore): void {
    core.state = "RUNNING";
    const trapPromise = context.runTask(core, Scheduler.#firstCycleBody);
    // Attached here, in the caller's context: see #firstCycleBody.
    if (trapPromise !== undefined) this.#endWithTrap(core, trapPromise);
  }

  /** The task ends when the trap promise its function returned settles. */
  #endWithTrap(core: TaskCore, trapPromise: Promise<unknown>): void {
    trapPromise.then(
      (value) => this.#finish(core, true, value),
      (error) => this.#finish(core, false, error),
    );
  }

  /**
   * A task's first cycle, run inside its context. The handlers that end the
   * task are attached here too, so they run as the task's code and find it
   * with `context.getStore()`: two shared functions instead of two closures
   * per task. The one exception is returned to #run: a function that
   * returned the promise of the trap it blocked on (`() => sleep(5)`) awaits
   * nothing itself, so nothing else keeps the task's context alive (~240 B),
   * and a handler attached inside it would.
   */
  static #firstCycleBody(core: TaskCore): Promise<unknown> | undefined {
    const sched = core.sched as Scheduler;
    // Called as a plain function, not as core.fn(): stack traces then read
    // `at worker (...)`, not `at TaskCore.worker [as fn]`.
    const fn = core.fn;
    let result: unknown;
    try {
      result = fn();
    } catch (error) {
      // A function that throws before returning a promise ended in its first cycle.
      sched.#finish(core, false, error);
      return undefined;
    }
    if (typeof (result as { then?: unknown } | null)?.then !== "function") {
      // A plain function that returned a value: the task ended in its first
      // cycle, and its parent carries on without waiting for a microtask.
      sched.#finish(core, true, result);
      return undefined;
    }
    if (result === core.trap?.promise) return result as Promise<unknown>;
    (result instanceof Promise ? result : Promise.resolve(result)).then(
      Scheduler.#returned,
      Scheduler.#threw,
    );
    return undefined;
  }

  /** The running task's function returned `value` (a handler run as the task's code). */
  static #returned(value: unknown): void {
    const core = context.getStore()!;
    (core.sched as Scheduler).#finish(core, true, value);
  }

  /** The running task's function threw `error` (a handler run as the task's code). */
  static #threw(error: unknown): void {
    const core = context.getStore()!;
    (core.sched as Scheduler).#finish(core, false, error);
  }

  #finish(core: TaskCore, ok: boolean, value: unknown): void {
    if (core.terminated) return; // an abandoned task's function ended after all
    core.settle(ok, value);
    core.state = "TERMINATED";
    core.dropWaits();
    // Its leftover continuations now run as no task's code; an abandoned
    // task's keep it, to say why kernel calls fail there.
    if (!core.abandoned) core.ref.core = undefined;
    this.tasks.delete(core);
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
      block.cancel();
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
      const newest = this.tasks.last();
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
    else if (!this.#yielding && !this.#queueWakes) this.#next();
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
    if (this.#nextDeadline === Infinity) {
      this.#blockNow = undefined;
      return;
    }
    const real = performance.now();
    this.#seen = real;
    this.#seenAt = this.#switches;
    const now = this.#kernelTime(real);
    this.#blockNow = now;
    this.#fireDue(now);
  }

  /** The kernel clock as beforeBlock() just read it, if it did (see blockTime). */
  #blockNow: number | undefined = undefined;

  /**
   * The kernel clock for the blocking operation being set up right now: the
   * reading beforeBlock() took a moment ago when it took one (a sleep then
   * reads the clock once, not twice: ~110 ns each), else a fresh one.
   */
  blockTime(): number {
    const now = this.#blockNow;
    this.#blockNow = undefined;
    return now ?? this.clock.now();
  }

  /**
   * Hands the kernel to the next runnable. Every few switches the kernel
   * looks at the time (or reuses beforeBlock's reading): expired deadlines
   * fire, and after YIELD_MS of switching without once running out of
   * ready tasks (when the event loop gets its turn anyway) it lets the
   * event loop run first.
   */
  #next(): void {
    if (this.#yielding) return;
    const switches = this.#switches++;
    let real: number | undefined;
    if (this.#seenAt === switches) real = this.#seen;
    else if ((switches & (SWITCH_CHECK - 1)) === 0) {
      real = performance.now();
      if (this.#mock === undefined) this.#fireDue(this.#kernelTime(real));
    }
    if (real !== undefined && real - this.#lastYield > YIELD_MS) {
      if (this.#wentIdle) {
        // Busy for a while, but not without a break: no need to step aside.
        this.#lastYield = real;
        this.#wentIdle = false;
      } else if (this.#ready.length + this.#urgent.length > 0) {
        this.#yielding = true;
        outsideTasks(this.#doStepAside);
        return;
      }
    }
    for (;;) {
      const item = this.#urgent.length > 0 ? this.#urgent.pop() : this.#pick();
      if (item === undefined) {
        this.#wentIdle = true;
        this.checkIdle();
        return;
      }
      const task = item.task;
      // A task waiting on several traps (Promise.all) takes the kernel only
      // with its last one: the others would leave it holding without running.
      const holds = --task.queued === 0 && task.trap === undefined && !task.terminated;
      if (holds) {
        this.#hold(task);
        item.resume();
        return;
      }
      // Nobody holds the kernel meanwhile: wakes queue, and this loop goes on.
      const queueing = this.#queueWakes;
      this.#queueWakes = true;
      try {
        item.resume();
      } finally {
        this.#queueWakes = queueing;
      }
      if (task.queued > 0 && this.#random !== undefined) this.#follow = task;
    }
  }

  #doStepAside = (): void => this.#stepAside.stepAside(this.#endYield);

  #endYield = (): void => {
    this.#yielding = false;
    this.#wentIdle = false;
    this.#lastYield = performance.now();
    if (this.#mock === undefined) this.#fireDue(this.clock.now());
    this.#dispatchIfFree();
  };

  /**
   * The next runnable: the oldest; under a seed, a random ready task's
   * oldest. Either way a task's runnables keep their order, and those queued
   * right behind one just resumed without the kernel follow it at once, as
   * they do without a seed. They are the task's other traps settled in the
   * same moment (a cancel or timeout interrupts them all): under
   * Promise.all, the rejection that lets the task's code go on must reach it
   * as the task takes the kernel, before another task is resumed beside it.
   */
  #pick(): Runnable | undefined {
    const ready = this.#ready;
    if (this.#random === undefined) return ready.shift();
    const n = ready.length;
    const follow = this.#follow;
    this.#follow = undefined;
    if (n < 2) {
      this.#pickedAt = 0;
      return ready.shift();
    }
    let i = this.#pickedAt;
    if (follow === undefined || i >= n || ready.at(i)!.task !== follow) {
      i = Math.floor(this.#random() * n);
      const task = ready.at(i)!.task;
      for (let k = 0; k < i; k++) {
        if (ready.at(k)!.task === task) {
          i = k;
          break;
        }
      }
    }
    this.#pickedAt = i;
    return ready.takeAt(i);
  }

  /** A task resumed without the kernel that has more runnables queued (see #pick). */
  #follow: TaskCore | undefined = undefined;
  /** Where in the ready queue #pick took its last runnable from. */
  #pickedAt = 0;

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
    outsideTasks(this.#armImmediate);
  }

  // Bound once: arming allocates no closure.
  #armImmediate = (): void => {
    setImmediate(this.#check);
  };

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
    const entry = new TimerEntry(deadline, target);
    this.armTimer(entry);
    return entry;
  }

  /** Schedules `entry` (its own target, or another's) to expire at its deadline. */
  armTimer(entry: TimerEntry): void {
    const deadline = entry.deadline;
    this.#timers.insert(entry);
    if (this.#mock === undefined) {
      if (deadline < this.#nextDeadline) this.#nextDeadline = deadline;
      if (this.#running && deadline < this.#hostDeadline) this.#armHost(deadline);
    } else {
      this.checkIdle();
    }
  }

  /**
   * Expires every deadline up to `now`, earliest first; the wakes queue (the
   * caller dispatches). An entry that an earlier one's expiry cancelled is
   * skipped; one it added that is already due expires too.
   */
  #runTimers(now: number): void {
    const queueing = this.#queueWakes;
    this.#queueWakes = true;
    try {
      const timers = this.#timers;
      for (let entry = timers.popDue(now); entry !== undefined; entry = timers.popDue(now)) {
        entry.target.expire(now);
      }
    } finally {
      this.#queueWakes = queueing;
    }
  }

  /**
   * Real clocks, while the kernel is busy: expires the deadlines due at
   * `now`. Does nothing before the earliest deadline (`#nextDeadline`).
   * The host timer is left alone if it is armed: armed for a deadline that
   * has passed, it fires at the event loop's next turn and re-arms itself
   * for the next deadline. Re-arming it here instead cost a clearTimeout
   * and a setTimeout each time a few deadlines came due (measured: 11k
   * re-arms for 20k tasks sleeping 1 ms).
   */
  #fireDue(now: number): void {
    if (now < this.#nextDeadline) return;
    this.#runTimers(now);
    this.#rearm();
  }

  /**
   * After deadlines were added at start or expired: notes the earliest one
   * left and arms the host timer for it, unless one is armed already.
   */
  #rearm(): void {
    const next = this.#timers.next() ?? Infinity;
    this.#nextDeadline = next;
    if (this.#hostDeadline === Infinity && next !== Infinity) this.#armHost(next);
  }

  /** The kernel clock, given a performance.now() reading just taken. */
  #kernelTime(real: number): number {
    return this.#realTime ? real / 1000 : this.clock.now();
  }

  /** Arms the host timer for `deadline` (replacing the one armed, if any). */
  #armHost(deadline: number): void {
    if (!this.#running) return;
    if (this.#hostTimer !== undefined) clearTimeout(this.#hostTimer);
    this.#hostDeadline = deadline;
    const ms = Math.max(0, Math.ceil((deadline - this.clock.now()) * 1000));
    this.#hostTimer = outsideTasks(() => setTimeout(this.#onHostTimer, ms));
  }

  #onHostTimer = (): void => {
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    // Unconditional: the timer is for exactly this (and may fire a hair early).
    this.#runTimers(this.clock.now());
    this.#rearm();
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
