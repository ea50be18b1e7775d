// The Web Worker side of runInThread: receives a request, runs the function,
// posts the reply. One request at a time per worker.
//
// The worker is started from a Blob URL holding the source of `workerMain`
// and the few helpers it uses (`workerSource()` below), not from this file:
// a Worker loaded from a local file would need `--allow-read` (and type
// checking under `deno test`), a Blob needs no permission and starts faster.
// So `workerMain` may use only its own locals, its argument, and the helper
// functions listed in `workerSource`.
//
// A crash that escapes the request (an error thrown from a timer, an
// unhandled rejection), `self.close()` and `Deno.exit()` are reported to the
// pool before the worker ends, so the waiting call rejects at once instead
// of hanging: Deno gives the parent no event when a worker ends itself.

import {
  compile,
  describe,
  encodeError,
  type JobDef,
  loadExport,
  type Reply,
  resultCloneError,
  selfContainedHint,
} from "./_wire.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<unknown>) => void) | null;
  close(): void;
  addEventListener(
    type: "error" | "unhandledrejection" | "unload",
    listener: (event: Event & { error?: unknown; message?: string; reason?: unknown }) => void,
  ): void;
}

/** A control message to a worker thread (wrapped as `{ [MARK]: control }`). */
export interface Control {
  /** The function the definition or the call settings are about. */
  key?: number;
  /** Defines function `key`. */
  def?: JobDef;
  /** Sets what call messages run: function `key` with `count` arguments. */
  count?: number;
  /** Whether those arguments hold SharedLock/SharedQueue tokens. */
  tokens?: boolean;
  /** A single argument that is `undefined` or itself looks like a control message. */
  arg?: unknown;
  /** A word the worker sets to 1 while it runs a function's synchronous code. */
  flag?: SharedArrayBuffer;
}

/**
 * Runs inside the worker. The wire format is lean, for speed: a call with
 * one argument is the argument itself, with more an array of them (with
 * none, `0`); which function it runs, and with how many arguments, is set
 * by a control message when that changes. A successful result is posted as
 * is. Everything else (definitions, settings, errors, crashes, and a single
 * argument or result that is `undefined` or looks like a control message)
 * is an object whose only key is `mark`.
 */
function workerMain(sharedWireUrl: string, mark: string): void {
  const scope = globalThis as unknown as WorkerScope;
  const fns = new Map<number, unknown>();
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const defs = new Map<number, JobDef>();
  // Taken now, so a function that replaces them cannot silence the reports below.
  const post = scope.postMessage.bind(scope);
  const control = (reply: Reply): void => post({ [mark]: reply });
  const realClose = scope.close.bind(scope);

  const resolve = async (key: number): Promise<unknown> => {
    const known = defs.get(key);
    if (known === undefined) throw new Error(`curio worker: unknown function key ${key}`);
    const fn = "src" in known ? compile(known, "worker") : await loadExport(known, modules);
    if (typeof fn !== "function") {
      throw new TypeError("Cannot run function in a worker thread: its source is not a function");
    }
    fns.set(key, fn);
    return fn;
  };

  const reply = (value: unknown): void => {
    try {
      // Deno delivers a posted `undefined` as null, so it goes in a control message too.
      if (value === undefined || (typeof value === "object" && value !== null && mark in value)) {
        control({ ok: true, value });
      } else {
        post(value);
      }
    } catch (error) {
      control({
        ok: false,
        error: resultCloneError(error, "a worker thread"),
      });
    }
  };

  const fail = (key: number, error: unknown): void => {
    const known = defs.get(key);
    const fromSource = known !== undefined && "src" in known;
    control({ ok: false, error: encodeError(fromSource ? selfContainedHint(error) : error) });
  };

  const failLoad = (error: unknown): void => control({ ok: false, error: encodeError(error) });

  let flag: Int32Array | undefined;
  const start = (key: number, f: unknown, args: unknown[]): void => {
    let value: unknown;
    if (flag !== undefined) Atomics.store(flag, 0, 1);
    try {
      value = (f as (...a: unknown[]) => unknown).apply(undefined, args);
    } catch (error) {
      fail(key, error);
      return;
    } finally {
      if (flag !== undefined) Atomics.store(flag, 0, 0);
    }
    if (typeof (value as PromiseLike<unknown>)?.then === "function") {
      Promise.resolve(value).then(reply, (error) => fail(key, error));
    } else {
      reply(value);
    }
  };

  // What the next call messages run: set by a control message whenever the
  // function, the argument count or the presence of shared tokens changes.
  let curKey = 0;
  let curCount = 0;
  let curTokens = false;

  const dispatch = (args: unknown[]): void => {
    const key = curKey;
    const fn = fns.get(key);
    if (fn !== undefined && !curTokens) {
      start(key, fn, args);
      return;
    }
    // Slow path: load the function and/or rebuild SharedLock/SharedQueue arguments.
    Promise.all([
      fn ?? resolve(key),
      curTokens
        ? import(sharedWireUrl).then((m) =>
          (m as { reviveShared(a: unknown[]): unknown[] }).reviveShared(args)
        )
        : args,
    ]).then(([f, a]) => start(key, f, a), failLoad);
  };

  scope.onmessage = (event: MessageEvent<unknown>): void => {
    const data = event.data;
    if (typeof data === "object" && data !== null && mark in data) {
      const c = (data as Record<string, Control>)[mark]!;
      if (c.flag !== undefined) flag = new Int32Array(c.flag);
      if (c.def !== undefined) defs.set(c.key!, c.def);
      if (c.count !== undefined) {
        curKey = c.key!;
        curCount = c.count;
        curTokens = c.tokens === true;
      }
      if ("arg" in c) dispatch([c.arg]);
      return;
    }
    dispatch(curCount === 0 ? [] : curCount === 1 ? [data] : data as unknown[]);
  };

  const crash = (error: unknown): void => {
    try {
      control({ crash: encodeError(error) });
    } finally {
      realClose();
    }
  };
  scope.addEventListener("error", (event) => {
    event.preventDefault();
    crash(event.error ?? new Error(event.message));
  });
  scope.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    crash(event.reason);
  });
  // A worker that ends itself gives its parent no event: say so first. Its
  // synchronous code stops here, so the "in synchronous code" word is
  // cleared (it is not a zombie).
  const ending = (how: string): void => {
    if (flag !== undefined) Atomics.store(flag, 0, 0);
    control({ lost: `the worker called ${how} before replying` });
  };
  Object.defineProperty(scope, "close", {
    value: (): void => {
      ending("self.close()");
      realClose();
    },
    configurable: true,
    writable: true,
  });
  // Deno.exit() (and node:process exit()) in a worker dispatch "unload",
  // then end the worker. Registered before any user code runs, so it runs first.
  scope.addEventListener("unload", () => {
    const code = (globalThis as { Deno?: { exitCode?: number } }).Deno?.exitCode ?? 0;
    ending(`Deno.exit(${code})`);
  });
}

/** The key marking control replies (errors, crashes) from a worker thread. */
export const MARK = "__curioReply";

/** The worker's whole program, as JavaScript source. */
export function workerSource(): string {
  const helpers = [compile, describe, encodeError, loadExport, resultCloneError, selfContainedHint];
  const sharedWire = new URL("./_shared_wire.ts", import.meta.url).href;
  return [
    ...helpers.map((f) => Function.prototype.toString.call(f)),
    Function.prototype.toString.call(workerMain),
    `${workerMain.name}(${JSON.stringify(sharedWire)}, ${JSON.stringify(MARK)});`,
  ].join("\n");
}
