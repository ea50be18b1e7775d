/**
 * The monitor client: connects to a running program's monitor console (see
 * `withMonitor` in `run()`), lets you type `ps`, `where ID`, `parents ID`,
 * `cancel ID`, `signal NAME`, `web`, `help`, `quit` (or their short forms
 * `p`, `w`, `pa`, `c`, `s`, `h`, `q`), and prints the replies.
 *
 * ```sh
 * deno task monitor                                   # 127.0.0.1:48802
 * deno task monitor --web                             # also open the live web page
 * deno run --allow-net monitor/client.ts --host 127.0.0.1 --port 48802
 * echo ps | deno run --allow-net jsr:@curio/curio/monitor --port 5000
 * ```
 *
 * On a terminal it prompts for commands; otherwise it reads one command per
 * line from stdin, prints each reply, and exits at end of input, so it can be
 * scripted. When the program exits (or closes the monitor) it says so at
 * once, even while waiting for input, and exits. Exit status: 0, 1 if it
 * cannot connect or loses the connection mid-command, 2 for bad arguments.
 *
 * {@linkcode connectMonitor} is the same client as a library, for tests and
 * tools.
 *
 * @module
 */

import { MONITOR_HOST, MONITOR_PORT, MONITOR_PROMPT } from "./_protocol.ts";

/** Where to connect: defaults to the monitor's own defaults. */
export interface MonitorClientOptions {
  /** The monitor's host (default `127.0.0.1`). */
  host?: string;
  /** The monitor's port (default 48802). */
  port?: number;
}

const encoder = new TextEncoder();
const NEWLINE_PROMPT = "\n" + MONITOR_PROMPT;

/**
 * A connection to a kernel's monitor. Made by {@linkcode connectMonitor}.
 *
 * It uses plain Deno I/O, not the kernel: use it from outside a kernel, or
 * from a task when a blocked await that is not a cancellation point is fine
 * (tests, examples). It reads the connection all the time, so it learns at
 * once when the monitor goes away ({@linkcode MonitorClient.whenClosed}).
 */
export class MonitorClient {
  #conn: Deno.TcpConn;
  #decoder = new TextDecoder();
  #text = "";
  #closed = false;
  #greeting = "";
  #wake: (() => void) | undefined = undefined;
  #turn: Promise<void> = Promise.resolve();
  #pump: Promise<void>;
  #whenClosed: Promise<string>;
  #resolveClosed!: (farewell: string) => void;

  /**
   * Wraps a connected socket and starts reading it; use {@linkcode connectMonitor}.
   *
   * @param conn A connection to a monitor.
   */
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#whenClosed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#pump = this.#read();
  }

  /** The line the monitor greeted this client with. */
  get greeting(): string {
    return this.#greeting;
  }

  /** Whether the monitor has closed the connection (after `quit`, cut off, program exit). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves when the monitor closes the connection, with what it said that
   * no command has returned (such as `curio monitor: the program is exiting; bye`).
   *
   * @returns The monitor's last unread words, `""` if none.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { connectMonitor } from "@curio/curio/monitor";
   * import assert from "node:assert/strict";
   *
   * let port = 0;
   * let monitor: Awaited<ReturnType<typeof connectMonitor>> | undefined;
   * await run(async () => {
   *   monitor = await connectMonitor({ port });
   * }, { withMonitor: { port: 0, onListen: (info) => port = info.port } });
   * assert.match(await monitor!.whenClosed(), /the program is exiting/);
   * await monitor!.close();
   * ```
   */
  whenClosed(): Promise<string> {
    return this.#whenClosed;
  }

  /** @internal Reads the greeting; called by connectMonitor. */
  async _start(): Promise<void> {
    this.#greeting = await this.#reply();
  }

  /**
   * Sends one command and returns the monitor's reply, without the prompt.
   * A bad command's reply is one line starting with `error: `. If the
   * monitor closes the connection instead (after `quit`, a too long line),
   * returns what it said last and {@linkcode MonitorClient.closed} turns true.
   *
   * @param line A command such as `"ps"` or `"where 3"`.
   * @returns The reply text.
   * @throws {TypeError} If `line` is not a string or contains a newline.
   * @throws {Deno.errors.BadResource} If the connection is already closed.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { _getKernel } from "@curio/curio/traps";
   * import { connectMonitor } from "@curio/curio/monitor";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [host, port] = (await _getKernel()).monitorAddress!;
   *   await using monitor = await connectMonitor({ host, port });
   *   assert.match(await monitor.command("help"), /where ID/);
   *   assert.match(await monitor.command("bogus"), /^error: unknown command/);
   * }, { withMonitor: { port: 0, onListen: () => {} } });
   * ```
   */
  async command(line: string): Promise<string> {
    if (typeof line !== "string" || /[\r\n]/.test(line)) {
      throw new TypeError(
        "Cannot send monitor command: expected one line of text without newlines",
      );
    }
    // One command at a time: replies come back in order, each after its prompt.
    const turn = this.#turn.then(async () => {
      if (this.#closed) {
        throw new Deno.errors.BadResource(
          "Cannot send monitor command: the monitor closed the connection",
        );
      }
      await writeAll(this.#conn, encoder.encode(line + "\n"));
      return await this.#reply();
    });
    this.#turn = turn.then(() => {}, () => {});
    return await turn;
  }

  /**
   * Says `quit` (if still connected) and closes the connection.
   *
   * @returns When the connection is closed.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { _getKernel } from "@curio/curio/traps";
   * import { connectMonitor } from "@curio/curio/monitor";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [host, port] = (await _getKernel()).monitorAddress!;
   *   const monitor = await connectMonitor({ host, port });
   *   await monitor.close();
   *   assert.equal(monitor.closed, true);
   * }, { withMonitor: { port: 0, onListen: () => {} } });
   * ```
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      try {
        await this.command("quit");
      } catch { /* the monitor is gone already */ }
    }
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#pump;
  }

  /** Same as {@linkcode MonitorClient.close}: `await using monitor = ...`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Reads the connection until it ends, waking whoever waits for a reply. */
  async #read(): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#text += this.#decoder.decode(buf.subarray(0, n), { stream: true });
        this.#wake?.();
      }
    } catch {
      // reset, or closed by close(): either way the connection is over
    }
    this.#text += this.#decoder.decode();
    this.#closed = true;
    this.#wake?.();
    this.#resolveClosed(this.#text.replace(/^\n+|\n+$/g, ""));
  }

  /** Waits for the next prompt (or the end of the connection); the text before it. */
  async #reply(): Promise<string> {
    for (;;) {
      const text = this.#text;
      const end = text.startsWith(MONITOR_PROMPT) ? 0 : text.indexOf(NEWLINE_PROMPT);
      if (end !== -1) {
        this.#text = text.slice(end + (end === 0 ? 0 : 1) + MONITOR_PROMPT.length);
        return text.slice(0, end);
      }
      if (this.#closed) {
        this.#text = "";
        return text.replace(/\n$/, "");
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}

/**
 * Connects to a kernel's monitor and reads its greeting.
 *
 * @param options `host` (default `127.0.0.1`) and `port` (default 48802).
 * @returns A connected {@linkcode MonitorClient}.
 * @throws {Deno.errors.ConnectionRefused} If no monitor listens there.
 *
 * @example Usage
 * ```ts
 * import { run, sleep, spawn } from "@curio/curio";
 * import { _getKernel } from "@curio/curio/traps";
 * import { connectMonitor } from "@curio/curio/monitor";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const t = await spawn(() => sleep(60), { name: "sleeper" });
 *   const [host, port] = (await _getKernel()).monitorAddress!;
 *   await using monitor = await connectMonitor({ host, port });
 *   assert.match(await monitor.command("ps"), /TIME_SLEEP .* sleeper/);
 *   assert.equal(await monitor.command(`c ${t.id}`), `task ${t.id} (sleeper) cancelled`);
 * }, { withMonitor: { port: 0, onListen: () => {} } });
 * ```
 */
export async function connectMonitor(options: MonitorClientOptions = {}): Promise<MonitorClient> {
  const { host = MONITOR_HOST, port = MONITOR_PORT } = options;
  const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
  const client = new MonitorClient(conn);
  try {
    await client._start();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

const USAGE = `usage: monitor/client.ts [--host HOST] [--port PORT] [--web]

Connects to the monitor of a program run with withMonitor (default 127.0.0.1:48802).
Commands: ps, where ID, parents ID, cancel ID, signal NAME, web, help, quit
(short forms p, w, pa, c, s, h, q). --web prints the address of the live web page.
Reads commands from stdin when it is not a terminal.`;

interface Target {
  host: string;
  port: number;
  web: boolean;
}

/** Parses `--host H --port P --web` (also `--host=H`); throws a message on bad input. */
function parseArgs(args: string[]): Target | "help" {
  const target: Target = { host: MONITOR_HOST, port: MONITOR_PORT, web: false };
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "--web" && value === undefined) {
      target.web = true;
      continue;
    }
    if (arg !== "--host" && arg !== "--port") throw new Error(`unknown argument ${arg}`);
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
    }
    if (arg === "--host") {
      if (value === "") throw new Error("--host needs a value");
      target.host = value;
    } else {
      target.port = Number(value);
      if (!/^\d+$/.test(value) || target.port < 1 || target.port > 65535) {
        throw new Error(`--port must be a number from 1 to 65535, received ${value}`);
      }
    }
  }
  return target;
}

/** Lines from stdin, read asynchronously so the monitor's exit is noticed meanwhile. */
async function* stdinLines(): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl;
    while ((nl = rest.indexOf("\n")) !== -1) {
      yield rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
    }
  }
  if (rest !== "") yield rest;
}

async function main(args: string[]): Promise<number> {
  let target;
  try {
    target = parseArgs(args);
  } catch (error) {
    console.error(`monitor: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (target === "help") {
    console.log(USAGE);
    return 0;
  }
  const where = `${target.host}:${target.port}`;
  let client: MonitorClient;
  try {
    client = await connectMonitor(target);
  } catch (error) {
    console.error(
      `monitor: Cannot connect to ${where}: ${
        (error as Error).message
      }; is a program running with withMonitor?`,
    );
    return 1;
  }
  const interactive = Deno.stdin.isTerminal();
  const closed = client.whenClosed().then((farewell) => ({ farewell }));
  const lines = stdinLines();
  let status = 0;
  try {
    if (interactive) console.log(client.greeting);
    if (target.web) console.log(await client.command("web"));
    for (;;) {
      if (client.closed) break;
      if (interactive) await Deno.stdout.write(encoder.encode(MONITOR_PROMPT));
      const next = await Promise.race([lines.next(), closed]);
      if ("farewell" in next) {
        if (next.farewell !== "") console.log((interactive ? "\n" : "") + next.farewell);
        console.log(`monitor: the program at ${where} closed the monitor (it has exited)`);
        break;
      }
      if (next.done) break;
      const reply = await client.command(next.value);
      if (reply !== "") console.log(reply);
    }
  } catch (error) {
    console.error(`monitor: Connection to ${where} lost: ${(error as Error).message}`);
    status = 1;
  } finally {
    await client.close();
  }
  return status;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
