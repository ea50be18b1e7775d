/**
 * The monitor: a console on a TCP port that shows the kernel's tasks while the
 * program runs (curio's `with_monitor=True`).
 *
 * `run(main, { withMonitor: true })` starts it as a daemon task listening on
 * `127.0.0.1:48802` (loopback only, unless `host` says otherwise). Connect
 * with `deno task monitor`, `deno run --allow-net monitor.ts`, or any line
 * client such as `nc 127.0.0.1 48802`, and type:
 *
 * | command | what it does |
 * |---|---|
 * | `ps` | a table of the live tasks: id, state, cycles, time in that state, name |
 * | `where ID` | the stack of the operation task ID is blocked on |
 * | `cancel ID` | cancels task ID (it sees a `CancelledError`) |
 * | `signal NAME` | sends signal NAME (`SIGTERM`, `INT`, ...) to this process |
 * | `help` | lists the commands |
 * | `quit` | closes this connection |
 *
 * Why it looks like this:
 *
 * - **It is just tasks.** The listener and every client run as daemon tasks
 *   that block through `_futureWait`, like any other I/O, so the monitor is
 *   cancelled with the other daemons when `run()` shuts down and leaves no
 *   socket behind. `ps` lists them too.
 * - **Stacks cost nothing until someone looks.** While a monitor runs, the
 *   kernel records `new Error().stack` each time a task blocks (and since
 *   when); without a monitor it records nothing.
 * - **It cannot hurt the program.** Bad commands and unknown ids get one
 *   `error: ...` line. A line longer than 4 KiB, a ninth client at once, or
 *   a client sending more than 500 commands a second (after a burst of 1000)
 *   is cut off; each client is its own task, so a slow or hostile client
 *   only blocks itself.
 *
 * Security: anyone who can connect can cancel tasks and signal the process.
 * Keep the default loopback address, or bind elsewhere only behind a
 * firewall.
 *
 * This file is the kernel side; the client is `monitor.ts` at the package
 * root (`@curio/curio/monitor`).
 *
 * @module
 */

import { currentCore, type Scheduler, type TaskCore } from "./_core.ts";
import { CurioError } from "./errors.ts";
import { ignoreAfter } from "./timeouts.ts";
import { _futureWait } from "./traps.ts";

/** The address the monitor binds to by default: loopback only. */
export const MONITOR_HOST = "127.0.0.1";
/** The monitor's default port (curio's). */
export const MONITOR_PORT = 48802;
/** What the monitor sends when it is ready for the next command. */
export const MONITOR_PROMPT = "curio > ";
/** The longest command line accepted, in bytes; longer lines close the connection. */
export const MONITOR_MAX_LINE = 4096;
/** How many clients may be connected at once; more are turned away. */
export const MONITOR_MAX_CLIENTS = 8;

/** Commands a client may send in a burst before being cut off. */
const FLOOD_BURST = 1000;
/** Commands per second a client may sustain. */
const FLOOD_RATE = 500;
/** How long `cancel` waits for the task to finish before replying anyway (seconds). */
const CANCEL_WAIT = 1;

const HELP = [
  "commands:",
  "  ps            list the tasks: id, state, cycles, time in that state, name",
  "  where ID      show where task ID is blocked (the stack of its await)",
  "  cancel ID     cancel task ID",
  "  signal NAME   send signal NAME (e.g. SIGTERM, USR1) to this process",
  "  help          this text",
  "  quit          close this connection",
].join("\n");

/** Where a monitor listens, after defaults have been applied. */
export interface MonitorConfig {
  /** The interface to bind (default `127.0.0.1`). */
  host: string;
  /** The TCP port (default 48802; 0 picks a free one). */
  port: number;
}

/**
 * Turns the `withMonitor` kernel option into a {@linkcode MonitorConfig}, or
 * `undefined` when no monitor is wanted.
 *
 * @param option `withMonitor` as given to `run()` or `new Kernel()`.
 * @returns The host and port to bind, or `undefined`.
 * @throws {TypeError} If the option, `host` or `port` has the wrong type.
 * @throws {RangeError} If `port` is not an integer in 0..65535.
 *
 * @example Usage
 * ```ts ignore
 * assert.deepEqual(monitorConfig(true), { host: "127.0.0.1", port: 48802 });
 * ```
 */
export function monitorConfig(
  option: boolean | { host?: string; port?: number } | undefined,
): MonitorConfig | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { host: MONITOR_HOST, port: MONITOR_PORT };
  if (option === null || typeof option !== "object") {
    throw new TypeError(
      `Cannot configure the monitor: withMonitor must be a boolean or { host, port }, received ${
        option === null ? "null" : typeof option
      }`,
    );
  }
  const { host = MONITOR_HOST, port = MONITOR_PORT } = option;
  if (typeof host !== "string" || host === "") {
    throw new TypeError(
      `Cannot configure the monitor: host must be a non-empty string, received ${
        JSON.stringify(host) ?? typeof host
      }`,
    );
  }
  if (typeof port !== "number") {
    throw new TypeError(
      `Cannot configure the monitor: port must be a number, received ${typeof port}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot configure the monitor: port must be an integer from 0 to 65535, received ${port}`,
    );
  }
  return { host, port };
}

/** A running monitor, as the kernel holds it. */
export interface MonitorHandle {
  /** Where it listens: `[host, port]`, with the real port when 0 was asked for. */
  readonly address: [string, number];
  /** Whether the monitor task has ended (it is a daemon: shutdown ends it). */
  readonly closed: boolean;
}

/**
 * Binds the monitor's port and starts its daemon task on `sched`. Turns on
 * the scheduler's stack tracing for as long as the monitor runs. Called by
 * `Kernel.run`.
 *
 * @param sched The kernel's scheduler.
 * @param config Where to listen.
 * @returns The running monitor.
 * @throws {CurioError} If the port cannot be bound (in use, no `--allow-net`).
 *
 * @example Usage
 * ```ts ignore
 * const monitor = startMonitor(sched, { host: "127.0.0.1", port: 0 });
 * console.log(monitor.address);
 * ```
 */
export function startMonitor(sched: Scheduler, config: MonitorConfig): MonitorHandle {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" });
  } catch (error) {
    const hint = error instanceof Deno.errors.AddrInUse
      ? "; another program (or kernel) holds it: pass withMonitor: { port: 0 } or another port"
      : error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ? "; run with --allow-net"
      : "";
    throw new CurioError(
      `Cannot start the monitor on ${config.host}:${config.port}: ${
        (error as Error)?.message ?? error
      }${hint}`,
      { cause: error },
    );
  }
  const addr = listener.addr;
  const server = new MonitorServer(sched, listener, [addr.hostname, addr.port]);
  sched.tracing = true;
  server.core = sched.spawn(() => server.serve(), "curio.monitor", true);
  return server;
}

/** The listening side: accepts clients, each served by its own daemon task. */
class MonitorServer implements MonitorHandle {
  readonly clients: Set<TaskCore> = new Set();
  core: TaskCore | undefined = undefined;

  constructor(
    readonly sched: Scheduler,
    readonly listener: Deno.TcpListener,
    readonly address: [string, number],
  ) {}

  get closed(): boolean {
    return this.core === undefined || this.core.terminated;
  }

  /** Is `core` one of the monitor's own tasks? */
  owns(core: TaskCore): boolean {
    return core === this.core || this.clients.has(core);
  }

  async serve(): Promise<void> {
    const me = currentCore("run the monitor");
    let accepting: Promise<Deno.TcpConn> | undefined;
    try {
      for (;;) {
        accepting = this.listener.accept();
        const conn = await _futureWait(accepting, "READ_WAIT");
        accepting = undefined;
        const client = new MonitorSession(this, conn);
        const core = this.sched.spawn(() => client.serve(), "curio.monitor.client", true);
        if (!core.terminated) {
          this.clients.add(core);
          core.whenDone().then(() => this.clients.delete(core));
        }
      }
    } finally {
      try {
        this.listener.close();
      } catch { /* already closed */ }
      if (accepting !== undefined) {
        // Closing the listener rejects the pending accept; wait for it so no
        // operation outlives the task (and close a connection that won the race).
        await _futureWait(accepting.then((conn) => conn.close(), () => {}));
      }
      const clients = [...this.clients];
      for (const core of clients) this.sched.requestCancel(core);
      for (const core of clients) await core.waitFor(me);
      this.sched.tracing = false;
    }
  }
}

/** One client connection: reads command lines, writes replies. */
class MonitorSession {
  #pending: Promise<unknown> | undefined = undefined;
  #encoder = new TextEncoder();
  #decoder = new TextDecoder();
  #tokens = FLOOD_BURST;
  #refilled = performance.now();

  constructor(readonly server: MonitorServer, readonly conn: Deno.TcpConn) {}

  async serve(): Promise<void> {
    try {
      if (this.server.clients.size >= MONITOR_MAX_CLIENTS) {
        await this.#send(
          `error: too many monitor clients (limit ${MONITOR_MAX_CLIENTS}); try again later\n`,
        );
        return;
      }
      await this.#send(
        `curio monitor: ${this.server.sched.tasks.size} tasks; type help for commands\n` +
          MONITOR_PROMPT,
      );
      await this.#loop();
    } finally {
      await this.#close();
    }
  }

  async #loop(): Promise<void> {
    const buf = new Uint8Array(MONITOR_MAX_LINE + 1);
    const line = new Uint8Array(MONITOR_MAX_LINE + 1);
    let used = 0;
    for (;;) {
      const n = await this.#io(this.conn.read(buf), "READ_WAIT");
      if (n === null) return; // the client went away
      let start = 0;
      for (let i = 0; i < n; i++) {
        if (buf[i] !== 10) continue;
        const piece = i - start;
        if (used + piece > MONITOR_MAX_LINE) return await this.#tooLong();
        line.set(buf.subarray(start, i), used);
        const text = this.#decoder.decode(line.subarray(0, used + piece));
        used = 0;
        start = i + 1;
        if (!this.#spend()) {
          await this.#send("error: too many commands too fast; closing the connection\n");
          return;
        }
        const reply = await this.#execute(text.replace(/\r$/, "").trim());
        if (reply === undefined) {
          await this.#send("bye\n");
          return;
        }
        await this.#send(reply === "" ? MONITOR_PROMPT : reply + "\n" + MONITOR_PROMPT);
      }
      const rest = n - start;
      if (used + rest > MONITOR_MAX_LINE) return await this.#tooLong();
      line.set(buf.subarray(start, n), used);
      used += rest;
    }
  }

  async #tooLong(): Promise<void> {
    await this.#send(
      `error: line longer than ${MONITOR_MAX_LINE} bytes; closing the connection\n`,
    );
  }

  /** Token bucket: false once the client sends commands faster than allowed. */
  #spend(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(FLOOD_BURST, this.#tokens + (now - this.#refilled) / 1000 * FLOOD_RATE);
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Runs one command line; the reply text, or undefined for `quit`. */
  async #execute(line: string): Promise<string | undefined> {
    if (line === "") return "";
    const [command = "", ...args] = line.split(/\s+/);
    try {
      switch (command.toLowerCase()) {
        case "ps":
          return this.#ps();
        case "where":
          return this.#where(this.#taskArg(command, args));
        case "cancel":
          return await this.#cancel(this.#taskArg(command, args));
        case "signal":
          return this.#signal(args);
        case "help":
        case "?":
          return HELP;
        case "quit":
        case "exit":
          return undefined;
        default:
          return `error: unknown command ${JSON.stringify(clip(command))}; type help`;
      }
    } catch (error) {
      if (error instanceof CommandError) return `error: ${error.message}`;
      throw error;
    }
  }

  #taskArg(command: string, args: string[]): TaskCore {
    if (args.length !== 1 || !/^\d+$/.test(args[0]!)) {
      throw new CommandError(`usage: ${command} ID (a task id from ps)`);
    }
    const id = Number(args[0]);
    const core = this.server.sched.tasks.get(id);
    if (core === undefined) throw new CommandError(`no task with id ${clip(args[0]!)}`);
    return core;
  }

  #ps(): string {
    const sched = this.server.sched;
    const now = sched.clock.now();
    const rows = [["ID", "STATE", "CYCLES", "TIME", "NAME"]];
    for (const core of sched.tasks.values()) {
      const blocked = core.traps.length > 0 && core.waitStack !== undefined;
      rows.push([
        String(core.id),
        core.state,
        String(core.cycles),
        blocked ? formatDuration(now - core.stateSince) : "-",
        printable(core.name) + (core.daemon ? " (daemon)" : ""),
      ]);
    }
    const widths = [6, 14, 8, 8];
    for (const row of rows) {
      for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
    }
    return rows.map((row) =>
      row.map((cell, i) =>
        i === 0 || i === 2
          ? cell.padStart(widths[i]!)
          : i < widths.length
          ? cell.padEnd(widths[i]!)
          : cell
      ).join("  ")
    ).join("\n");
  }

  #where(core: TaskCore): string {
    const head = `task ${core.id} (${printable(core.name)}) ${core.state}`;
    if (core.waitStack === undefined) {
      return `${head}: no stack recorded (it has not blocked since the monitor started)`;
    }
    const stack = core.waitStack;
    const frames = String(typeof stack === "string" ? stack : stack.stack).split("\n").slice(1)
      .filter((frame) => !frame.includes("/kernel/_core.ts") && !frame.includes("(ext:"))
      .map((frame) => "  " + frame.trim());
    const when = core.traps.length > 0 ? "blocked at" : "not blocked now; last blocked at";
    return `${head}, ${when}:\n${frames.join("\n")}`;
  }

  async #cancel(core: TaskCore): Promise<string> {
    if (this.server.owns(core)) {
      throw new CommandError(`task ${core.id} is part of the monitor; use quit to disconnect`);
    }
    const name = `task ${core.id} (${printable(core.name)})`;
    const sched = this.server.sched;
    if (core.cancelRequested) return `${name} is already being cancelled`;
    sched.requestCancel(core);
    const me = currentCore("cancel a task");
    await ignoreAfter(CANCEL_WAIT, () => core.waitFor(me));
    return core.terminated
      ? `${name} cancelled`
      : `${name} cancel requested; it is still cleaning up (${core.state})`;
  }

  #signal(args: string[]): string {
    if (args.length !== 1) throw new CommandError("usage: signal NAME (e.g. signal SIGTERM)");
    let name = args[0]!.toUpperCase();
    if (!name.startsWith("SIG")) name = "SIG" + name;
    try {
      Deno.kill(Deno.pid, name as Deno.Signal);
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        throw new CommandError(
          `cannot send ${name}: the program needs --allow-run to signal itself`,
        );
      }
      throw new CommandError(`cannot send ${clip(name)}: ${(error as Error)?.message ?? error}`);
    }
    return `sent ${name} to process ${Deno.pid}`;
  }

  async #send(text: string): Promise<void> {
    const bytes = this.#encoder.encode(text);
    for (let off = 0; off < bytes.length;) {
      off += await this.#io(this.conn.write(bytes.subarray(off)), "WRITE_WAIT");
    }
  }

  /** Blocks on one read or write; remembered so #close can wait for it. */
  async #io<T>(op: Promise<T>, state: string): Promise<T> {
    this.#pending = op;
    const value = await _futureWait(op, state);
    this.#pending = undefined;
    return value;
  }

  async #close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    const pending = this.#pending;
    this.#pending = undefined;
    // Closing interrupts an operation in flight; let it settle inside the task.
    if (pending !== undefined) await _futureWait(pending.then(() => {}, () => {}));
  }
}

/** A bad command: its message becomes the one-line `error: ...` reply. */
class CommandError extends Error {}

/** A task name as one safe line: control characters escaped. */
function printable(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
}

function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "..." : text;
}

/** `0.5s`, `12.0s`, `3m07s`, `2h05m`. */
function formatDuration(seconds: number): string {
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 60) return seconds.toFixed(1) + "s";
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    return `${m}m${String(Math.floor(seconds - m * 60)).padStart(2, "0")}s`;
  }
  const h = Math.floor(seconds / 3600);
  return `${h}h${String(Math.floor((seconds - h * 3600) / 60)).padStart(2, "0")}m`;
}
