// The Web Workers behind runInThread.

import { Pool, poolOf } from "./_pool.ts";
import { workerLimits } from "./limits.ts";
import type { Job, Reply, WireError } from "./_wire.ts";
import { type Control, MARK, workerSource } from "./_worker_entry.ts";

let entry: string | undefined;
let serial = 0;

/** A Blob URL of the worker program, made once per process (never revoked: workers reuse it). */
function entryUrl(): string {
  return entry ??= URL.createObjectURL(new Blob([workerSource()], { type: "text/javascript" }));
}

/** One Web Worker running one call at a time. */
export class ThreadWorker {
  readonly #worker: Worker;
  readonly #known = new Set<number>();
  #pending: ((reply: Reply) => void) | undefined = undefined;
  #alive = true;
  // What the worker's call messages currently run (see workerMain).
  #key = 0;
  #count = 0;
  #tokens = false;
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));

  /** @param zombies Where the pool keeps its terminated workers (see warnAboutZombies). */
  constructor(readonly zombies: Set<Int32Array>) {
    this.#worker = new Worker(entryUrl(), { type: "module", name: `curio thread ${++serial}` });
    this.#worker.postMessage(control({ flag: this.#flag.buffer as SharedArrayBuffer }));
    this.#worker.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (typeof data === "object" && data !== null && MARK in data) {
        this.#settle((data as Record<string, Reply>)[MARK]!);
      } else {
        this.#settle({ ok: true, value: data });
      }
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      // Only what the worker's own handlers could not catch: a failing module load.
      event.preventDefault();
      this.#settle({ crash: errorOf(event) });
    };
    this.#worker.onmessageerror = () => {
      this.#settle({
        ok: false,
        error: {
          name: "DataCloneError",
          message: "Cannot run function in a worker thread: its reply could not be deserialized",
          stack: "DataCloneError: its reply could not be deserialized",
        },
      });
    };
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** True while a call waits for its reply. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Posts a call. Throws synchronously (nothing sent) if the arguments
   * cannot be cloned. The promise never rejects: it resolves to the reply.
   */
  start(job: Job, args: unknown[], tokens: boolean): Promise<Reply> {
    const worker = this.#worker;
    const key = job.key;
    const count = args.length;
    if (!this.#known.has(key)) {
      worker.postMessage(control({ key, def: job.def }));
      this.#known.add(key);
    }
    if (key !== this.#key || count !== this.#count || tokens !== this.#tokens) {
      worker.postMessage(control({ key, count, tokens }));
      this.#key = key;
      this.#count = count;
      this.#tokens = tokens;
    }
    if (count === 1) {
      const arg = args[0];
      if (typeof arg === "object" && arg !== null && MARK in arg) {
        worker.postMessage(control({ arg }));
      } else {
        worker.postMessage(arg);
      }
    } else {
      worker.postMessage(count === 0 ? 0 : args);
    }
    return new Promise<Reply>((resolve) => {
      this.#pending = resolve;
    });
  }

  #settle(reply: Reply): void {
    if (!("ok" in reply)) {
      this.#alive = false;
      this.#worker.terminate();
    }
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.(reply);
  }

  async retire(): Promise<void> {
    this.#alive = false;
    this.#worker.terminate();
    // Only a worker stopped in the middle of a call (a cancelled call) can
    // run on as a zombie; one that ended itself or sat idle cannot.
    if (this.#pending !== undefined) this.zombies.add(this.#flag);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.({ lost: "the worker was terminated before replying" });
  }
}

function control(c: Control): Record<string, Control> {
  return { [MARK]: c };
}

function errorOf(event: ErrorEvent): WireError {
  const e = event.error;
  if (e instanceof Error) {
    return { name: e.name, message: e.message, stack: e.stack ?? `${e.name}: ${e.message}` };
  }
  const message = event.message || "the worker failed";
  return {
    name: "Error",
    message,
    stack: `Error: ${message}\n    at ${event.filename}:${event.lineno}:${event.colno}`,
  };
}

// Deno's Worker.terminate() cannot interrupt synchronous code: a worker
// terminated in the middle of it runs on until it returns, and the program
// cannot exit before. Each pool keeps its terminated workers' "in synchronous
// code" words and checks them when its kernel shuts down, to say why the
// program does not exit.
function warnAboutZombies(zombies: Set<Int32Array>): void {
  let running = 0;
  for (const flag of zombies) {
    if (Atomics.load(flag, 0) === 1) running++;
    else zombies.delete(flag);
  }
  if (running > 0) {
    console.warn(
      `curio: ${running} cancelled runInThread() call(s) still run synchronous code in terminated workers; Deno cannot interrupt it, so the program cannot exit until it returns (use runInProcess for work that must be killable)`,
    );
  }
}

class ThreadPool extends Pool<ThreadWorker> {
  readonly zombies: Set<Int32Array>;

  constructor(zombies: Set<Int32Array>) {
    super(() => new ThreadWorker(zombies), () => workerLimits.maxThreads, "THREAD_ACQUIRE");
    this.zombies = zombies;
  }

  override async close(): Promise<void> {
    await super.close();
    warnAboutZombies(this.zombies);
  }
}

/** The calling kernel's thread pool. */
export function threadPool(): Promise<Pool<ThreadWorker>> {
  return poolOf("thread", () => new ThreadPool(new Set()));
}
