// The console: line commands over TCP, served on the monitor's worker thread.
//
// Each connection is a session that reads one command line at a time and
// writes its reply followed by the prompt. What a client may cost is
// bounded three ways: commands per second (beyond a burst it is cut off),
// bytes sent and worker time spent per second (beyond a burst its next
// command waits until the budget refills), so a flood slows down only the
// flooder. Idle sessions time out, and the longest-idle one makes room when
// a newcomer finds the console full.

import { clip, type Feed, formatDuration, printable } from "./_feed.ts";
import { MONITOR_MAX_LINE, MONITOR_PROMPT, type MonitorLimits } from "./_protocol.ts";

/** One command of the console. */
interface Command {
  name: string;
  /** curio's short form. */
  short: string;
  /** Other full names it answers to. */
  aliases: string[];
  usage: string;
  help: string;
}

/** The commands, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: "ps",
    short: "p",
    aliases: [],
    usage: "ps",
    help: "list the tasks: id, parent, state, cycles, time in that state, name",
  },
  {
    name: "where",
    short: "w",
    aliases: [],
    usage: "where ID",
    help: "show where task ID is blocked (the stack of its await)",
  },
  {
    name: "parents",
    short: "pa",
    aliases: [],
    usage: "parents ID",
    help: "show task ID and the chain of tasks that spawned it",
  },
  { name: "cancel", short: "c", aliases: [], usage: "cancel ID", help: "cancel task ID" },
  {
    name: "signal",
    short: "s",
    aliases: [],
    usage: "signal NAME",
    help: "send signal NAME (e.g. SIGTERM, USR1) to this process",
  },
  {
    name: "web",
    short: "we",
    aliases: [],
    usage: "web",
    help: "start the live web page (if it is off) and show its address",
  },
  { name: "help", short: "h", aliases: ["?"], usage: "help", help: "this text" },
  { name: "quit", short: "q", aliases: ["exit"], usage: "quit", help: "close this connection" },
];

export const HELP = [
  "commands (short form in brackets; any unique prefix works too):",
  ...COMMANDS.map((c) => `  ${(c.usage + ` [${c.short}]`).padEnd(22)}${c.help}`),
].join("\n");

/**
 * Finds the command `word` names: a full name or alias, curio's short form,
 * or else a unique prefix of one name. Undefined if none; a string listing
 * the candidates if the prefix is ambiguous.
 */
export function resolveCommand(word: string): Command | string | undefined {
  const w = word.toLowerCase();
  if (w === "") return undefined;
  const exact = COMMANDS.find((c) => c.name === w || c.short === w || c.aliases.includes(w));
  if (exact !== undefined) return exact;
  const matches = COMMANDS.filter((c) =>
    c.name.startsWith(w) || c.aliases.some((a) => a.startsWith(w))
  );
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) return matches.map((c) => c.name).join(", ");
  return undefined;
}

/** A bad command: its message becomes the one-line `error: ...` reply. */
export class CommandError extends Error {}

/** A token bucket: `burst` at most, refilled at `rate` per second. */
export class Budget {
  #tokens: number;
  #last = performance.now();
  constructor(readonly burst: number, readonly rate: number) {
    this.#tokens = burst;
  }
  #refill(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) / 1000 * this.rate);
    this.#last = now;
    return this.#tokens;
  }
  /** Takes `n`; false (taking nothing) if fewer than `n` are left. */
  take(n = 1): boolean {
    if (this.#refill() < n) return false;
    this.#tokens -= n;
    return true;
  }
  /** Spends `n`, going into debt if need be. */
  spend(n: number): void {
    this.#refill();
    this.#tokens -= n;
  }
  /** Milliseconds until the budget is out of debt (0 if it is not in debt). */
  debtMs(): number {
    const tokens = this.#refill();
    return tokens >= 0 ? 0 : Math.ceil(-tokens / this.rate * 1000);
  }
}

/** Renders the `ps` table from the worker's copy of the task table. */
export function formatPs(feed: Feed): string {
  const rows = [["ID", "PARENT", "STATE", "CYCLES", "TIME", "NAME"]];
  const now = Date.now();
  for (const row of feed.tasks.values()) {
    const time = feed.timeInState(row, now);
    rows.push([
      String(row.id),
      row.parent === undefined ? "-" : String(row.parent),
      row.state,
      String(row.cycles),
      time === undefined ? "-" : formatDuration(time),
      printable(row.name) + (row.daemon ? " (daemon)" : ""),
    ]);
  }
  const widths = [6, 6, 14, 8, 8];
  for (const row of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  }
  const right = new Set([0, 1, 3]);
  const table = rows.map((row) =>
    row.map((cell, i) =>
      i >= widths.length ? cell : right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)
    ).join("  ")
  ).join("\n");
  const stalled = feed.stallReport(now);
  if (stalled.length > 0) stalled.push("! the table below is as the kernel last reported it");
  return [...stalled, table].join("\n");
}

/** What a session needs from the server. */
export interface ConsoleHost {
  readonly feed: Feed;
  readonly limits: MonitorLimits;
  /** Starts the web page if needed; its address with the token. */
  web(): Promise<string>;
}

/** One client connection: reads command lines, writes replies. */
export class Session {
  /** Wall-clock time of the last command (or of the connection). */
  lastActivity: number = Date.now();
  #encoder = new TextEncoder();
  #decoder = new TextDecoder();
  #commands: Budget;
  #bytes: Budget;
  #time: Budget;
  #closed = false;

  constructor(readonly host: ConsoleHost, readonly conn: Deno.TcpConn) {
    const l = host.limits;
    this.#commands = new Budget(l.commandBurst, l.commandRate);
    this.#bytes = new Budget(l.byteBurst, l.byteRate);
    this.#time = new Budget(l.timeBurst, l.timeRate);
  }

  /** Says `text` (best effort) and closes the connection. */
  async end(text: string): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send(text);
    } catch { /* the client is gone */ }
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  get closed(): boolean {
    return this.#closed;
  }

  async serve(): Promise<void> {
    try {
      await this.host.feed.refresh();
      await this.#send(
        `curio monitor: ${this.host.feed.tasks.size} tasks; type help for commands\n` +
          MONITOR_PROMPT,
      );
      await this.#loop();
    } catch (error) {
      if (!this.#closed && !isDisconnect(error)) throw error;
    } finally {
      this.close();
    }
  }

  async #loop(): Promise<void> {
    const buf = new Uint8Array(MONITOR_MAX_LINE + 1);
    const line = new Uint8Array(MONITOR_MAX_LINE + 1);
    let used = 0;
    for (;;) {
      const n = await this.conn.read(buf);
      if (n === null || this.#closed) return; // the client went away, or was closed
      let start = 0;
      for (let i = 0; i < n; i++) {
        if (buf[i] !== 10) continue;
        const piece = i - start;
        if (used + piece > MONITOR_MAX_LINE) return await this.#tooLong();
        line.set(buf.subarray(start, i), used);
        const text = this.#decoder.decode(line.subarray(0, used + piece));
        used = 0;
        start = i + 1;
        this.lastActivity = Date.now();
        if (!this.#commands.take()) {
          return await this.end("error: too many commands too fast; closing the connection\n");
        }
        // Over its byte or time budget, the client waits; the program does not.
        const wait = Math.max(this.#bytes.debtMs(), this.#time.debtMs());
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const reply = await this.#execute(text.replace(/\r$/, "").trim());
        if (reply === undefined) return await this.end("bye\n");
        await this.#send(reply === "" ? MONITOR_PROMPT : reply + "\n" + MONITOR_PROMPT);
        this.lastActivity = Date.now();
        if (this.#closed) return;
      }
      const rest = n - start;
      if (used + rest > MONITOR_MAX_LINE) return await this.#tooLong();
      line.set(buf.subarray(start, n), used);
      used += rest;
    }
  }

  async #tooLong(): Promise<void> {
    await this.end(`error: line longer than ${MONITOR_MAX_LINE} bytes; closing the connection\n`);
  }

  /** Runs one command line; the reply text, or undefined for `quit`. */
  async #execute(line: string): Promise<string | undefined> {
    if (line === "") return "";
    const [word = "", ...args] = line.split(/\s+/);
    const command = resolveCommand(word);
    if (command === undefined) {
      return `error: unknown command ${JSON.stringify(clip(word))}; type help`;
    }
    if (typeof command === "string") {
      return `error: ${JSON.stringify(clip(word))} could be ${command}; type more of it`;
    }
    try {
      switch (command.name) {
        case "ps":
          await this.host.feed.refresh();
          return this.#timed(() => formatPs(this.host.feed));
        case "where":
          return await this.#where(this.#id(command, args));
        case "parents":
          return await this.#parents(this.#id(command, args));
        case "cancel":
          return await this.#act(
            { t: "cancel", id: this.#id(command, args) },
            `cancel task ${args[0]}`,
          );
        case "signal": {
          const name = signalName(args);
          return await this.#act({ t: "signal", name }, `send ${name}`);
        }
        case "web":
          return `web page: ${await this.host.web()}`;
        case "help":
          return HELP;
        default:
          return undefined; // quit
      }
    } catch (error) {
      if (error instanceof CommandError) return `error: ${error.message}`;
      throw error;
    }
  }

  /** Runs `format` and charges the worker time it took to this client. */
  #timed(format: () => string): string {
    const start = performance.now();
    try {
      return format();
    } finally {
      this.#time.spend(performance.now() - start);
    }
  }

  #id(command: Command, args: string[]): number {
    if (args.length !== 1 || !/^\d+$/.test(args[0]!)) {
      throw new CommandError(`usage: ${command.usage} (a task id from ps)`);
    }
    const id = Number(args[0]);
    if (!Number.isSafeInteger(id)) throw new CommandError(`no task with id ${clip(args[0]!)}`);
    return id;
  }

  async #where(id: number): Promise<string> {
    const feed = this.host.feed;
    const answer = await feed.ask({ t: "where", id });
    if (answer.ok) {
      if (answer.error) throw new CommandError(answer.text);
      return answer.text;
    }
    const row = feed.tasks.get(id);
    if (row === undefined) throw new CommandError(`no task with id ${id}`);
    const stack = feed.stacks.get(id);
    return [
      ...feed.stallReport(),
      `task ${id} (${printable(row.name)}) ${row.state} at the last snapshot` +
      (stack === undefined ? "; no stack recorded" : ", last blocked at:"),
      ...(stack === undefined ? [] : [stack]),
    ].join("\n");
  }

  async #parents(id: number): Promise<string> {
    const feed = this.host.feed;
    await feed.refresh();
    let row = feed.tasks.get(id);
    if (row === undefined) throw new CommandError(`no task with id ${id}`);
    const lines = [];
    for (let depth = 0; depth < 1000; depth++) {
      lines.push(
        `${"  ".repeat(depth)}${depth === 0 ? "" : "spawned by "}task ${row.id} ` +
          `(${printable(row.name)}) ${row.state}`,
      );
      if (row.parent === undefined) break;
      const parent = feed.tasks.get(row.parent);
      if (parent === undefined) {
        lines.push(`${"  ".repeat(depth + 1)}spawned by task ${row.parent} (terminated)`);
        break;
      }
      row = parent;
    }
    return [...feed.stallReport(), ...lines].join("\n");
  }

  /** Forwards an action to the main thread; says plainly when it cannot act yet. */
  async #act(
    body: { t: "cancel"; id: number } | { t: "signal"; name: string },
    what: string,
  ): Promise<string> {
    const answer = await this.host.feed.ask(body);
    if (answer.ok) {
      if (answer.error) throw new CommandError(answer.text);
      return answer.text;
    }
    const seconds = (answer.stalledFor / 1000).toFixed(1);
    return [
      ...this.host.feed.stallReport(),
      `not yet: the kernel has not responded for ${seconds}s, so it cannot ${what} now; ` +
      "the request is queued and runs when the kernel responds again",
    ].join("\n");
  }

  async #send(text: string): Promise<void> {
    const bytes = this.#encoder.encode(text);
    this.#bytes.spend(bytes.length);
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }
}

export function signalName(args: string[]): string {
  if (args.length !== 1 || !/^[A-Za-z0-9]{1,16}$/.test(args[0]!)) {
    throw new CommandError("usage: signal NAME (e.g. signal SIGTERM)");
  }
  const name = args[0]!.toUpperCase();
  return name.startsWith("SIG") ? name : "SIG" + name;
}

/** Errors that only mean the client went away. */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted;
}
