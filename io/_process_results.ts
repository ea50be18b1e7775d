// How a finished child is reported: CompletedProcess (what run() returns)
// and the two errors, with Python's wording (the command, then what went
// wrong).

import type { Args } from "./_popen_pipes.ts";

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
