/**
 * The subprocess wrapper module: Python's `subprocess`, curio-style, on
 * `Deno.Command`. A child's pipes are {@linkcode FileStream}s, so a task can
 * stream its output line by line, feed it input, and time it out without
 * blocking the kernel.
 *
 * ```ts
 * import { run } from "@curio/curio";
 * import { PIPE, Popen } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await using p = new Popen(["sh", "-c", "echo one; sleep 0.01; echo two"], { stdout: PIPE });
 *   const lines: string[] = [];
 *   for await (const line of p.stdout!) lines.push(new TextDecoder().decode(line));
 *   assert.deepEqual(lines, ["one\n", "two\n"]);
 *   assert.equal(await p.wait(), 0);
 * });
 * ```
 *
 * Semantics:
 *
 * - Arguments as in Python: a list is the program and its arguments; a
 *   string without `shell` is a program name; with `shell: true` the command
 *   runs as `/bin/sh -c <string>`. `env` replaces the environment, as in
 *   Python (spread `Deno.env.toObject()` into it to extend it instead).
 * - **Nothing is left running.** A `wait`, `communicate` or `run` that is
 *   cancelled or times out ends the child before it returns: SIGTERM, then
 *   SIGKILL if the child is still there after a grace period of
 *   {@linkcode KILL_GRACE} seconds (kernel clock: a `MockClock` skips it).
 *   Only the child itself is signalled: processes it started (a shell's
 *   commands, unless it `exec`s them) are not, as in Python; Deno cannot
 *   start a child in its own process group.
 * - **No zombies.** Every child is reaped as soon as it exits (the exit
 *   status is collected when the Popen is made), even if nobody waits.
 * - A missing program throws `Deno.errors.NotFound` naming it, from the
 *   constructor; without `--allow-run`, Deno's `NotCapable` error naming the
 *   flag.
 * - `stderr: STDOUT`: with `shell: true` the shell itself does `2>&1` (exact
 *   order). With an argument list and `stdout: PIPE`, Deno cannot hand the
 *   child one pipe for both, so both pipes are read and merged into one
 *   FileStream in arrival order: each write stays whole, but writes to the
 *   two streams within the same instant may be swapped. With an argument
 *   list and an inherited stdout, both are piped and copied, merged the same
 *   way, to this process's stdout.
 * - Deno cannot pass files or descriptors to a child: redirect to `PIPE`,
 *   `DEVNULL` or inherit (`null`), and copy in a task if needed.
 *
 * Requires `--allow-run` (for the programs run, and `/bin/sh` for
 * `shell: true`).
 *
 * @module
 */

import { _futureWait } from "../kernel/traps.ts";
import { CancelledError, TaskTimeout } from "../kernel/errors.ts";
import { currentTask } from "../kernel/current_task.ts";
import { spawn } from "../kernel/spawn.ts";
import { sleep } from "../kernel/sleep.ts";
import { timeoutAfter } from "../kernel/timeouts.ts";
import type { Task } from "../kernel/task.ts";
import { FileStream } from "./file_stream.ts";
import { mergeStreams } from "./_merge_streams.ts";

export type { FileStream } from "./file_stream.ts";

/** Redirect to a new pipe, available as `Popen.stdin`/`stdout`/`stderr`. */
export const PIPE: -1 = -1;
/** For `stderr`: send the child's standard error where its standard output goes. */
export const STDOUT: -2 = -2;
/** Redirect to (or from) the null device. */
export const DEVNULL: -3 = -3;

/**
 * Where a child's standard stream goes: {@linkcode PIPE}, {@linkcode DEVNULL},
 * {@linkcode STDOUT} (stderr only), or inherited from this process (`null`,
 * `undefined`, `"inherit"`). Deno's own names `"piped"` and `"null"` work too.
 */
export type Redirect =
  | typeof PIPE
  | typeof STDOUT
  | typeof DEVNULL
  | "piped"
  | "inherit"
  | "null"
  | null
  | undefined;

/** A command: an argument list (program first), or a string (see `shell`). */
export type Args = readonly string[] | string;

/** Options for {@linkcode Popen}. */
export interface PopenOptions {
  /** The child's standard input (default: inherited). */
  stdin?: Redirect;
  /** The child's standard output (default: inherited). */
  stdout?: Redirect;
  /** The child's standard error (default: inherited); `STDOUT` merges it into stdout. */
  stderr?: Redirect;
  /** The working directory of the child. */
  cwd?: string | URL;
  /** The child's whole environment (replaces this process's, as in Python). */
  env?: Record<string, string>;
  /** Run the command through `/bin/sh -c` (default `false`). */
  shell?: boolean;
}

/** Options for {@linkcode run}. */
export interface RunOptions extends PopenOptions {
  /** Bytes to feed to the child's standard input (implies `stdin: PIPE`). */
  input?: Uint8Array;
  /** Seconds before the child is killed and `TimeoutExpired` thrown. */
  timeout?: number;
  /** Throw `CalledProcessError` if the exit status is not 0 (default `false`). */
  check?: boolean;
}

/** Options for {@linkcode checkOutput}: those of `run` but `stdout` and `check`. */
export type CheckOutputOptions = Omit<RunOptions, "stdout" | "check">;

/** Seconds a cancelled or timed-out child gets between SIGTERM and SIGKILL. */
export const KILL_GRACE = 1;

const EMPTY = new Uint8Array(0);

function describe(args: Args): string {
  return typeof args === "string" ? args : args.join(" ");
}

/** The command as Python's messages show it: `Command 'sh -c "exit 3"'`. */
function command(args: Args): string {
  const shown = typeof args === "string"
    ? args
    : args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return `Command '${shown}'`;
}

const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  6: "SIGABRT",
  9: "SIGKILL",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/**
 * Raised by {@linkcode run} with `check: true` and by {@linkcode checkOutput}
 * when the child exits with a non-zero status (or dies by a signal).
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { CalledProcessError, checkOutput } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const err = await checkOutput("echo oops; exit 3", { shell: true }).catch((e) => e);
 *   assert(err instanceof CalledProcessError);
 *   assert.equal(err.returncode, 3);
 *   assert.equal(new TextDecoder().decode(err.output!), "oops\n");
 * });
 * ```
 */
export class CalledProcessError extends Error {
  /** The exit status; negative: killed by that signal number. */
  readonly returncode: number;
  /** The command, as given. */
  readonly cmd: Args;
  /** The captured standard output, or `null` if it was not captured. */
  readonly output: Uint8Array | null;
  /** The captured standard error, or `null` if it was not captured. */
  readonly stderr: Uint8Array | null;

  /**
   * Creates the error.
   *
   * @param returncode The exit status.
   * @param cmd The command.
   * @param output Captured standard output.
   * @param stderr Captured standard error.
   */
  constructor(
    returncode: number,
    cmd: Args,
    output: Uint8Array | null = null,
    stderr: Uint8Array | null = null,
  ) {
    // Python's wording: the command did run; it is its status that failed.
    const signal = SIGNAL_NAMES[-returncode];
    const how = returncode < 0
      ? `died with signal ${-returncode}${signal === undefined ? "" : ` (${signal})`}`
      : `returned non-zero exit status ${returncode}`;
    super(`${command(cmd)} ${how}`);
    this.name = "CalledProcessError";
    this.returncode = returncode;
    this.cmd = cmd;
    this.output = output;
    this.stderr = stderr;
  }

  /** Same as {@linkcode CalledProcessError.prototype.output} (Python's alias). */
  get stdout(): Uint8Array | null {
    return this.output;
  }
}

/**
 * Raised when a `wait`, `communicate`, `run` or `checkOutput` timeout
 * expires. The child has been killed (and reaped) by then.
 *
 * @example Usage
 * ```ts
 * import { MockClock, run } from "@curio/curio";
 * import { run as runCommand, TimeoutExpired } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const err = await runCommand(["sleep", "10"], { timeout: 0.1 }).catch((e) => e);
 *   assert(err instanceof TimeoutExpired);
 *   assert.equal(err.timeout, 0.1);
 * }, { clock: new MockClock({ autojump: 0 }) });
 * ```
 */
export class TimeoutExpired extends Error {
  /** The command, as given. */
  readonly cmd: Args;
  /** The timeout, in seconds. */
  readonly timeout: number;
  /** Standard output captured before the timeout, if any. */
  readonly output: Uint8Array | null;
  /** Standard error captured before the timeout, if any. */
  readonly stderr: Uint8Array | null;

  /**
   * Creates the error.
   *
   * @param cmd The command.
   * @param timeout The timeout, in seconds.
   * @param output Output captured so far.
   * @param stderr Standard error captured so far.
   */
  constructor(
    cmd: Args,
    timeout: number,
    output: Uint8Array | null = null,
    stderr: Uint8Array | null = null,
  ) {
    super(`${command(cmd)} timed out after ${timeout} seconds`);
    this.name = "TimeoutExpired";
    this.cmd = cmd;
    this.timeout = timeout;
    this.output = output;
    this.stderr = stderr;
  }

  /** Same as {@linkcode TimeoutExpired.prototype.output} (Python's alias). */
  get stdout(): Uint8Array | null {
    return this.output;
  }
}

/**
 * What {@linkcode run} returns: the command, its exit status and what it
 * printed (when captured with `PIPE`).
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { PIPE, run as runCommand } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const done = await runCommand(["sh", "-c", "echo hi"], { stdout: PIPE });
 *   assert.equal(done.returncode, 0);
 *   assert.equal(new TextDecoder().decode(done.stdout!), "hi\n");
 *   done.checkReturncode(); // does not throw
 * });
 * ```
 */
export class CompletedProcess {
  /** The command, as given. */
  readonly args: Args;
  /** The exit status; negative: killed by that signal number. */
  readonly returncode: number;
  /** The captured standard output, or `null` if it was not captured. */
  readonly stdout: Uint8Array | null;
  /** The captured standard error, or `null` if it was not captured. */
  readonly stderr: Uint8Array | null;

  /**
   * Records a finished process.
   *
   * @param args The command.
   * @param returncode The exit status.
   * @param stdout Captured standard output.
   * @param stderr Captured standard error.
   */
  constructor(
    args: Args,
    returncode: number,
    stdout: Uint8Array | null = null,
    stderr: Uint8Array | null = null,
  ) {
    this.args = args;
    this.returncode = returncode;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /**
   * Throws if the exit status is not 0.
   *
   * @throws {CalledProcessError} If `returncode` is not 0.
   *
   * @example Usage
   * ```ts
   * import { CalledProcessError, CompletedProcess } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new CompletedProcess(["false"], 1).checkReturncode(), CalledProcessError);
   * ```
   */
  checkReturncode(): void {
    if (this.returncode !== 0) {
      throw new CalledProcessError(this.returncode, this.args, this.stdout, this.stderr);
    }
  }
}

type DenoStdio = "piped" | "inherit" | "null";

function stdioOf(value: unknown, which: "stdin" | "stdout" | "stderr"): DenoStdio | "merge" {
  if (value === undefined || value === null || value === "inherit") return "inherit";
  if (value === PIPE || value === "piped") return "piped";
  if (value === DEVNULL || value === "null") return "null";
  if (value === STDOUT && which === "stderr") return "merge";
  throw new TypeError(
    `Cannot create Popen: ${which} must be PIPE, DEVNULL${
      which === "stderr" ? ", STDOUT" : ""
    } or null (inherit), received ${
      typeof value === "object" ? "an object" : String(value)
    }; Deno cannot hand a file or descriptor to a child, so use PIPE and copy`,
  );
}

function checkArgs(args: unknown): asserts args is Args {
  if (typeof args === "string") {
    if (args.length === 0) throw new TypeError("Cannot create Popen: the command is empty");
    return;
  }
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === "string")) {
    throw new TypeError(
      'Cannot create Popen: expected args as a non-empty array of strings (["ls", "-l"]) or a string',
    );
  }
}

function returncodeOf(status: Deno.CommandStatus): number {
  if (status.signal === null) return status.code;
  // Deno reports death by signal N as code 128 + N; Python's returncode is -N.
  return status.code > 128 ? -(status.code - 128) : -1;
}

/** A sink writing to this process's stdout (not `Deno.stdout.writable`: that locks it). */
function stdoutSink(): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      for (let off = 0; off < chunk.length;) off += await Deno.stdout.write(chunk.subarray(off));
    },
  });
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset;
}

/**
 * A child process: curio's `Popen`, on `Deno.Command(...).spawn()`.
 *
 * `stdin`, `stdout` and `stderr` are {@linkcode FileStream}s when redirected
 * to {@linkcode PIPE} (`null` otherwise), so `for await (const line of
 * p.stdout!)` streams lines inside a task. `await using p = new Popen(...)`
 * closes the pipes and waits for the child at the end of the block.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { PIPE, Popen } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const p = new Popen(["cat"], { stdin: PIPE, stdout: PIPE });
 *   const [out] = await p.communicate(new TextEncoder().encode("hello"));
 *   assert.equal(new TextDecoder().decode(out!), "hello");
 *   assert.equal(p.returncode, 0);
 * });
 * ```
 */
export class Popen {
  /** The command, as given. */
  readonly args: Args;
  /** The child's process id. */
  readonly pid: number;
  /** The child's standard input, if `stdin: PIPE`. */
  readonly stdin: FileStream | null;
  /** The child's standard output, if `stdout: PIPE` (with stderr in it for `stderr: STDOUT`). */
  readonly stdout: FileStream | null;
  /** The child's standard error, if `stderr: PIPE`. */
  readonly stderr: FileStream | null;
  #child: Deno.ChildProcess;
  #returncode: number | null = null;
  #exited: Promise<number>;
  /** For `stderr: STDOUT` with an inherited stdout: the copy to our stdout. */
  #pump: Promise<void> | undefined = undefined;
  /** The task that SIGKILLs the child if SIGTERM was not enough (see #beginKill). */
  #killer: Promise<Task<void> | undefined> | undefined = undefined;

  /**
   * Starts the child. Does not block (may be called outside a task).
   *
   * @param args The program and its arguments, or a string (a program name;
   * with `shell: true` a shell command line).
   * @param options `stdin`, `stdout`, `stderr`, `cwd`, `env`, `shell`.
   * @throws {TypeError} If `args` or a redirection is not valid.
   * @throws {Deno.errors.NotFound} If the program (or `cwd`) does not exist;
   * the message names it.
   * @throws {Deno.errors.NotCapable} Without `--allow-run`.
   */
  constructor(args: Args, options: PopenOptions = {}) {
    checkArgs(args);
    const stdin = stdioOf(options.stdin, "stdin") as DenoStdio;
    const stdout = stdioOf(options.stdout, "stdout") as DenoStdio;
    const stderrMode = stdioOf(options.stderr, "stderr");
    const list = typeof args === "string" ? [args] : [...args];
    let argv: string[];
    let stderr: DenoStdio;
    let merge = false;
    let pump = false;
    if (options.shell) {
      const [command, ...rest] = list;
      const script = stderrMode === "merge" ? `exec 2>&1\n${command}` : command!;
      argv = ["/bin/sh", "-c", script, ...rest];
      stderr = stderrMode === "merge" ? "inherit" : stderrMode;
    } else if (stderrMode !== "merge") {
      argv = list;
      stderr = stderrMode;
    } else if (stdout === "piped") {
      argv = list;
      stderr = "piped";
      merge = true;
    } else if (stdout === "null") {
      argv = list;
      stderr = "null";
    } else {
      // Inherited stdout: pipe both and copy them, merged, to our stdout.
      argv = list;
      stderr = "piped";
      pump = true;
    }
    const commandOptions: Deno.CommandOptions = {
      args: argv.slice(1),
      stdin,
      stdout: pump ? "piped" : stdout,
      stderr,
    };
    if (options.cwd !== undefined) commandOptions.cwd = options.cwd;
    if (options.env !== undefined) {
      commandOptions.env = options.env;
      commandOptions.clearEnv = true;
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0]!, commandOptions).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        const where = options.cwd !== undefined && /cwd/i.test(error.message)
          ? `working directory "${String(options.cwd)}" not found`
          : `command "${argv[0]}" not found`;
        throw new Deno.errors.NotFound(`Cannot run "${describe(args)}": ${where}`, {
          cause: error,
        });
      }
      throw error;
    }
    this.#child = child;
    this.args = args;
    this.pid = child.pid;
    // Collect the exit status now: the child is reaped as soon as it exits.
    this.#exited = child.status.then((status) => (this.#returncode = returncodeOf(status)));
    this.stdin = stdin === "piped" ? new FileStream(child.stdin) : null;
    this.stdout = stdout !== "piped"
      ? null
      : new FileStream(merge ? mergeStreams(child.stdout, child.stderr) : child.stdout);
    this.stderr = stderr === "piped" && !merge && !pump ? new FileStream(child.stderr) : null;
    if (pump) {
      this.#pump = mergeStreams(child.stdout, child.stderr).pipeTo(stdoutSink()).catch(() => {});
    }
  }

  /**
   * The exit status once the child has exited, else `null`. Negative: the
   * child was killed by that signal number (`-15` for SIGTERM).
   */
  get returncode(): number | null {
    return this.#returncode;
  }

  /**
   * The exit status if the child has exited, else `null`; never blocks.
   *
   * @returns {@linkcode Popen.prototype.returncode}.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen(["sleep", "10"]);
   *   assert.equal(p.poll(), null);
   *   p.kill();
   *   await p.wait();
   *   assert.equal(p.poll(), -9);
   * });
   * ```
   */
  poll(): number | null {
    return this.#returncode;
  }

  /**
   * Waits for the child to exit (state `"PROCESS_WAIT"`). If the wait is
   * cancelled or `timeout` expires, the child is killed first (SIGTERM, then
   * SIGKILL after {@linkcode KILL_GRACE} seconds) and reaped.
   *
   * @param timeout Seconds to wait at most.
   * @returns The exit status (negative: killed by that signal number).
   * @throws {TimeoutExpired} If `timeout` expires.
   * @throws {CancelledError} If the task is cancelled.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen("exit 7", { shell: true });
   *   assert.equal(await p.wait(), 7);
   * });
   * ```
   */
  async wait(timeout?: number): Promise<number> {
    if (this.#returncode !== null) return this.#returncode;
    return await this.#guard(timeout, () => _futureWait(this.#exited, "PROCESS_WAIT"));
  }

  /**
   * Sends `input` to the child's stdin and closes it, reads stdout and
   * stderr to their end, and waits for the child to exit; all at once, so
   * that a child that fills one pipe cannot deadlock. If cancelled or timed
   * out, the child is killed and reaped and its pipes are closed (output
   * not yet returned is dropped): nothing is left running or open.
   *
   * @param input Bytes for stdin (needs `stdin: PIPE`).
   * @param timeout Seconds to wait at most.
   * @returns `[stdout, stderr]`; `null` for a stream that is not a pipe (as
   * in Python, and as `run()` reports it).
   * @throws {TypeError} If `input` is given without `stdin: PIPE`.
   * @throws {TimeoutExpired} If `timeout` expires.
   * @throws {CancelledError} If the task is cancelled.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { PIPE, Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen(["sh", "-c", "tr a-z A-Z; echo done >&2"], {
   *     stdin: PIPE,
   *     stdout: PIPE,
   *     stderr: PIPE,
   *   });
   *   const [out, err] = await p.communicate(new TextEncoder().encode("shout"));
   *   assert.equal(new TextDecoder().decode(out!), "SHOUT");
   *   assert.equal(new TextDecoder().decode(err!), "done\n");
   *   const q = new Popen(["true"], { stdout: PIPE }); // stderr is not piped
   *   assert.deepEqual(await q.communicate(), [new Uint8Array(0), null]);
   * });
   * ```
   */
  async communicate(
    input?: Uint8Array,
    timeout?: number,
  ): Promise<[Uint8Array | null, Uint8Array | null]> {
    return await this.#communicate(input, timeout);
  }

  async #communicate(
    input: Uint8Array | undefined,
    timeout: number | undefined,
  ): Promise<[Uint8Array | null, Uint8Array | null]> {
    if (input !== undefined && !(input instanceof Uint8Array)) {
      throw new TypeError("Cannot communicate: expected input as a Uint8Array");
    }
    if (input !== undefined && input.length > 0 && this.stdin === null) {
      throw new TypeError("Cannot communicate: input needs stdin: PIPE");
    }
    const { stdin, stdout, stderr } = this;
    let closing: Promise<void> | undefined;
    const work = async (): Promise<[Uint8Array | null, Uint8Array | null]> => {
      const feed = async (): Promise<null> => {
        if (stdin === null || stdin.closed) return null;
        try {
          if (input !== undefined && input.length > 0) await stdin.write(input);
          await stdin.close();
        } catch (error) {
          // The child exited (or closed stdin) without reading it all: like Python, not an error.
          if (!isBrokenPipe(error)) throw error;
          await stdin.close().catch(() => {});
        }
        return null;
      };
      const drain = async (s: FileStream | null): Promise<Uint8Array | null> => {
        if (s === null) return null;
        if (s.closed) return EMPTY;
        const data = await s.readall();
        await s.close();
        return data;
      };
      // A cancel may reach only one branch: a cancel pending before the call
      // is raised at the first trap only, and one arriving while a branch is
      // between traps misses it. The child is ended anyway, so start now; and
      // once it is gone, close its pipes: the branches still waiting then end
      // (instead of waiting for what a process it started may hold open), and
      // nothing is left open. Output not yet read is dropped with the child.
      const track = <T>(branch: Promise<T>): Promise<T> =>
        branch.catch((error) => {
          if (error instanceof CancelledError && closing === undefined) {
            void this.#beginKill();
            closing = this.#exited.then(async () => {
              for (const s of [stdin, stdout, stderr]) {
                if (s !== null && !s.closed) await s.close().catch(() => {});
              }
            });
          }
          throw error;
        });
      const settled = await Promise.allSettled([
        track(feed()),
        track(drain(stdout)),
        track(drain(stderr)),
      ]);
      // Raise the cancellation if there is one, else the first failure.
      const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      if (failures.length > 0) {
        throw failures.find((e) => e instanceof CancelledError) ?? failures[0];
      }
      if (this.#returncode === null) await _futureWait(this.#exited, "PROCESS_WAIT");
      const out = (settled[1] as PromiseFulfilledResult<Uint8Array | null>).value;
      const err = (settled[2] as PromiseFulfilledResult<Uint8Array | null>).value;
      return [out, err];
    };
    try {
      return await this.#guard(timeout, work);
    } catch (error) {
      if (closing !== undefined) await _futureWait(closing, "PROCESS_WAIT");
      throw error;
    }
  }

  /**
   * Runs `body` (a wait on the child) under `timeout`; if it is cancelled
   * or times out, kills and reaps the child before letting the error out.
   */
  async #guard<T>(timeout: number | undefined, body: () => Promise<T>): Promise<T> {
    try {
      return timeout == null ? await body() : await timeoutAfter(timeout, body);
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      await this.#reap();
      if (timeout != null && error instanceof TaskTimeout) {
        throw new TimeoutExpired(this.args, timeout);
      }
      throw error;
    }
  }

  /** After a cancel: SIGTERM, SIGKILL after KILL_GRACE, and wait until the child is gone. */
  async #reap(): Promise<void> {
    if (this.#returncode !== null) return;
    const killer = this.#beginKill();
    try {
      if (this.#returncode === null) await _futureWait(this.#exited, "PROCESS_WAIT");
    } catch (error) {
      this.#send("SIGKILL"); // interrupted again: no grace
      throw error;
    } finally {
      const task = await killer;
      if (task !== undefined && !task.terminated) await task.cancel();
    }
  }

  /**
   * Starts ending the child (once): SIGTERM now, and a daemon task that sends
   * SIGKILL after KILL_GRACE seconds. Never blocks.
   */
  #beginKill(): Promise<Task<void> | undefined> {
    if (this.#killer === undefined) {
      if (this.#returncode !== null) return Promise.resolve(undefined);
      this.#send("SIGTERM");
      this.#killer = spawn(async () => {
        await sleep(KILL_GRACE);
        this.#send("SIGKILL");
      }, { daemon: true, name: `kill ${this.pid}` }).catch(() => undefined);
    }
    return this.#killer;
  }

  #send(sig: Deno.Signal): void {
    if (this.#returncode !== null) return;
    try {
      this.#child.kill(sig);
    } catch (error) {
      // It exited between our look and the kill: nothing to signal.
      if (error instanceof TypeError && /already terminated/.test(error.message)) return;
      throw error;
    }
  }

  /**
   * Sends `sig` to the child. Does nothing if it has already exited.
   *
   * @param sig A signal name such as `"SIGINT"`.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen(["sleep", "10"]);
   *   p.sendSignal("SIGINT");
   *   assert.equal(await p.wait(), -2);
   * });
   * ```
   */
  sendSignal(sig: Deno.Signal): void {
    this.#send(sig);
  }

  /**
   * Asks the child to stop: SIGTERM. Does nothing if it has already exited.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen(["sleep", "10"]);
   *   p.terminate();
   *   assert.equal(await p.wait(), -15);
   * });
   * ```
   */
  terminate(): void {
    this.#send("SIGTERM");
  }

  /**
   * Kills the child: SIGKILL. Does nothing if it has already exited.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const p = new Popen(["sleep", "10"]);
   *   p.kill();
   *   assert.equal(await p.wait(), -9);
   * });
   * ```
   */
  kill(): void {
    this.#send("SIGKILL");
  }

  /**
   * `await using p = new Popen(...)`: closes stdin (flushing it), stdout and
   * stderr, then waits for the child, as Python does. If the task has been
   * cancelled, the child is terminated instead (SIGTERM, then SIGKILL after
   * {@linkcode KILL_GRACE} seconds), so a cancelled task never waits on it.
   * (A block left because a timeout expired still waits, as a disposer cannot
   * see why its block ended: call `kill()` first if the child may linger.)
   *
   * @throws {CurioError} Outside a task.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { PIPE, Popen } from "@curio/curio/subprocess";
   * import assert from "node:assert/strict";
   *
   * let p: Popen | undefined;
   * await run(async () => {
   *   await using child = new Popen(["cat"], { stdin: PIPE });
   *   p = child;
   *   await child.stdin!.write(new TextEncoder().encode("bye\n"));
   * }); // stdin closed: cat ends, and is waited for
   * assert.equal(p!.returncode, 0);
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const stream of [this.stdin, this.stdout, this.stderr]) {
      if (stream !== null && !stream.closed) await stream.close().catch(() => {});
    }
    if (this.#returncode === null) {
      if ((await currentTask()).cancelled) await this.#reap();
      else await this.wait();
    }
    if (this.#pump !== undefined) await _futureWait(this.#pump, "PROCESS_WAIT");
  }
}

/**
 * Runs a command, waits for it, and returns a {@linkcode CompletedProcess}:
 * Python's `subprocess.run`. Output is captured only for streams redirected
 * to {@linkcode PIPE}. If cancelled or timed out, the child is killed and
 * reaped first.
 *
 * @param args The program and its arguments, or a string (see `shell`).
 * @param options `input`, `stdin`, `stdout`, `stderr`, `shell`, `timeout`,
 * `check`, `cwd`, `env`.
 * @returns The finished process.
 * @throws {CalledProcessError} With `check: true`, if the status is not 0.
 * @throws {TimeoutExpired} If `timeout` expires.
 * @throws {Deno.errors.NotFound} If the program does not exist.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { PIPE, run as runCommand } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const done = await runCommand("wc -c", {
 *     shell: true,
 *     input: new TextEncoder().encode("12345"),
 *     stdout: PIPE,
 *   });
 *   assert.equal(new TextDecoder().decode(done.stdout!).trim(), "5");
 * });
 * ```
 */
export async function run(args: Args, options: RunOptions = {}): Promise<CompletedProcess> {
  const { input, timeout, check, ...popenOptions } = options;
  if (input !== undefined) {
    if (options.stdin !== undefined && options.stdin !== PIPE && options.stdin !== "piped") {
      throw new TypeError("Cannot run: input and stdin cannot both be given");
    }
    popenOptions.stdin = PIPE;
  }
  const p = new Popen(args, popenOptions);
  let out: Uint8Array | null;
  let err: Uint8Array | null;
  try {
    [out, err] = await p.communicate(input, timeout);
  } finally {
    for (const stream of [p.stdin, p.stdout, p.stderr]) {
      if (stream !== null && !stream.closed) await stream.close().catch(() => {});
    }
  }
  const done = new CompletedProcess(args, p.returncode!, out, err);
  if (check) done.checkReturncode();
  return done;
}

/**
 * Runs a command and returns its standard output: Python's
 * `subprocess.check_output`.
 *
 * @param args The program and its arguments, or a string (see `shell`).
 * @param options `input`, `stdin`, `stderr`, `shell`, `timeout`, `cwd`, `env`.
 * @returns What the command printed.
 * @throws {CalledProcessError} If the status is not 0 (with `output`).
 * @throws {TimeoutExpired} If `timeout` expires.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { checkOutput } from "@curio/curio/subprocess";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const out = await checkOutput(["echo", "hello"]);
 *   assert.equal(new TextDecoder().decode(out), "hello\n");
 * });
 * ```
 */
export async function checkOutput(
  args: Args,
  options: CheckOutputOptions = {},
): Promise<Uint8Array> {
  const done = await run(args, { ...options, stdout: PIPE, check: true });
  return done.stdout!;
}
