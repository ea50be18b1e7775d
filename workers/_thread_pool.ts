// The Web Workers behind runInThread.
//
// A call is one postMessage out and one back, and the calling task waits for
// the reply in the worker's own KernelQueue: the worker's message handler
// wakes it directly (`_rescheduleTasks`) with the result itself, so a call
// allocates no promise, closure or reply object of its own on top of the
// kernel's trap. Anything but a result (an error, a crash, a lost worker)
// arrives wrapped in a `Failure`, which no structured-cloned value can be.

import { _rescheduleTasks, KernelQueue } from "../kernel/traps.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { Pool, poolFor } from "./_pool.ts";
import { workerLimits } from "./limits.ts";
import type { Job, Reply, WireError } from "./_wire.ts";
import { type Control, MARK, workerSource } from "./_worker_entry.ts";

/** A reply that is not a result: what the waiting call gets instead of a value. */
export class Failure {
  constructor(readonly reply: Exclude<Reply, { ok: true }>) {}
}

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
  /** Where the calling task waits for the reply (see runInThread). */
  readonly waiting: KernelQueue = new KernelQueue();
  #busy = false;
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
        const reply = (data as Record<string, Reply>)[MARK]!;
        if ("ok" in reply && reply.ok) this.#settle(reply.value);
        else this.#fail(reply as Failure["reply"]);
      } else {
        this.#settle(data);
      }
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      // Only what the worker's own handlers could not catch: a failing module load.
      event.preventDefault();
      this.#fail({ crash: errorOf(event) });
    };
    this.#worker.onmessageerror = () => {
      this.#fail({
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
    return this.#busy;
  }

  /**
   * Posts a call; its reply wakes the task waiting in `waiting` with the
   * result, or with a {@linkcode Failure}. Throws synchronously (nothing
   * sent) if the arguments cannot be cloned.
   */
  start(job: Job, args: unknown[], tokens: boolean): void {
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
      // Deno delivers a posted `undefined` as null: send it, like an argument that
      // looks like a control message, inside one.
      if (arg === undefined || (typeof arg === "object" && arg !== null && MARK in arg)) {
        worker.postMessage(control({ arg }));
      } else {
        worker.postMessage(arg);
      }
    } else {
      worker.postMessage(count === 0 ? 0 : args);
    }
    this.#busy = true;
  }

  #settle(value: unknown): void {
    this.#busy = false;
    void _rescheduleTasks(this.waiting, 1, value);
  }

  #fail(reply: Failure["reply"]): void {
    if (!("ok" in reply)) {
      this.#alive = false;
      this.#worker.terminate();
    }
    this.#settle(new Failure(reply));
  }

  async retire(): Promise<void> {
    this.#alive = false;
    this.#worker.terminate();
    // Only a worker stopped in the middle of a call (a cancelled call) can
    // run on as a zombie; one that ended itself or sat idle cannot.
    if (this.#busy) {
      this.zombies.add(this.#flag);
      this.#settle(new Failure({ lost: "the worker was terminated before replying" }));
    }
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

/** `kernel`'s thread pool (the calling task's kernel: see `_getKernel`). */
export function threadPool(kernel: Kernel): Pool<ThreadWorker> {
  return poolFor(kernel, "thread", () => new ThreadPool(new Set()));
}
