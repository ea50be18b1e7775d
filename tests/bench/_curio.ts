// The benchmark workloads on curio. The module is loaded dynamically and
// described by the local `CurioApi` type, so rows whose API has not landed
// yet are reported as missing instead of breaking the whole run.

import { SIZES } from "./_sizes.ts";
import { loadHttp } from "./_http_client.ts";
import { helloHandler } from "./_raw.ts";

/** The part of a Task the benchmarks use. */
export interface CurioTask<T> {
  join(): Promise<T>;
  cancel(): Promise<boolean>;
}

/** The part of a Socket the benchmarks use. */
export interface CurioSocket {
  recv(maxbytes: number): Promise<Uint8Array>;
  sendall(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  getsockname(): [string, number] | string;
}

/** The curio API the benchmarks use; optional members land later. */
export interface CurioApi {
  run<T>(main: () => Promise<T>): Promise<T>;
  spawn<T>(fn: () => Promise<T>, options?: { daemon?: boolean }): Promise<CurioTask<T>>;
  sleep(seconds: number): Promise<void>;
  timeoutAfter<T>(seconds: number, fn: () => Promise<T>): Promise<T>;
  Queue?: new <T>(maxsize?: number) => { put(item: T): Promise<void>; get(): Promise<T> };
  Lock?: new () => { acquire(): Promise<unknown>; release(): Promise<void> };
  tcpServerSocket?: (host: string, port: number) => CurioSocket;
  runServer?: (
    sock: CurioSocket,
    handler: (client: CurioSocket, addr: unknown) => Promise<void>,
  ) => Promise<never>;
  openConnection?: (host: string, port: number) => Promise<CurioSocket>;
  Socket?: new (conn: Deno.Conn) => CurioSocket;
  httpServer?: (
    host: string,
    port: number,
    handler: (request: Request) => Response | Promise<Response>,
    options?: { signals?: Deno.Signal[]; onListen?: (addr: Deno.NetAddr) => void },
  ) => Promise<void>;
  // deno-lint-ignore no-explicit-any
  runInThread?: <T>(fn: (...args: any[]) => T, ...args: unknown[]) => Promise<T>;
}

/** Loads the module under test through its published name. */
export async function loadCurio(): Promise<CurioApi> {
  return await import("@curio/curio") as unknown as CurioApi;
}

/** Names of the exports a row needs that `api` lacks (empty: the row can run). */
export function missing(api: CurioApi, names: readonly (keyof CurioApi)[]): string[] {
  return names.filter((name) => typeof api[name] !== "function");
}

function checkSum(sum: number, n: number, what: string): void {
  if (sum !== (n * (n - 1)) / 2) throw new Error(`Cannot check ${what}: wrong sum ${sum}`);
}

async function trivial(i: number): Promise<number> {
  return i;
}

/** Spawns `n` trivial tasks, then joins each one. */
export async function spawnJoin(c: CurioApi, n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const sum = await c.run(async () => {
    const tasks = new Array<CurioTask<number>>(n);
    for (let i = 0; i < n; i++) tasks[i] = await c.spawn(() => trivial(i));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await tasks[i]!.join();
    return sum;
  });
  checkSum(sum, n, "spawnJoin");
  return performance.now() - t0;
}

/** Spawns `n` tasks that each `sleep(0)` once, then joins each one. */
export async function spawnJoinYield(c: CurioApi, n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const sum = await c.run(async () => {
    const yielding = async (i: number): Promise<number> => {
      await c.sleep(0);
      return i;
    };
    const tasks = new Array<CurioTask<number>>(n);
    for (let i = 0; i < n; i++) tasks[i] = await c.spawn(() => yielding(i));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await tasks[i]!.join();
    return sum;
  });
  checkSum(sum, n, "spawnJoinYield");
  return performance.now() - t0;
}

/** One producer, one consumer, `Queue(1)`: a task switch per item. */
export async function queue(c: CurioApi, n = SIZES.queue): Promise<number> {
  const Queue = c.Queue!;
  const t0 = performance.now();
  const sum = await c.run(async () => {
    const q = new Queue<number>(1);
    const producer = await c.spawn(async () => {
      for (let i = 0; i < n; i++) await q.put(i);
    });
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await q.get();
    await producer.join();
    return sum;
  });
  checkSum(sum, n, "queue");
  return performance.now() - t0;
}

/** `tasks` tasks each acquire and release one `Lock` `rounds` times. */
export async function lock(
  c: CurioApi,
  tasks = SIZES.lockTasks,
  rounds = SIZES.lockRounds,
): Promise<number> {
  const Lock = c.Lock!;
  const t0 = performance.now();
  let inside = 0;
  await c.run(async () => {
    const lck = new Lock();
    const all = [];
    for (let i = 0; i < tasks; i++) {
      all.push(
        await c.spawn(async () => {
          for (let k = 0; k < rounds; k++) {
            await lck.acquire();
            inside++;
            await lck.release();
          }
        }),
      );
    }
    for (const t of all) await t.join();
  });
  if (inside !== tasks * rounds) throw new Error("Cannot check lock: wrong count");
  return performance.now() - t0;
}

/** `n` tasks, each running `sleep(0)` under its own `timeoutAfter(10)`. */
export async function timeouts(c: CurioApi, n = SIZES.timeouts): Promise<number> {
  const t0 = performance.now();
  await c.run(async () => {
    const quick = (): Promise<void> => c.sleep(0);
    const tasks = new Array<CurioTask<void>>(n);
    for (let i = 0; i < n; i++) tasks[i] = await c.spawn(() => c.timeoutAfter(10, quick));
    for (let i = 0; i < n; i++) await tasks[i]!.join();
  });
  return performance.now() - t0;
}

/** `n` tasks each sleeping 1 ms, all at once. */
export async function sleepers(c: CurioApi, n = SIZES.sleepers): Promise<number> {
  const t0 = performance.now();
  await c.run(async () => {
    const tasks = new Array<CurioTask<void>>(n);
    for (let i = 0; i < n; i++) tasks[i] = await c.spawn(() => c.sleep(0.001));
    for (let i = 0; i < n; i++) await tasks[i]!.join();
  });
  return performance.now() - t0;
}

/** Two tasks each calling `sleep(0)` `n` times: the wake/resume cycle. */
export async function switches(c: CurioApi, n = SIZES.switches): Promise<number> {
  const t0 = performance.now();
  await c.run(async () => {
    const loop = async (): Promise<void> => {
      for (let i = 0; i < n; i++) await c.sleep(0);
    };
    const a = await c.spawn(loop);
    const b = await c.spawn(loop);
    await a.join();
    await b.join();
  });
  return performance.now() - t0;
}

/** A server side: sends back what it receives, until end of data. */
async function echoBack(sock: CurioSocket): Promise<void> {
  for (;;) {
    const data = await sock.recv(65536);
    if (data.length === 0) return;
    await sock.sendall(data);
  }
}

/**
 * Sends `msg` over `client` `rounds` times, reading each one back in full
 * before the next: a client's side of the echo workload.
 */
export async function echoRoundTrips(
  client: Pick<CurioSocket, "recv" | "sendall">,
  msg: Uint8Array,
  rounds: number,
): Promise<void> {
  for (let k = 0; k < rounds; k++) {
    await client.sendall(msg);
    let got = 0;
    while (got < msg.length) {
      const data = await client.recv(65536);
      if (data.length === 0) throw new Error("Cannot echo: the server closed");
      got += data.length;
    }
  }
}

/**
 * A client task per socket, each sending `rounds` 64-byte messages and
 * reading each one back; the milliseconds until all are done.
 */
async function echoClients(c: CurioApi, clients: CurioSocket[], rounds: number): Promise<number> {
  const msg = new Uint8Array(64).fill(120);
  const t0 = performance.now();
  const tasks = [];
  for (const client of clients) {
    tasks.push(await c.spawn(() => echoRoundTrips(client, msg, rounds)));
  }
  for (const t of tasks) await t.join();
  return performance.now() - t0;
}

/**
 * TCP echo of 64-byte messages over `conns` connections through
 * `tcpServerSocket` + `runServer` + `openConnection`, `rounds` round trips
 * each, server and clients in this process.
 */
export async function echo(c: CurioApi, conns: number, rounds: number): Promise<number> {
  const tcpServerSocket = c.tcpServerSocket!;
  const runServer = c.runServer!;
  const openConnection = c.openConnection!;
  return await c.run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const port = (sock.getsockname() as [string, number])[1];
    const server = await c.spawn(() => runServer(sock, echoBack));
    const clients: CurioSocket[] = [];
    for (let i = 0; i < conns; i++) clients.push(await openConnection("127.0.0.1", port));
    const ms = await echoClients(c, clients, rounds);
    for (const client of clients) await client.close();
    await server.cancel();
    return ms;
  });
}

/**
 * The echo workload over connections already open (`pairs` of server and
 * client ends, each wrapped in a `Socket`): a server task and a client task
 * per pair, `rounds` round trips of 64 bytes each.
 */
export async function echoPairs(
  c: CurioApi,
  pairs: ReadonlyArray<readonly [server: Deno.Conn, client: Deno.Conn]>,
  rounds: number,
): Promise<number> {
  const Socket = c.Socket!;
  return await c.run(async () => {
    const servers: CurioTask<void>[] = [];
    for (const [conn] of pairs) {
      const server = new Socket(conn);
      servers.push(
        await c.spawn(async () => {
          await echoBack(server);
          await server.close();
        }),
      );
    }
    const clients = pairs.map(([, conn]) => new Socket(conn));
    const ms = await echoClients(c, clients, rounds);
    for (const client of clients) await client.close();
    for (const t of servers) await t.join();
    return ms;
  });
}

/**
 * `httpServer` with the raw row's handler, loaded by `conns` keep-alive
 * connections sending `requests` requests each from a client subprocess.
 */
export async function http(
  c: CurioApi,
  conns = SIZES.httpConns,
  requests = SIZES.httpRequests,
): Promise<number> {
  const httpServer = c.httpServer!;
  return await c.run(async () => {
    let port = 0;
    const server = await c.spawn(() =>
      httpServer("127.0.0.1", 0, helloHandler, { signals: [], onListen: (a) => port = a.port })
    );
    try {
      return await loadHttp(port, conns, requests);
    } finally {
      await server.cancel();
    }
  });
}

/** `n` sequential `runInThread` calls of a trivial function, after a warm-up. */
export async function thread(c: CurioApi, n = SIZES.thread): Promise<number> {
  const runInThread = c.runInThread!;
  return await c.run(async () => {
    const inc = (x: number): number => x + 1;
    for (let i = 0; i < 20; i++) await runInThread(inc, i);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if ((await runInThread(inc, i)) !== i + 1) {
        throw new Error("Cannot check thread: wrong reply");
      }
    }
    return performance.now() - t0;
  });
}

/** Starts `n` tasks sleeping an hour each, for the memory row; resolves once all are asleep. */
export async function startSleepers(
  c: CurioApi,
  n: number,
  measure: () => Promise<void>,
): Promise<void> {
  await c.run(async () => {
    for (let i = 0; i < n; i++) await c.spawn(() => c.sleep(3600), { daemon: true });
    await c.sleep(0);
    await measure();
  });
}
