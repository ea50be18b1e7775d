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
// unhandled rejection) and `self.close()` are reported to the pool before
// the worker ends, so the waiting call rejects instead of hanging.

import {
  compile,
  describe,
  encodeError,
  type JobDef,
  loadExport,
  type Reply,
  type Request,
  selfContainedHint,
} from "./_wire.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  close(): void;
  addEventListener(
    type: "error" | "unhandledrejection",
    listener: (event: Event & { error?: unknown; message?: string; reason?: unknown }) => void,
  ): void;
}

/** Runs inside the worker. `sharedWireUrl` is the module that rebuilds SharedLock/SharedQueue. */
function workerMain(sharedWireUrl: string): void {
  const scope = globalThis as unknown as WorkerScope;
  const fns = new Map<number, unknown>();
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const defs = new Map<number, JobDef>();
  const post = (reply: Reply): void => scope.postMessage(reply);
  const realClose = scope.close.bind(scope);

  const resolve = async (key: number, def: JobDef | undefined): Promise<unknown> => {
    if (def !== undefined) defs.set(key, def);
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
      post({ ok: true, value });
    } catch (error) {
      post({
        ok: false,
        error: encodeError(
          new DOMException(
            `Cannot return the result from a worker thread: ${
              (error as Error).message
            }; return structured-cloneable data`,
            "DataCloneError",
          ),
        ),
      });
    }
  };

  const fail = (error: unknown, fromSource: boolean): void => {
    post({ ok: false, error: encodeError(fromSource ? selfContainedHint(error) : error) });
  };

  const hasTokens = (args: unknown[]): boolean => {
    for (const arg of args) {
      if (typeof arg === "object" && arg !== null && "__curioShared" in arg) return true;
    }
    return false;
  };

  scope.onmessage = (event: MessageEvent<Request>): void => {
    const { key, def, args } = event.data;
    const fn = fns.get(key);
    const known = def ?? defs.get(key);
    const fromSource = known !== undefined && "src" in known;
    const start = (f: unknown, a: unknown[]): void => {
      let value: unknown;
      try {
        value = (f as (...a: unknown[]) => unknown)(...a);
      } catch (error) {
        fail(error, fromSource);
        return;
      }
      if (typeof (value as PromiseLike<unknown>)?.then === "function") {
        Promise.resolve(value).then(reply, (error) => fail(error, fromSource));
      } else {
        reply(value);
      }
    };
    if (fn !== undefined && !hasTokens(args)) {
      start(fn, args);
      return;
    }
    // Slow path: load the function and/or rebuild SharedLock/SharedQueue arguments.
    Promise.all([
      fn ?? resolve(key, def),
      hasTokens(args)
        ? import(sharedWireUrl).then((m) =>
          (m as { reviveShared(a: unknown[]): unknown[] }).reviveShared(args)
        )
        : args,
    ]).then(([f, a]) => start(f, a), (error) => fail(error, false));
  };

  const crash = (error: unknown): void => {
    try {
      post({ crash: encodeError(error) });
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
  Object.defineProperty(scope, "close", {
    value: (): void => {
      post({ lost: "the worker called self.close() before replying" });
      realClose();
    },
    configurable: true,
    writable: true,
  });
}

/** The worker's whole program, as JavaScript source. */
export function workerSource(): string {
  const helpers = [compile, describe, encodeError, loadExport, selfContainedHint];
  const sharedWire = new URL("./_shared_wire.ts", import.meta.url).href;
  return [
    ...helpers.map((f) => Function.prototype.toString.call(f)),
    Function.prototype.toString.call(workerMain),
    `${workerMain.name}(${JSON.stringify(sharedWire)});`,
  ].join("\n");
}
