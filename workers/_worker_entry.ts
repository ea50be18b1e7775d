// The Web Worker side of runInThread: receives a request, runs the function,
// posts the reply. One request at a time per worker.
//
// A crash that escapes the request (an error thrown from a timer, an
// unhandled rejection) and `self.close()` are reported to the pool before
// the worker ends, so the waiting call rejects instead of hanging.

/// <reference lib="deno.worker" />

import {
  compile,
  encodeError,
  type JobDef,
  loadExport,
  type Reply,
  type Request,
  selfContainedHint,
} from "./_wire.ts";

const fns = new Map<number, unknown>();
const modules = new Map<string, Promise<Record<string, unknown>>>();
const defs = new Map<number, JobDef>();
const post = (reply: Reply): void => self.postMessage(reply);

async function resolve(key: number, def: JobDef | undefined): Promise<unknown> {
  if (def !== undefined) defs.set(key, def);
  const known = defs.get(key);
  if (known === undefined) throw new Error(`curio worker: unknown function key ${key}`);
  const fn = "src" in known ? compile(known, "worker") : await loadExport(known, modules);
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run function in a worker thread: its source is not a function`);
  }
  fns.set(key, fn);
  return fn;
}

function reply(value: unknown): void {
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
}

function fail(error: unknown, fromSource: boolean): void {
  post({ ok: false, error: encodeError(fromSource ? selfContainedHint(error) : error) });
}

self.onmessage = (event: MessageEvent<Request>): void => {
  const { key, def, args } = event.data;
  const fn = fns.get(key);
  const fromSource = (def ?? defs.get(key)) !== undefined && "src" in (def ?? defs.get(key)!);
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
    hasTokens(args) ? import("./_shared_wire.ts").then((m) => m.reviveShared(args)) : args,
  ]).then(([f, a]) => start(f, a), (error) => fail(error, false));
};

function hasTokens(args: unknown[]): boolean {
  for (const arg of args) {
    if (typeof arg === "object" && arg !== null && "__curioShared" in arg) return true;
  }
  return false;
}

function crash(error: unknown): void {
  try {
    post({ crash: encodeError(error) });
  } finally {
    realClose();
  }
}

self.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.error ?? new Error(event.message));
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(event.reason);
});

const realClose = self.close.bind(self);
Object.defineProperty(self, "close", {
  value: (): void => {
    post({ lost: "the worker called self.close() before replying" });
    realClose();
  },
  configurable: true,
  writable: true,
});
