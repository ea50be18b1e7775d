/**
 * The kernel's side of the monitor: a narrow view of the task table that the
 * monitor (`monitor/`, outside the kernel) plugs into.
 *
 * The kernel knows nothing of consoles, workers or web pages. It offers
 * three things, and only while a monitor is on:
 *
 * - **the task table**, read-only: id, name, state, cycles, parent, since
 *   when the task is in its state, and where it last blocked (the kernel
 *   records a stack at each blocking operation while tracing is on);
 * - **cancel** by task id;
 * - **who runs**: the id of the task holding the kernel (the one running
 *   until it blocks), kept in a small shared buffer so that a monitor running
 *   on another thread can read it while this thread is stuck in synchronous
 *   code.
 *
 * `monitor/` registers its starter with {@linkcode registerMonitor} when it is
 * imported (`mod.ts` imports it); `Kernel.run` calls it for `withMonitor`.
 * With nothing registered, `withMonitor` fails with a clear error.
 *
 * @module
 */

import type { Scheduler } from "./_scheduler.ts";
import { CurioError } from "./errors.ts";

/** Where a monitor listens, as handed to `onListen`. */
export interface MonitorListenInfo {
  /** The console's interface, e.g. `127.0.0.1`. */
  host: string;
  /** The console's TCP port (the real one when 0 was asked for). */
  port: number;
  /** The web page's address with its per-run token, when `web` is on. */
  web?: string;
}

/** The `withMonitor` option in object form (see `KernelOptions`). */
export interface MonitorOptions {
  /** The interface to bind (default `127.0.0.1`). */
  host?: string;
  /** The console's TCP port (default 48802; 0 picks a free one). */
  port?: number;
  /** Also serve the live web page on loopback (default false). */
  web?: boolean;
  /** Called once with the address; without it, a picked port or the web page is printed. */
  onListen?: (info: MonitorListenInfo) => void;
}

/** One live task, as the monitor sees it. `TaskCore` fits this shape. */
export interface MonitoredTask {
  /** The task id. */
  readonly id: number;
  /** The task's name. */
  readonly name: string;
  /** `RUNNING`, `READY` or a wait name such as `TIME_SLEEP`. */
  readonly state: string;
  /** Times the kernel resumed the task. */
  readonly cycles: number;
  /** Whether the kernel does not wait for it. */
  readonly daemon: boolean;
  /** The id of the task that spawned it, undefined for main. */
  readonly parentId: number | undefined;
  /** Kernel-clock time when the task entered its state (recorded while tracing). */
  readonly stateSince: number;
  /** Where the task last blocked (recorded while tracing), undefined if not seen. */
  readonly waitStack: Error | undefined;
  /** An operation it is blocked on; undefined when it is not blocked. */
  readonly trap: unknown;
}

/** Slot of {@linkcode KernelView.running}: the id of the task that last took the kernel. */
export const RUNNING_ID = 0;

/** What the kernel offers a monitor. */
export interface KernelView {
  /** The live tasks, in creation order. */
  tasks(): IterableIterator<MonitoredTask>;
  /** One live task, or undefined. */
  task(id: number): MonitoredTask | undefined;
  /** The kernel clock, in seconds. */
  now(): number;
  /** Asks task `id` to cancel; false if there is no such live task. */
  cancel(id: number): boolean;
  /** Resolves when task `id` has terminated (at once if it is not live). */
  whenDone(id: number): Promise<void>;
  /**
   * A view of a SharedArrayBuffer the kernel writes as tasks take the
   * kernel: `[RUNNING_ID]` is the task that took it last (a spawned child
   * during its first cycle included).
   */
  readonly running: Int32Array;
}

/** A running monitor, as the kernel holds it. */
export interface MonitorHandle {
  /** Where the console listens: `[host, port]`. */
  readonly address: [string, number];
  /** Whether the monitor has stopped. */
  readonly closed: boolean;
  /** Stops the monitor: says goodbye to clients, closes its sockets. */
  close(): Promise<void>;
}

/** Starts a monitor on a kernel; what `monitor/` registers. */
export type MonitorStarter = (view: KernelView, options: MonitorOptions) => Promise<MonitorHandle>;

let starter: MonitorStarter | undefined;

/**
 * Registers the monitor implementation the kernel starts for `withMonitor`.
 * `monitor/agent.ts` calls it when imported; the last registration wins.
 *
 * @param start The function that starts a monitor on a kernel.
 * @throws {TypeError} If `start` is not a function.
 *
 * @example Usage
 * ```ts ignore
 * registerMonitor(async (view, options) => startMyMonitor(view, options));
 * ```
 */
export function registerMonitor(start: MonitorStarter): void {
  if (typeof start !== "function") {
    throw new TypeError("Cannot register the monitor: expected a function");
  }
  starter = start;
}

/**
 * Checks the `withMonitor` kernel option. Returns the options object (every
 * field kept), `{}` for `true`, or `undefined` when no monitor is wanted.
 *
 * @param option `withMonitor` as given to `run()` or `new Kernel()`.
 * @returns The monitor options, or `undefined`.
 * @throws {TypeError} If the option or one of its fields has the wrong type.
 * @throws {RangeError} If `port` is not an integer from 0 to 65535.
 *
 * @example Usage
 * ```ts ignore
 * assert.deepEqual(checkMonitorOption(true), {});
 * ```
 */
export function checkMonitorOption(option: unknown): MonitorOptions | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return {};
  const fail = (detail: string): never => {
    throw new TypeError(`Cannot configure the monitor: ${detail}`);
  };
  if (option === null || typeof option !== "object") {
    fail(
      `withMonitor must be a boolean or { host, port, web, onListen }, received ${
        option === null ? "null" : typeof option
      }`,
    );
  }
  const { host, port, web, onListen } = option as Record<string, unknown>;
  if (host !== undefined && (typeof host !== "string" || host === "")) {
    fail(`host must be a non-empty string, received ${JSON.stringify(host) ?? typeof host}`);
  }
  if (port !== undefined) {
    if (typeof port !== "number") fail(`port must be a number, received ${typeof port}`);
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
      throw new RangeError(
        `Cannot configure the monitor: port must be an integer from 0 to 65535, received ${port}`,
      );
    }
  }
  if (web !== undefined && typeof web !== "boolean") {
    fail(`web must be a boolean, received ${typeof web}`);
  }
  if (onListen !== undefined && typeof onListen !== "function") {
    fail(`onListen must be a function, received ${typeof onListen}`);
  }
  return { ...(option as MonitorOptions) };
}

/**
 * Starts the registered monitor on `sched`: turns on stack tracing and the
 * shared "who runs" slots, and stops the monitor when the kernel shuts down.
 * Called by `Kernel.run`.
 *
 * @param sched The kernel's scheduler.
 * @param options The checked `withMonitor` options.
 * @returns The running monitor.
 * @throws {CurioError} If no monitor is registered, or it cannot start.
 *
 * @example Usage
 * ```ts ignore
 * const monitor = await startMonitor(sched, { port: 0 });
 * ```
 */
export async function startMonitor(
  sched: Scheduler,
  options: MonitorOptions,
): Promise<MonitorHandle> {
  const start = starter;
  if (start === undefined) {
    throw new CurioError(
      "Cannot start the monitor: it is not loaded; import run from @curio/curio (mod.ts), " +
        "which loads @curio/curio's monitor/",
    );
  }
  const running = new Int32Array(new SharedArrayBuffer(4));
  sched.onHold = (task) => {
    running[RUNNING_ID] = task.id;
  };
  const unhook = (): void => {
    sched.onHold = undefined;
  };
  const view: KernelView = {
    tasks: () => sched.tasks.values(),
    task: (id) => sched.tasks.find((t) => t.id === id),
    now: () => sched.clock.now(),
    cancel: (id) => {
      const core = sched.tasks.find((t) => t.id === id);
      return core !== undefined && sched.requestCancel(core);
    },
    whenDone: (id) => sched.tasks.find((t) => t.id === id)?.whenDone() ?? Promise.resolve(),
    running,
  };
  sched.tracing = true;
  let handle: MonitorHandle;
  try {
    handle = await start(view, options);
  } catch (error) {
    sched.tracing = false;
    unhook();
    throw error;
  }
  const monitor: MonitorHandle = {
    get address() {
      return handle.address;
    },
    get closed() {
      return handle.closed;
    },
    async close() {
      remove();
      sched.tracing = false;
      unhook();
      await handle.close();
    },
  };
  const remove = sched.addShutdownHook(() => monitor.close());
  return monitor;
}
