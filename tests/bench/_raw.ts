// Raw-Deno baselines: the same workloads as _curio.ts written with plain
// promises, setTimeout, Deno.listen/Deno.connect and a Web Worker. Each
// function runs one round and returns the milliseconds its timed part took.

import { AsyncLocalStorage } from "node:async_hooks";
import { SIZES } from "./_sizes.ts";
import { loadHttp } from "./_http_client.ts";

/** A trivial task body. */
async function trivial(i: number): Promise<number> {
  return i;
}

/** Starts `n` async calls, then awaits each one. */
export async function spawnJoin(n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const calls = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) calls[i] = trivial(i);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await calls[i]!;
  if (sum !== (n * (n - 1)) / 2) throw new Error("Cannot check spawnJoin: wrong sum");
  return performance.now() - t0;
}

/** The least a task with ambient context is: a record its body runs in, holding its outcome. */
class RawTask {
  value: number | undefined = undefined;
  error: unknown = undefined;
  done: Promise<void> | undefined = undefined;
  constructor(readonly id: number) {}
}

const taskContext = new AsyncLocalStorage<RawTask>();

/** Runs a task's body in its context and keeps the outcome on the record. */
async function runTask(task: RawTask, body: (i: number) => Promise<number>): Promise<void> {
  try {
    task.value = await body(task.id);
  } catch (error) {
    task.error = error;
  }
}

/**
 * The fair floor for spawn+join: `n` task records, each entered with
 * `AsyncLocalStorage.run` around a runner that awaits the body and stores its
 * outcome on the record (so the body could ask which task it is, as
 * `currentTask()` does, and a failure is kept for the join instead of
 * becoming an unhandled rejection), then each joined by awaiting the runner
 * and reading the record. A bare async call ({@linkcode spawnJoin}) has no
 * context to enter and no outcome to keep.
 *
 * The spawning loop runs inside a parent record's context, as every spawn
 * does (a task spawns its children): in Deno 2.9 entering a context from
 * inside another costs about twice as much as from the empty root context
 * (the new frame copies the parent's), ~0.55 us against ~0.25 us.
 */
export function spawnJoinAls(n = SIZES.spawn): Promise<number> {
  return taskContext.run(new RawTask(-1), spawnJoinAlsInside, n);
}

async function spawnJoinAlsInside(n: number): Promise<number> {
  const t0 = performance.now();
  const tasks = new Array<RawTask>(n);
  for (let i = 0; i < n; i++) {
    const task = new RawTask(i);
    task.done = taskContext.run(task, runTask, task, trivial);
    tasks[i] = task;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const task = tasks[i]!;
    await task.done;
    if (task.error !== undefined) throw task.error;
    sum += task.value!;
  }
  if (sum !== (n * (n - 1)) / 2) throw new Error("Cannot check spawnJoinAls: wrong sum");
  return performance.now() - t0;
}

/** Starts `n` async calls that each yield once (`await null`), then awaits each. */
export async function spawnJoinYield(n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const yielding = async (i: number): Promise<number> => {
    await null;
    return i;
  };
  const calls = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) calls[i] = yielding(i);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await calls[i]!;
  if (sum !== (n * (n - 1)) / 2) throw new Error("Cannot check spawnJoinYield: wrong sum");
  return performance.now() - t0;
}

/** A bounded FIFO channel on plain promises, the floor for `Queue`. */
export class RawQueue<T> {
  #items: T[] = [];
  #getters: Array<() => void> = [];
  #putters: Array<() => void> = [];
  constructor(readonly maxsize: number) {}

  async put(item: T): Promise<void> {
    while (this.maxsize > 0 && this.#items.length >= this.maxsize) {
      await new Promise<void>((resolve) => this.#putters.push(resolve));
    }
    this.#items.push(item);
    this.#getters.shift()?.();
  }

  async get(): Promise<T> {
    while (this.#items.length === 0) {
      await new Promise<void>((resolve) => this.#getters.push(resolve));
    }
    const item = this.#items.shift()!;
    this.#putters.shift()?.();
    return item;
  }
}

/** One producer, one consumer, a queue of one slot: a task switch per item. */
export async function queue(n = SIZES.queue): Promise<number> {
  const t0 = performance.now();
  const q = new RawQueue<number>(1);
  const producer = (async () => {
    for (let i = 0; i < n; i++) await q.put(i);
  })();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await q.get();
  await producer;
  if (sum !== (n * (n - 1)) / 2) throw new Error("Cannot check queue: wrong sum");
  return performance.now() - t0;
}

/** A FIFO lock on plain promises with direct hand-off, the floor for `Lock`. */
export class RawLock {
  #locked = false;
  #waiters: Array<() => void> = [];

  async acquire(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  async release(): Promise<void> {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#locked = false;
  }
}

/** `tasks` tasks each acquire and release one lock `rounds` times. */
export async function lock(tasks = SIZES.lockTasks, rounds = SIZES.lockRounds): Promise<number> {
  const t0 = performance.now();
  const lck = new RawLock();
  let inside = 0;
  const worker = async (): Promise<void> => {
    for (let k = 0; k < rounds; k++) {
      await lck.acquire();
      inside++;
      await lck.release();
    }
  };
  const all = [];
  for (let i = 0; i < tasks; i++) all.push(worker());
  await Promise.all(all);
  if (inside !== tasks * rounds) throw new Error("Cannot check lock: wrong count");
  return performance.now() - t0;
}

function neverCalled(): void {
  throw new Error("Cannot run the timeout bench: a 10 s timeout expired");
}

/** `n` concurrent calls, each guarded by its own 10 s setTimeout around a quick await. */
export async function timeouts(n = SIZES.timeouts): Promise<number> {
  const t0 = performance.now();
  const guarded = async (): Promise<void> => {
    const handle = setTimeout(neverCalled, 10_000);
    try {
      await null;
    } finally {
      clearTimeout(handle);
    }
  };
  const all = new Array<Promise<void>>(n);
  for (let i = 0; i < n; i++) all[i] = guarded();
  for (let i = 0; i < n; i++) await all[i];
  return performance.now() - t0;
}

/** `n` concurrent calls, each sleeping 1 ms through its own setTimeout. */
export async function sleepers(n = SIZES.sleepers): Promise<number> {
  const t0 = performance.now();
  const nap = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
  const all = new Array<Promise<void>>(n);
  for (let i = 0; i < n; i++) all[i] = nap();
  for (let i = 0; i < n; i++) await all[i];
  return performance.now() - t0;
}

/** `n` yields of one task to the microtask queue (the floor for `sleep(0)`). */
export async function switches(n = SIZES.switches): Promise<number> {
  const t0 = performance.now();
  const a = (async () => {
    for (let i = 0; i < n; i++) await null;
  })();
  const b = (async () => {
    for (let i = 0; i < n; i++) await null;
  })();
  await Promise.all([a, b]);
  return performance.now() - t0;
}

/** Starts `n` calls sleeping an hour each: for the memory row (never awaited). */
export function startSleepers(n: number): void {
  for (let i = 0; i < n; i++) {
    (async () => {
      await new Promise((resolve) => setTimeout(resolve, 3_600_000));
    })();
  }
}

/**
 * What the echo workload needs of a connection: a `Deno.Conn` itself, or a
 * wrapper of one (the floors of tests/bench/echo_floors.ts).
 */
export interface EchoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number | null>;
  close(): void;
  /** Called as the task that used the connection ends. */
  ended?(): void;
}

async function writeAll(conn: EchoConn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await conn.write(data.subarray(off)))!;
}

/** Runs one connection's code: by default as a plain async call. */
export type EchoRunner = (body: () => Promise<void>) => Promise<void>;

async function echoClient(conn: EchoConn, rounds: number, msg: Uint8Array): Promise<void> {
  const buf = new Uint8Array(65536);
  for (let k = 0; k < rounds; k++) {
    await writeAll(conn, msg);
    let got = 0;
    while (got < msg.length) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("Cannot echo: the server closed the connection");
      got += n;
    }
  }
  conn.ended?.();
}

/** One connection's server side: echoes what it reads until end of data. */
async function echoServer(conn: EchoConn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
  } finally {
    conn.close();
    conn.ended?.();
  }
}

/**
 * The echo workload over connections already open: for each pair, a server
 * side that echoes and a client side that sends `rounds` 64-byte messages
 * and reads each one back, each side's code run through `runner`. Returns
 * the milliseconds until every client is done; then closes the clients and
 * waits for the servers to see the end.
 */
export async function echoPairs(
  pairs: ReadonlyArray<readonly [server: EchoConn, client: EchoConn]>,
  rounds: number,
  runner: EchoRunner = (body) => body(),
): Promise<number> {
  const servers = pairs.map(([server]) => runner(() => echoServer(server)));
  const msg = new Uint8Array(64).fill(120);
  const t0 = performance.now();
  await Promise.all(pairs.map(([, client]) => runner(() => echoClient(client, rounds, msg))));
  const ms = performance.now() - t0;
  for (const [, client] of pairs) client.close();
  await Promise.all(servers);
  return ms;
}

/**
 * TCP echo of 64-byte messages over `conns` connections, `rounds` round
 * trips each, server and clients in this process ({@linkcode echoPairs});
 * each connection, on both sides, is used through `wrap(conn)` (by default
 * the connection itself).
 */
export async function echo(
  conns: number,
  rounds: number,
  wrap: (conn: Deno.Conn) => EchoConn = (conn) => conn,
  runner?: EchoRunner,
): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const pairs: Array<[EchoConn, EchoConn]> = [];
  try {
    for (let i = 0; i < conns; i++) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      pairs.push([wrap(await listener.accept()), wrap(client)]);
    }
  } finally {
    listener.close();
  }
  return await echoPairs(pairs, rounds, runner);
}

/** The handler both HTTP servers run: the same work, so the difference is the server. */
export function helloHandler(_request: Request): Response {
  return new Response("hello");
}

/**
 * `Deno.serve` with {@linkcode helloHandler}, loaded by `conns` keep-alive
 * connections sending `requests` requests each from a client subprocess.
 */
export async function http(
  conns = SIZES.httpConns,
  requests = SIZES.httpRequests,
): Promise<number> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, helloHandler);
  try {
    return await loadHttp(server.addr.port, conns, requests);
  } finally {
    await server.shutdown();
  }
}

const WORKER_SOURCE = "self.onmessage = (e) => self.postMessage(e.data + 1);";

/** A warm Web Worker answering `n` sequential postMessage calls. */
export async function thread(n = SIZES.thread): Promise<number> {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  let reply: ((v: number) => void) | undefined;
  worker.onmessage = (e: MessageEvent<number>) => reply!(e.data);
  const call = (x: number): Promise<number> =>
    new Promise((resolve) => {
      reply = resolve;
      worker.postMessage(x);
    });
  try {
    for (let i = 0; i < 20; i++) await call(i); // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if ((await call(i)) !== i + 1) throw new Error("Cannot check thread: wrong reply");
    }
    return performance.now() - t0;
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}
