/**
 * The monitor's main-thread side: starts the console server in a Web Worker
 * and feeds it snapshots of the kernel's task table.
 *
 * Importing this module registers it with the kernel (`mod.ts` does), so
 * `run(main, { withMonitor: true })` starts a monitor. The design, in brief:
 *
 * - **The console lives in a worker.** Sockets, command parsing, the `ps`
 *   table, the web page and every limit run on the worker's thread, so the
 *   console answers while this thread is stuck in synchronous code, and a
 *   client flooding `ps` costs the program nothing but the snapshots.
 * - **Snapshots send only what changed**, at most every 100 ms, plus one at
 *   once when a command needs fresh data (coalesced, at most one every few
 *   milliseconds). A snapshot is also the heartbeat: after a second of
 *   silence the worker says the kernel is not responding.
 * - **Stacks are formatted here, within a budget.** The kernel records an
 *   `Error` each time a task blocks; formatting one costs tens of
 *   microseconds, so each snapshot formats at most about a millisecond's
 *   worth (the rest follow in the next ones), and `where` formats on demand.
 * - **Actions run here.** `cancel` and `signal` are requests this side
 *   answers; while this thread is stuck they wait, and the console says so.
 *
 * @module
 */

import {
  type KernelView,
  type MonitorHandle,
  type MonitorListenInfo,
  type MonitorOptions,
  registerMonitor,
} from "../kernel/monitor_hook.ts";
import { CurioError } from "../kernel/errors.ts";
import {
  type AgentMessage,
  DEFAULT_LIMITS,
  MONITOR_HOST,
  MONITOR_PORT,
  type MonitorLimits,
  TICK_MS,
  type WorkerRequest,
} from "./_protocol.ts";
import { printable } from "./_feed.ts";
import { formatStack, Snapshotter } from "./_snapshot.ts";
import { workerSource } from "./_worker_source.ts";

/** How long `cancel` waits for the task to finish before replying anyway (ms). */
const CANCEL_WAIT_MS = 1000;
/** How long close() waits for the worker to say goodbye to its clients (ms). */
const CLOSE_WAIT_MS = 1000;

/** Reads the undocumented `limits` option (tests shrink timeouts with it). */
function limitsOf(options: MonitorOptions): MonitorLimits {
  const given = (options as { limits?: unknown }).limits;
  const limits = { ...DEFAULT_LIMITS };
  if (given === undefined) return limits;
  if (given === null || typeof given !== "object") {
    throw new TypeError("Cannot configure the monitor: limits must be an object");
  }
  for (const [key, value] of Object.entries(given)) {
    if (!(key in limits)) {
      throw new TypeError(`Cannot configure the monitor: unknown limit ${JSON.stringify(key)}`);
    }
    if (typeof value !== "number" || !(value >= 0)) {
      throw new RangeError(
        `Cannot configure the monitor: limit ${key} must be a number >= 0, received ${value}`,
      );
    }
    limits[key as keyof MonitorLimits] = value;
  }
  return limits;
}

/** A monitor running on one kernel: the worker and the snapshot feed. */
class Agent implements MonitorHandle {
  #worker: Worker;
  #snapshots: Snapshotter;
  #ticker: ReturnType<typeof setInterval> | undefined = undefined;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;
  #goodbye: (() => void) | undefined = undefined;
  #lastSync = 0;
  #syncTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #syncWaiting: number[] = [];
  address: [string, number] = ["", 0];

  constructor(readonly view: KernelView, worker: Worker) {
    this.#worker = worker;
    this.#snapshots = new Snapshotter(view);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends the start message and waits until the worker listens (or cannot). */
  start(options: MonitorOptions, limits: MonitorLimits): Promise<MonitorListenInfo> {
    const host = options.host ?? MONITOR_HOST;
    const port = options.port ?? MONITOR_PORT;
    return new Promise<MonitorListenInfo>((resolve, reject) => {
      this.#worker.onerror = (event) => {
        event.preventDefault();
        reject(new CurioError(`Cannot start the monitor: its worker failed: ${event.message}`));
      };
      this.#worker.onmessage = (event: MessageEvent<WorkerRequest>) => {
        const msg = event.data;
        if (msg.t === "listening") {
          this.address = [msg.host, msg.port];
          this.#worker.onmessage = (e: MessageEvent<WorkerRequest>) => this.#onRequest(e.data);
          this.#worker.onerror = (e) => {
            e.preventDefault();
            console.error(`curio: the monitor's worker failed: ${e.message}`);
            this.#stop();
          };
          const info: MonitorListenInfo = { host: msg.host, port: msg.port };
          if (msg.web !== undefined) info.web = msg.web;
          resolve(info);
        } else if (msg.t === "failed") {
          const hint = msg.code === "AddrInUse"
            ? "; another program (or kernel) holds it: pass withMonitor: { port: 0 } or another port"
            : msg.code === "NotCapable" || msg.code === "PermissionDenied"
            ? "; run with --allow-net"
            : "";
          const Class = (Deno.errors as unknown as Record<string, ErrorConstructor>)[msg.code];
          reject(
            new CurioError(`Cannot start the monitor on ${host}:${port}: ${msg.message}${hint}`, {
              cause: Class === undefined ? new Error(msg.message) : new Class(msg.message),
            }),
          );
        }
      };
      this.#post({
        t: "start",
        host,
        port,
        web: options.web ?? false,
        limits,
        running: this.view.running,
      });
    });
  }

  /** Starts the periodic snapshots. */
  feed(): void {
    this.#ticker = setInterval(() => this.#post(this.#snapshots.take()), TICK_MS);
    this.#post(this.#snapshots.take());
  }

  #post(message: AgentMessage): void {
    if (!this.#closed) this.#worker.postMessage(message);
  }

  #reply(req: number, text: string, error = false): void {
    this.#post(error ? { t: "reply", req, text, error } : { t: "reply", req, text });
  }

  #onRequest(msg: WorkerRequest): void {
    switch (msg.t) {
      case "sync":
        return this.#sync(msg.req);
      case "where":
        return this.#where(msg.req, msg.id);
      case "cancel":
        void this.#cancel(msg.req, msg.id);
        return;
      case "signal":
        return this.#signal(msg.req, msg.name);
      case "closed":
        this.#goodbye?.();
        return;
    }
  }

  /**
   * Answers a `sync` with a snapshot; syncs closer together than a few
   * milliseconds share one, so a client flooding `ps` cannot keep this thread busy.
   */
  #sync(req: number): void {
    this.#syncWaiting.push(req);
    if (this.#syncTimer !== undefined) return;
    const wait = this.#lastSync + 5 - performance.now();
    if (wait <= 0) return this.#flushSyncs();
    this.#syncTimer = setTimeout(() => this.#flushSyncs(), wait);
  }

  #flushSyncs(): void {
    this.#syncTimer = undefined;
    this.#lastSync = performance.now();
    const waiting = this.#syncWaiting;
    this.#syncWaiting = [];
    const snap = this.#snapshots.take(waiting[0]);
    this.#post(snap);
    for (const req of waiting.slice(1)) this.#reply(req, "");
  }

  #where(req: number, id: number): void {
    const task = this.view.task(id);
    if (task === undefined) return this.#reply(req, `no task with id ${id}`, true);
    const head = `task ${task.id} (${printable(task.name)}) ${task.state}`;
    if (task.waitStack === undefined) {
      return this.#reply(
        req,
        `${head}: no stack recorded (it has not blocked since the monitor started)`,
      );
    }
    const when = task.trap !== undefined ? "blocked at" : "not blocked now; last blocked at";
    this.#reply(req, `${head}, ${when}:\n${formatStack(task.waitStack)}`);
  }

  async #cancel(req: number, id: number): Promise<void> {
    const task = this.view.task(id);
    if (task === undefined) return this.#reply(req, `no task with id ${id}`, true);
    const name = `task ${task.id} (${printable(task.name)})`;
    if (!this.view.cancel(id)) return this.#reply(req, `no task with id ${id}`, true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      this.view.whenDone(id).then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), CANCEL_WAIT_MS)),
    ]);
    clearTimeout(timer);
    this.#reply(
      req,
      finished
        ? `${name} cancelled`
        : `${name} cancel requested; it is still cleaning up (${task.state})`,
    );
  }

  #signal(req: number, name: string): void {
    try {
      Deno.kill(Deno.pid, name as Deno.Signal);
    } catch (error) {
      const denied = error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied;
      return this.#reply(
        req,
        denied
          ? `cannot send ${name}: the program needs --allow-run to signal itself`
          : `cannot send ${name}: ${(error as Error)?.message ?? error}`,
        true,
      );
    }
    this.#reply(req, `sent ${name} to process ${Deno.pid}`);
  }

  #stop(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#ticker = this.#syncTimer = undefined;
    this.#closed = true;
    this.#worker.terminate();
  }

  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    // Let the worker tell its clients the program is exiting and close its sockets.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#goodbye = resolve;
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
      this.#post({ t: "close" });
    });
    clearTimeout(timer);
    this.#stop();
  }
}

/**
 * Starts a monitor on a kernel: the worker, the snapshot feed, and the
 * address printed to stderr (port 0 or web page) or handed to `onListen`.
 * What the kernel calls for `withMonitor`; registered when this module loads.
 *
 * @param view The kernel's view for monitors.
 * @param options The checked `withMonitor` options.
 * @returns The running monitor.
 * @throws {CurioError} If the port cannot be bound (in use, no `--allow-net`).
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * let port = 0;
 * await run(async () => {}, { withMonitor: { port: 0, onListen: (info) => port = info.port } });
 * assert(port > 0);
 * ```
 */
export async function startMonitorAgent(
  view: KernelView,
  options: MonitorOptions,
): Promise<MonitorHandle> {
  const limits = limitsOf(options);
  // From a Blob: a Worker loaded from a local file would need --allow-read.
  const url = URL.createObjectURL(new Blob([workerSource()], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module", name: "curio.monitor" });
  const agent = new Agent(view, worker);
  let info: MonitorListenInfo;
  try {
    info = await agent.start(options, limits);
  } catch (error) {
    worker.terminate();
    throw error;
  } finally {
    URL.revokeObjectURL(url);
  }
  agent.feed();
  if (options.onListen !== undefined) {
    try {
      options.onListen(info);
    } catch (error) {
      await agent.close();
      throw error;
    }
  } else {
    if (options.port === 0) {
      console.error(
        `curio monitor: listening on ${info.host}:${info.port} ` +
          `(connect: deno task monitor --port ${info.port})`,
      );
    }
    if (info.web !== undefined) console.error(`curio monitor: web page at ${info.web}`);
  }
  return agent;
}

registerMonitor(startMonitorAgent);
