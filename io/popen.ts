/**
 * Popen: a child process whose waits are kernel operations, so they can be
 * cancelled and timed out; a child whose wait is cancelled or times out is
 * ended (SIGTERM, then SIGKILL after {@linkcode KILL_GRACE} seconds) and
 * reaped before the error gets out. The redirections and pipes are set up by
 * `_popen_pipes.ts`; `run()` and `checkOutput()` (subprocess.ts) are built on
 * this class.
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
import type { FileStream } from "./file_stream.ts";
import { type Args, type PopenOptions, startChild } from "./_popen_pipes.ts";
import { TimeoutExpired } from "./_process_results.ts";

/** Seconds a cancelled or timed-out child gets between SIGTERM and SIGKILL. */
export const KILL_GRACE = 1;

const EMPTY = new Uint8Array(0);

function returncodeOf(status: Deno.CommandStatus): number {
  if (status.signal === null) return status.code;
  // Deno reports death by signal N as code 128 + N; Python's returncode is -N.
  return status.code > 128 ? -(status.code - 128) : -1;
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
    const started = startChild(args, options);
    const child = started.child;
    this.#child = child;
    this.args = args;
    this.pid = child.pid;
    // Collect the exit status now: the child is reaped as soon as it exits.
    this.#exited = child.status.then((status) => (this.#returncode = returncodeOf(status)));
    this.stdin = started.stdin;
    this.stdout = started.stdout;
    this.stderr = started.stderr;
    this.#pump = started.pump;
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
