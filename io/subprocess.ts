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

import { type Args, PIPE, type PopenOptions } from "./_popen_pipes.ts";
import { CompletedProcess } from "./_process_results.ts";
import { Popen } from "./popen.ts";

export type { FileStream } from "./file_stream.ts";
export { DEVNULL, PIPE, STDOUT } from "./_popen_pipes.ts";
export type { Args, PopenOptions, Redirect } from "./_popen_pipes.ts";
export { CalledProcessError, CompletedProcess, TimeoutExpired } from "./_process_results.ts";
export { KILL_GRACE, Popen } from "./popen.ts";

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
