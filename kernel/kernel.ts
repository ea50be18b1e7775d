/**
 * The kernel: runs tasks, delivers cancellations and timeouts, keeps time.
 *
 * Principles (after curio's own kernel essay):
 *
 * - **Tasks are ordinary async functions.** No generators, no wrappers: a
 *   task's `finally` blocks are ordinary code, and cancellation arrives as a
 *   {@linkcode CancelledError} thrown at the `await` where the task is blocked.
 * - **A small core.** The kernel knows one way to block (a trap: a promise it
 *   settles itself) and one way to wake (its ready queue). Locks, queues,
 *   sockets and workers are all built from the public traps in
 *   `kernel/traps.ts`; none of them is special to the kernel.
 * - **Time belongs to the kernel.** All deadlines sit in one heap that arms a
 *   single host timer; a {@linkcode MockClock} replaces real time in tests.
 * - **Nobody starves.** Tasks that only talk to each other would never let
 *   Deno's event loop run; the kernel yields to it every few milliseconds.
 *
 * Semantics, where the manual (curio 0.4) and newer curio differ:
 *
 * - `run()` waits for every non-daemon task (manual), then cancels daemons.
 * - `spawn()` runs the child up to its first blocking point before returning
 *   (manual); `cancel()` returns true/false (manual).
 * - An operation that can complete at once (a free lock, a non-empty queue, a
 *   set event) completes without being a cancellation point; `sleep(0)`
 *   always is one (both).
 * - A cancel that arrives while the target is not blocked is delivered at its
 *   next blocking operation; a task may cancel itself (newer).
 * - A task is cancelled once: a second `cancel()` waits and never interrupts
 *   the target's cleanup (both).
 * - `TaskTimeout` is a `CancelledError`; nested timeouts raise
 *   `TimeoutCancellationError` in inner blocks and `UncaughtTimeoutError` for
 *   an escaped inner timeout (newer: the manual's version lost deadlines).
 *
 * @module
 */

import { Scheduler } from "./_scheduler.ts";
import { checkTaskFunction, insideTask, type TaskCore } from "./_task_core.ts";
import { type Clock, monotonicClock } from "./clock.ts";
import { CurioError } from "./errors.ts";
import { reportUnhandledRejections } from "./_unhandled.ts";
import {
  checkMonitorOption,
  type MonitorHandle,
  type MonitorOptions,
  startMonitor,
} from "./monitor_hook.ts";

/** Options for {@linkcode run} and {@linkcode Kernel}. */
export interface KernelOptions {
  /** Log a crashed task's id, name and stack to stderr (default `true`). */
  logErrors?: boolean;
  /**
   * The manual's `pdb`: execute a `debugger` statement when a task crashes,
   * so an attached inspector (`deno run --inspect-brk`) stops there.
   */
  debug?: boolean;
  /**
   * Start the monitor console (default port 48802 on 127.0.0.1, loopback
   * only). `true`, or `{ host, port, web, onListen }`; port 0 picks a free
   * port, which `onListen` receives (without `onListen` it is printed to
   * stderr once; {@linkcode Kernel.prototype.monitorAddress} tells it too).
   * `web: true` also serves a live web page on loopback. Connect with
   * `deno task monitor` or `@curio/curio/monitor`. Anyone who can connect can
   * cancel tasks: bind another interface only behind a firewall.
   */
  withMonitor?: boolean | {
    host?: string;
    port?: number;
    web?: boolean;
    onListen?: (info: { host: string; port: number; web?: string }) => void;
  };
  /** The clock for sleeps and timeouts (default: the monotonic clock). */
  clock?: Clock;
  /**
   * Test use: at each switch, run a ready task chosen at random from a
   * generator seeded with `seed`, instead of the first in line. The rules
   * that make a program's order (one task at a time until it blocks; waking
   * never switches; a spawned child's first cycle, then its parent) still
   * hold, so a test can explore many interleavings of the same program and
   * replay a failing one exactly from its seed (under {@linkcode MockClock},
   * with no outside I/O).
   */
  schedule?: { seed: number };
}

/** Options for {@linkcode Kernel.prototype.run}. */
export interface KernelRunOptions {
  /** After the tasks finish, cancel daemon tasks and shut down cleanly. */
  shutdown?: boolean;
}

/**
 * A curio kernel. {@linkcode run} is the usual entry point; create a Kernel
 * to run several main functions one after another on the same kernel.
 *
 * @example Usage
 * ```ts
 * import { Kernel, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await using kernel = new Kernel();
 * assert.equal(await kernel.run(async () => 1), 1);
 * assert.equal(await kernel.run(async () => {
 *   await sleep(0);
 *   return 2;
 * }), 2);
 * ```
 */
export class Kernel {
  #sched: Scheduler;
  #running = false;
  #shutDown = false;
  #monitorOptions: MonitorOptions | undefined;
  #monitor: MonitorHandle | undefined = undefined;

  /**
   * Creates a kernel; nothing runs until {@linkcode Kernel.prototype.run}.
   *
   * @param options `logErrors`, `debug`, `withMonitor`, `clock`, `schedule`.
   * @throws {TypeError} If `withMonitor` is neither a boolean nor `{ host, port, web, onListen }`,
   * or `schedule` is not `{ seed: number }`.
   * @throws {RangeError} If the monitor's port is not an integer from 0 to 65535.
   */
  constructor(options: KernelOptions = {}) {
    this.#monitorOptions = checkMonitorOption(options.withMonitor);
    this.#sched = new Scheduler({
      logErrors: options.logErrors ?? true,
      debug: options.debug ?? false,
      clock: options.clock ?? monotonicClock,
      seed: scheduleSeed(options.schedule),
    });
    this.#sched.kernel = this;
  }

  /**
   * Runs `main` as a task, then runs the kernel until every non-daemon task
   * has finished. With `shutdown: true` the remaining (daemon) tasks are then
   * cancelled, newest first, each awaited. With no `main` and
   * `shutdown: true`, just shuts the kernel down.
   *
   * @typeParam T What `main` resolves to.
   * @param main The function to run as the main task.
   * @param options `shutdown`.
   * @returns `main`'s result (`undefined` without `main`).
   * @throws {TypeError} If `main` is given but is not a function.
   * @throws {CurioError} If the kernel is already running, has shut down
   * (create a new Kernel), or `run()` is called inside a task (spawn one).
   * @throws If `main` throws, that same error: the other tasks are then
   * cancelled (newest first, each awaited) instead of waited for.
   *
   * @example Usage
   * ```ts
   * import { Kernel, spawn, sleep } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const kernel = new Kernel();
   * let ticks = 0;
   * const daemon = (await kernel.run(async () => {
   *   const d = await spawn(async () => {
   *     for (;;) {
   *       await sleep(0);
   *       ticks++;
   *     }
   *   }, { daemon: true });
   *   await sleep(0.01); // the daemon ticks meanwhile
   *   return d;
   * }))!;
   * assert(ticks > 0, "the daemon ran while main slept");
   * assert.equal(daemon.terminated, false, "run() does not wait for daemons");
   * await kernel.run(undefined, { shutdown: true }); // cancels the daemon
   * assert(daemon.cancelled && daemon.terminated);
   * ```
   */
  async run<T>(
    main?: () => Promise<T>,
    options: KernelRunOptions = {},
  ): Promise<T | undefined> {
    if (main !== undefined) checkTaskFunction(main, "run", "() => main(x)");
    if (insideTask()) {
      throw new CurioError(
        "Cannot run a kernel inside a task: this task already runs on one; spawn a task instead (await spawn(() => main()))",
      );
    }
    if (this.#running) {
      throw new CurioError("Cannot run the kernel: it is already running; await the first run()");
    }
    if (this.#shutDown) {
      if (main === undefined) return undefined; // shutting down twice is harmless
      throw new CurioError("Cannot run the kernel: it has shut down; create a new Kernel");
    }
    const sched = this.#sched;
    reportUnhandledRejections();
    this.#running = true;
    sched.start();
    let core: TaskCore | undefined;
    try {
      // The monitor starts first, so it traces every task main spawns.
      if (
        this.#monitorOptions !== undefined && main !== undefined && this.#monitor?.closed !== false
      ) {
        this.#monitor = await startMonitor(sched, this.#monitorOptions);
      }
      if (main !== undefined) {
        core = sched.spawn(main, main.name || "main", false, true);
      }
      await sched.whenNonDaemonDone();
      if (core?.failed) {
        // A failed main never leaves the program hanging on its other tasks.
        if (sched.logErrors && sched.tasks.size > 0) {
          const names = [...sched.tasks.values()].reverse().map((t) => `${t.id} (${t.name})`);
          console.error(
            `curio: main failed (${
              describe(core.exception)
            }); cancelling ${names.length} task(s): ${names.join(", ")}`,
          );
        }
        await sched.cancelAll();
      }
      if (options.shutdown) {
        await sched.shutdown();
        this.#shutDown = true;
      }
    } finally {
      await sched.stop();
      this.#running = false;
    }
    if (core === undefined) return undefined;
    if (core.failed) throw core.exception;
    return core.result as T;
  }

  /**
   * Where this kernel's monitor listens, as `[host, port]` (the real port
   * when `withMonitor: { port: 0 }` asked for a free one), or `undefined`
   * when no monitor is running. The monitor starts with the first `run()`
   * and stops when the kernel shuts down.
   *
   * @returns The monitor's address, or `undefined`.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { _getKernel } from "@curio/curio/traps";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [host, port] = (await _getKernel()).monitorAddress!;
   *   assert.equal(host, "127.0.0.1");
   *   assert(port > 0);
   * }, { withMonitor: { port: 0 } });
   * ```
   */
  get monitorAddress(): [string, number] | undefined {
    const monitor = this.#monitor;
    return monitor === undefined || monitor.closed ? undefined : [...monitor.address];
  }

  /**
   * Registers cleanup to run when this kernel shuts down, after its tasks
   * have been cancelled: how worker pools, listeners and the monitor release
   * what they hold, so nothing outlives `run()`. Hooks run last registered
   * first; a failing hook is logged and the others still run.
   *
   * @param hook The cleanup; may be async.
   * @returns A function that unregisters the hook.
   *
   * @example Usage
   * ```ts
   * import { Kernel } from "@curio/curio";
   * import { _getKernel } from "@curio/curio/traps";
   * import assert from "node:assert/strict";
   *
   * const closed: string[] = [];
   * const kernel = new Kernel();
   * await kernel.run(async () => {
   *   (await _getKernel()).onShutdown(() => {
   *     closed.push("pool");
   *   });
   * });
   * assert.deepEqual(closed, []);
   * await kernel.run(undefined, { shutdown: true });
   * assert.deepEqual(closed, ["pool"]);
   * ```
   */
  onShutdown(hook: () => void | Promise<void>): () => void {
    if (typeof hook !== "function") {
      throw new TypeError("Cannot register shutdown hook: expected a function");
    }
    return this.#sched.addShutdownHook(hook);
  }

  /** Shuts the kernel down: `await using kernel = new Kernel()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.run(undefined, { shutdown: true });
  }
}

function scheduleSeed(schedule: unknown): number | undefined {
  if (schedule === undefined) return undefined;
  const seed = (schedule as { seed?: unknown } | null)?.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw new TypeError(
      `Cannot create kernel: schedule must be { seed: integer }, received ${
        typeof seed === "number" ? `seed ${seed}` : JSON.stringify(schedule) ?? String(schedule)
      }`,
    );
  }
  return seed;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs `main` as the first task of a new kernel and resolves with its result
 * once every non-daemon task has finished; daemon tasks are then cancelled.
 * If `main` throws, `run` rejects with that same error.
 *
 * A promise made inside a task that rejects with nobody handling it still
 * ends the program as Deno does ("Uncaught (in promise)", exit code 1); curio
 * prints one line before Deno's report, naming the task (id and name) that was
 * running when the promise was rejected. To avoid it, await the promise, run
 * the work as a task (`spawn` then `join`, or a `TaskGroup`), or `wait()` for
 * it. A task that never blocks (a loop of fast-path `put`/`get` calls, a free
 * lock) keeps timers and I/O from running until it blocks: put `await
 * sleep(0)` in long loops and move CPU work to `runInThread`.
 *
 * @typeParam T What `main` resolves to.
 * @param main The main task's function.
 * @param options `logErrors`, `debug`, `withMonitor`, `clock`, `schedule`.
 * @returns `main`'s result.
 *
 * @example Usage
 * ```ts
 * import { run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * async function hello(name: string): Promise<string> {
 *   await sleep(0);
 *   return "Hello " + name;
 * }
 *
 * const greeting = await run(async () => {
 *   const t = await spawn(() => hello("Guido"));
 *   return await t.join();
 * });
 * assert.equal(greeting, "Hello Guido");
 * ```
 */
export async function run<T>(main: () => Promise<T>, options?: KernelOptions): Promise<T> {
  checkTaskFunction(main, "run", "() => main(x)");
  const kernel = new Kernel(options);
  return await kernel.run(main, { shutdown: true }) as T;
}
