// The pipe plumbing of Popen: what a caller may ask for (PIPE, STDOUT,
// DEVNULL, inherit), and how that becomes a Deno.Command and the child's
// FileStreams. Deno gives a child three separate streams and nothing else, so
// `stderr: STDOUT` is done by the shell (`exec 2>&1`) when there is one, and
// otherwise by piping both streams and merging them here (into Popen.stdout,
// or, for an inherited stdout, copied to this process's stdout).

import { FileStream } from "./file_stream.ts";
import { mergeStreams } from "./_merge_streams.ts";

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

function describe(args: Args): string {
  return typeof args === "string" ? args : args.join(" ");
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

/** A sink writing to this process's stdout (not `Deno.stdout.writable`: that locks it). */
function stdoutSink(): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      for (let off = 0; off < chunk.length;) off += await Deno.stdout.write(chunk.subarray(off));
    },
  });
}

/** A started child and its ends of the pipes. */
export interface StartedChild {
  /** The child. */
  child: Deno.ChildProcess;
  /** Its standard input, if piped. */
  stdin: FileStream | null;
  /** Its standard output (merged with stderr for `stderr: STDOUT`), if piped. */
  stdout: FileStream | null;
  /** Its standard error, if piped on its own. */
  stderr: FileStream | null;
  /** For `stderr: STDOUT` with an inherited stdout: the copy to our stdout. */
  pump: Promise<void> | undefined;
}

/**
 * Checks `args` and `options`, and starts the child with its redirections.
 *
 * @throws {TypeError} If `args` or a redirection is not valid.
 * @throws {Deno.errors.NotFound} If the program (or `cwd`) does not exist.
 */
export function startChild(args: Args, options: PopenOptions): StartedChild {
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
  return {
    child,
    stdin: stdin === "piped" ? new FileStream(child.stdin) : null,
    stdout: stdout !== "piped"
      ? null
      : new FileStream(merge ? mergeStreams(child.stdout, child.stderr) : child.stdout),
    stderr: stderr === "piped" && !merge && !pump ? new FileStream(child.stderr) : null,
    pump: pump
      ? mergeStreams(child.stdout, child.stderr).pipeTo(stdoutSink()).catch(() => {})
      : undefined,
  };
}
