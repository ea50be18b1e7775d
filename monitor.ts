/**
 * The monitor client: connects to a running program's monitor console (see
 * `withMonitor` in `run()`), lets you type `ps`, `where ID`, `cancel ID`,
 * `signal NAME`, `help`, `quit`, and prints the replies.
 *
 * ```sh
 * deno task monitor                                   # 127.0.0.1:48802
 * deno run --allow-net monitor.ts --host 127.0.0.1 --port 48802
 * echo ps | deno run --allow-net jsr:@curio/curio/monitor --port 5000
 * ```
 *
 * On a terminal it prompts for commands; otherwise it reads one command per
 * line from stdin, prints each reply, and exits at end of input, so it can be
 * scripted. Exit status: 0, 1 if it cannot connect, 2 for bad arguments.
 *
 * {@linkcode connectMonitor} is the same client as a library, for tests and
 * tools.
 *
 * @module
 */

import { MONITOR_HOST, MONITOR_PORT, MONITOR_PROMPT } from "./kernel/monitor.ts";

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
 * (tests, examples).
 */
export class MonitorClient {
  #conn: Deno.TcpConn;
  #decoder = new TextDecoder();
  #text = "";
  #closed = false;
  #greeting = "";

  /**
   * Wraps a connected socket; use {@linkcode connectMonitor}.
   *
   * @param conn A connection to a monitor.
   */
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** The line the monitor greeted this client with. */
  get greeting(): string {
    return this.#greeting;
  }

  /** Whether the monitor has closed the connection (after `quit`, or cut off). */
  get closed(): boolean {
    return this.#closed;
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
   * }, { withMonitor: { port: 0 } });
   * ```
   */
  async command(line: string): Promise<string> {
    if (typeof line !== "string" || /[\r\n]/.test(line)) {
      throw new TypeError(
        "Cannot send monitor command: expected one line of text without newlines",
      );
    }
    if (this.#closed) {
      throw new Deno.errors.BadResource(
        "Cannot send monitor command: the monitor closed the connection",
      );
    }
    await writeAll(this.#conn, encoder.encode(line + "\n"));
    return await this.#reply();
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
   * }, { withMonitor: { port: 0 } });
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
  }

  /** Same as {@linkcode MonitorClient.close}: `await using monitor = ...`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Reads up to the next prompt (or the end of the connection). */
  async #reply(): Promise<string> {
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const text = this.#text;
      if (text === MONITOR_PROMPT || text.endsWith(NEWLINE_PROMPT)) {
        this.#text = "";
        return text.slice(0, -MONITOR_PROMPT.length).replace(/\n$/, "");
      }
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (error) {
        if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
        n = null;
      }
      if (n === null) {
        this.#closed = true;
        this.#text = "";
        return (text + this.#decoder.decode()).replace(/\n$/, "");
      }
      this.#text = text + this.#decoder.decode(buf.subarray(0, n), { stream: true });
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
 *   assert.equal(await monitor.command(`cancel ${t.id}`), `task ${t.id} (sleeper) cancelled`);
 * }, { withMonitor: { port: 0 } });
 * ```
 */
export async function connectMonitor(options: MonitorClientOptions = {}): Promise<MonitorClient> {
  const { host = MONITOR_HOST, port = MONITOR_PORT } = options;
  const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
  const client = new MonitorClient(conn);
  try {
    await client._start();
  } catch (error) {
    conn.close();
    throw error;
  }
  return client;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

const USAGE = `usage: monitor.ts [--host HOST] [--port PORT]

Connects to the monitor of a program run with withMonitor (default 127.0.0.1:48802).
Commands: ps, where ID, cancel ID, signal NAME, help, quit.
Reads commands from stdin when it is not a terminal.`;

/** Parses `--host H --port P` (also `--host=H`); throws a message on bad input. */
function parseArgs(args: string[]): { host: string; port: number } | "help" {
  let host = MONITOR_HOST;
  let port = MONITOR_PORT;
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === "-h" || arg === "--help") return "help";
    if (arg !== "--host" && arg !== "--port") throw new Error(`unknown argument ${arg}`);
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
    }
    if (arg === "--host") {
      if (value === "") throw new Error("--host needs a value");
      host = value;
    } else {
      port = Number(value);
      if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
        throw new Error(`--port must be a number from 1 to 65535, received ${value}`);
      }
    }
  }
  return { host, port };
}

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
  let client: MonitorClient;
  try {
    client = await connectMonitor(target);
  } catch (error) {
    console.error(
      `monitor: Cannot connect to ${target.host}:${target.port}: ${
        (error as Error).message
      }; is a program running with withMonitor?`,
    );
    return 1;
  }
  const interactive = Deno.stdin.isTerminal();
  let status = 0;
  try {
    if (interactive) {
      console.log(client.greeting);
      for (;;) {
        const line = prompt(MONITOR_PROMPT.trimEnd());
        if (line === null) break;
        if (line.includes("\n")) continue;
        const reply = await client.command(line);
        if (reply !== "") console.log(reply);
        if (client.closed) break;
      }
    } else {
      for await (const line of stdinLines()) {
        const reply = await client.command(line);
        if (reply !== "") console.log(reply);
        if (client.closed) break;
      }
    }
  } catch (error) {
    console.error(
      `monitor: Connection to ${target.host}:${target.port} lost: ${(error as Error).message}`,
    );
    status = 1;
  } finally {
    await client.close();
  }
  return status;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
