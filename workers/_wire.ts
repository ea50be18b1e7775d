// What crosses the boundary between the kernel and a worker (thread or
// process): how a function is described, and how an error travels back.
//
// Imported by both sides, so it must not import the kernel.

/** How a worker finds the function to run: its source, or a module export. */
export type JobDef =
  | { readonly src: string; readonly name: string }
  | { readonly module: string; readonly exportName: string };

/** A function ready to send: a small key per process, and its definition. */
export interface Job {
  readonly key: number;
  readonly def: JobDef;
}

/** A request: run job `key` (defined by `def` the first time a worker sees it) on `args`. */
export interface Request {
  readonly key: number;
  readonly def?: JobDef;
  readonly args: unknown[];
}

/** A reply: the value, or the error, or a crash of the worker itself. */
export type Reply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: WireError }
  | { readonly crash: WireError }
  | { readonly lost: string };

/** An error as plain data: structured clone keeps neither custom names nor own fields. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
  readonly code?: unknown;
}

let nextKey = 1;
const jobs = new WeakMap<object, Job>();
const bySource = new Map<string, Job>();

/**
 * Describes `fn` for a worker, once per function object (`toString()` is
 * not free). Throws a TypeError for functions that have no usable source.
 */
export function jobOf(fn: unknown, what: string): Job {
  const known = jobs.get(fn as object);
  if (known !== undefined) return known;
  let def: JobDef;
  if (isWorkerFunction(fn)) {
    def = { module: fn.module, exportName: fn.exportName };
  } else if (typeof fn === "function") {
    const src = Function.prototype.toString.call(fn);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
      throw new TypeError(
        `Cannot run function in ${what}: ${
          fn.name || "it"
        } is a native or bound function and has no source to send; pass a self-contained function or use workerFunction(moduleUrl, exportName)`,
      );
    }
    if (/^class[\s{]/.test(src)) {
      throw new TypeError(`Cannot run function in ${what}: expected a function, received a class`);
    }
    // A closure re-created per call (`runInThread((x) => x, i)` in a loop) has the same source.
    const same = bySource.get(src);
    if (same !== undefined && "src" in same.def && same.def.name === fn.name) {
      jobs.set(fn, same);
      return same;
    }
    def = { src, name: fn.name };
  } else {
    throw new TypeError(
      `Cannot run function in ${what}: expected a function or workerFunction(moduleUrl, exportName), received ${
        describe(
          fn,
        )
      }`,
    );
  }
  const job = { key: nextKey++, def };
  jobs.set(fn as object, job);
  if ("src" in def && bySource.size < 10_000) bySource.set(def.src, job);
  return job;
}

function isWorkerFunction(fn: unknown): fn is { module: string; exportName: string } {
  // Duck-typed on purpose: the worker side must not import the class.
  return typeof fn === "object" && fn !== null && fn.constructor?.name === "WorkerFunction" &&
    typeof (fn as { module?: unknown }).module === "string" &&
    typeof (fn as { exportName?: unknown }).exportName === "string";
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}` : "an object";
  }
  if (typeof value === "symbol") return "a symbol";
  return `a ${typeof value}`;
}

/** Turns anything thrown into plain data that survives any serializer. */
export function encodeError(error: unknown): WireError {
  if (
    error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
  ) {
    const e = error as Error & { code?: unknown };
    const out: { name: string; message: string; stack: string; code?: unknown } = {
      name: String(e.name ?? "Error"),
      message: String(e.message ?? ""),
      stack: typeof e.stack === "string" ? e.stack : `${e.name}: ${e.message}`,
    };
    if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
    return out;
  }
  let message: string;
  try {
    message = `a non-Error value was thrown: ${String(error)}`;
  } catch {
    message = "a non-Error value was thrown";
  }
  return { name: "Error", message, stack: `Error: ${message}` };
}

const builtins: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

const domNames = new Set([
  "DataCloneError",
  "AbortError",
  "NotSupportedError",
  "InvalidStateError",
  "SecurityError",
  "NetworkError",
  "TimeoutError",
]);

/** The error sent back when a worker's result cannot be structured-cloned. */
export function resultCloneError(error: unknown, where: string): WireError {
  return encodeError(
    new DOMException(
      `Cannot return the result from ${where}: ${
        (error as Error).message
      }; return structured-cloneable data`,
      "DataCloneError",
    ),
  );
}

/**
 * Rebuilds an error thrown in a worker: same name and message; its stack is
 * the worker's stack followed by where the call was made in the kernel.
 */
export function decodeError(wire: WireError, where: string, callerStack?: string): Error {
  let error: Error;
  const ctor = builtins[wire.name];
  if (ctor !== undefined) {
    error = new ctor(wire.message);
  } else if (domNames.has(wire.name)) {
    error = new DOMException(wire.message, wire.name);
  } else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (wire.code !== undefined && !(error instanceof DOMException)) {
    (error as Error & { code?: unknown }).code = wire.code;
  }
  let stack = wire.stack.split("\n").filter((line) =>
    !/_(worker|process)_entry\.ts|\(blob:|at blob:/.test(line)
  )
    .join("\n");
  if (callerStack !== undefined) {
    const frames = callerStack.split("\n").slice(1).filter((line) => !line.includes("_calls.ts"))
      .join("\n");
    stack += `\n    at <${where}>` + (frames ? "\n" + frames : "");
  }
  Object.defineProperty(error, "stack", {
    value: stack,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return error;
}

/** The note added to a ReferenceError raised by a function sent as source. */
export function selfContainedHint(error: unknown): unknown {
  if (
    error instanceof ReferenceError && /is not defined$/.test(error.message) &&
    !error.message.includes("self-contained")
  ) {
    error.message += ": a function run in a worker must be self-contained (it is sent as source," +
      " without its closure); pass the values as arguments, or export the function from a module" +
      " and use workerFunction(moduleUrl, exportName)";
    if (typeof error.stack === "string") {
      const nl = error.stack.indexOf("\n");
      error.stack = `ReferenceError: ${error.message}` + (nl === -1 ? "" : error.stack.slice(nl));
    }
  }
  return error;
}

/** Compiles a function from its source (also methods written `name(x) { ... }`). */
export function compile(def: { src: string; name: string }, where: string): unknown {
  const tag = `\n//# sourceURL=${where}:${def.name || "anonymous"}`;
  try {
    return (0, eval)(`(${def.src}\n)${tag}`);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  // A method's source (`name(x) { ... }`, `async name() { ... }`) is not an expression.
  const holder = (0, eval)(`({${def.src}\n})${tag}`) as Record<string, unknown>;
  return Object.values(holder)[0];
}

/** Loads a module's export, checking it is a function. */
export async function loadExport(
  def: { module: string; exportName: string },
  cache: Map<string, Promise<Record<string, unknown>>>,
): Promise<unknown> {
  let mod = cache.get(def.module);
  if (mod === undefined) {
    mod = import(def.module) as Promise<Record<string, unknown>>;
    cache.set(def.module, mod);
    mod.catch(() => cache.delete(def.module));
  }
  let ns: Record<string, unknown>;
  try {
    ns = await mod;
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    e.message = `Cannot load worker function module ${def.module}: ${e.message}`;
    throw e;
  }
  const fn = ns[def.exportName];
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run worker function: module ${def.module} has no exported function named ${
        JSON.stringify(def.exportName)
      } (found ${describe(fn)})`,
    );
  }
  return fn;
}
