// The echo load: `connections` TCP clients on 127.0.0.1 echo random-sized
// messages (16 to 1,024 bytes) through one curio server (`runServer`) for
// `seconds`, each byte of every echo checked. About one round trip in eight
// runs under a random timeout of up to 5 ms; when it fires the client
// finishes the round trip without one (resending what `bytesSent` says was
// not sent), so a byte lost or duplicated by a cancelled operation is an
// error. With `resets` on, about one round trip in `resetEvery` is a reset
// instead: half the time the client closes its connection abruptly with an
// echo on its way (the server's next read or write fails with a reset), half
// the time it asks the server to drop the connection mid-message (the client
// must see end of file or a reset, never an echo); either way the client
// then reconnects and goes on.
//
// Used by the soak (1,000 connections for 60 s) and by echo_load_test.ts
// (50 connections for a second or two, in a process of its own, since open
// descriptors are per process). Run as a program it prints its report as
// JSON; CURIO_LOAD_CONNECTIONS, CURIO_LOAD_SECONDS, CURIO_LOAD_SEED and
// CURIO_LOAD_RESETS (0 or 1) set the options.

import {
  CancelledError,
  Event,
  openConnection,
  run,
  runServer,
  sleep,
  type Socket,
  spawn,
  TaskTimeout,
  tcpServerSocket,
  timeoutAfter,
} from "@curio/curio";
import { Rng } from "./_fuzz.ts";

/** What an echo load does. */
export interface EchoLoadOptions {
  connections: number;
  seconds: number;
  seed: number;
  /** Whether clients reset connections now and then (and reconnect). */
  resets: boolean;
  /** About one round trip in this many is a reset (default 200). */
  resetEvery?: number;
}

/** What an echo load saw. */
export interface EchoLoadReport {
  connected: number;
  roundTrips: number;
  bytes: number;
  timeouts: number;
  /** Connections a client dropped abruptly with an echo on its way. */
  clientResets: number;
  /** Connections the server dropped on a client's request. */
  serverResets: number;
  /** Server handlers that ended on a reset or broken pipe (expected with resets). */
  handlerResets: number;
  reconnects: number;
  /** Anything unexpected; must be 0. */
  errors: number;
  errorSamples: string[];
  setupSeconds: number;
  echoSeconds: number;
  perClient: number[];
  firstTrip: number[];
  fdsBefore: number;
  peakFds: number;
  fdsAtReturn: number;
  fdsAfter: number;
  /** Descriptors open after that were not open before. */
  newFds: string[];
  rssWarm: number;
  heapWarm: number;
}

/** The process's open descriptors, by target (Deno 2 has no Deno.resources()). */
export function fdTargets(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      out.push(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
    } catch {
      // closed while listing (the directory's own descriptor)
    }
  }
  return out;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** RSS in MiB, after a GC when --expose-gc is on. */
export function rssMb(): number {
  gc?.();
  return Math.round(Deno.memoryUsage().rss / 1024 / 1024 * 10) / 10;
}

/** V8 heap in use in MiB, after a GC when --expose-gc is on. */
export function heapMb(): number {
  gc?.();
  return Math.round(Deno.memoryUsage().heapUsed / 1024 / 1024 * 10) / 10;
}

const RESET_REQUEST = [0, 82, 69, 83, 69, 84]; // "\0RESET": shorter than any message

/** A reset or broken pipe: what an abruptly closed peer looks like. */
function isReset(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted;
}

/** Runs the load (outside any kernel: it runs its own) and reports. */
export async function echoLoad(options: EchoLoadOptions): Promise<EchoLoadReport> {
  const { connections, seconds, seed, resets } = options;
  const resetChance = resets ? 1 / (options.resetEvery ?? 200) : 0;
  // Deno opens two descriptors of its own (a socket pair) about half a second
  // after it starts, whatever the program does: take the baseline after that.
  while (performance.now() < 2000) await new Promise((r) => setTimeout(r, 100));
  const fdListBefore = fdTargets();
  const r: EchoLoadReport = {
    connected: 0,
    roundTrips: 0,
    bytes: 0,
    timeouts: 0,
    clientResets: 0,
    serverResets: 0,
    handlerResets: 0,
    reconnects: 0,
    errors: 0,
    errorSamples: [],
    setupSeconds: 0,
    echoSeconds: 0,
    perClient: Array.from({ length: connections }, () => 0),
    firstTrip: [],
    fdsBefore: fdListBefore.length,
    peakFds: 0,
    fdsAtReturn: 0,
    fdsAfter: 0,
    newFds: [],
    rssWarm: 0,
    heapWarm: 0,
  };

  const error = (where: string, e: unknown): void => {
    r.errors++;
    if (r.errorSamples.length < 10) {
      r.errorSamples.push(
        `${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      );
    }
  };

  // Every first connection is accepted before any echoes: under echo load
  // Deno serves a pending accept only now and then (raw Deno.Listener too),
  // so connections arriving during the load would wait for most of it.
  // (Reconnections after a reset do arrive during the load, and may wait.)
  const allAccepted = new Event();
  let acceptedCount = 0;
  let echoStart = 0;

  const echo = async (client: Socket): Promise<void> => {
    if (++acceptedCount === connections) {
      echoStart = performance.now();
      await allAccepted.set();
    }
    try {
      for (;;) {
        const data = await client.recv(65536);
        if (data.length === 0) return;
        if (
          data.length >= RESET_REQUEST.length && RESET_REQUEST.every((b, i) => data[i] === b)
        ) {
          r.serverResets++;
          return; // runServer closes the connection, with the rest of the request unread
        }
        await client.sendall(data);
      }
    } catch (e) {
      if (isReset(e)) r.handlerResets++;
      else if (!(e instanceof CancelledError)) error("server handler", e);
    }
  };

  const readExactly = async (
    sock: Socket,
    into: Uint8Array,
    state: { got: number },
  ): Promise<void> => {
    while (state.got < into.length) {
      const n = await sock.recvInto(into.subarray(state.got));
      if (n === 0) throw new Error(`Cannot read echo: connection closed after ${state.got} bytes`);
      state.got += n;
    }
  };

  const client = async (id: number, port: number, duration: number): Promise<void> => {
    const rng = new Rng(seed ^ Math.imul(id + 1, 2654435761));
    let sock: Socket;
    try {
      sock = await openConnection("127.0.0.1", port);
    } catch (e) {
      error(`client ${id} connect`, e);
      return;
    }
    r.connected++;
    try {
      await timeoutAfter(60, () => allAccepted.wait());
      const until = echoStart + duration;
      let n = 0;
      let last = "none";
      while (performance.now() < until) {
        if (rng.chance(resetChance)) {
          if (rng.chance(0.5)) {
            // Drop the connection with an echo on its way: the server's next
            // write (or read) meets a reset.
            await sock.sendall(new Uint8Array(64 + rng.int(2000)).fill(id & 0xff));
            if (rng.chance(0.5)) await sleep(0);
            await sock.close();
            r.clientResets++;
          } else {
            // Ask the server to drop it mid-message: end of file or a reset, never an echo.
            const request = new Uint8Array(RESET_REQUEST.length + 2000);
            request.set(RESET_REQUEST);
            try {
              await sock.sendall(request);
              const back = await sock.recv(65536);
              if (back.length > 0) {
                throw new Error(`Cannot reset: the server echoed ${back.length} bytes instead`);
              }
            } catch (e) {
              if (!isReset(e)) throw e;
            }
            await sock.close();
          }
          sock = await openConnection("127.0.0.1", port);
          r.reconnects++;
          continue;
        }
        const size = 16 + rng.int(1009);
        const message = new Uint8Array(size);
        for (let i = 0; i < size; i++) message[i] = (id + n + i + 1) & 0xff || 1;
        const back = new Uint8Array(size);
        const state = { got: 0 };
        let timedOut = false;
        if (rng.chance(1 / 8)) {
          // A round trip under a short timeout; if it fires, finish without one.
          try {
            await timeoutAfter(rng.next() * 0.005, async () => {
              await sock.sendall(message);
              await readExactly(sock, back, state);
            });
          } catch (e) {
            if (!(e instanceof TaskTimeout)) throw e;
            r.timeouts++;
            last = "read";
            timedOut = true;
            const sent = (e as unknown as { bytesSent?: number }).bytesSent;
            if (sent !== undefined) {
              last = `sendall (bytesSent ${sent})`;
              // The timeout hit sendall: send the rest, as an application would.
              await sock.sendall(new Uint8Array(0)); // bytesSent is final now
              const total = (e as unknown as { bytesSent: number }).bytesSent;
              await sock.sendall(message.subarray(total));
            }
            // Bytes received before the timeout are in `back` (state.got); the
            // rest are buffered in the socket or still on their way.
          }
        } else {
          await sock.sendall(message);
        }
        await readExactly(sock, back, state);
        for (let i = 0; i < size; i++) {
          if (back[i] !== message[i]) {
            throw new Error(
              `Cannot verify echo: byte ${i} of ${size} differs (round trip ${n}; last timeout in ${last})`,
            );
          }
        }
        r.roundTrips++;
        r.perClient[id]!++;
        r.firstTrip[id] ??= performance.now() - echoStart;
        if (!timedOut) last = "none";
        r.bytes += size;
        n++;
        if (rng.chance(0.01)) await sleep(rng.next() * 0.01);
      }
    } catch (e) {
      if (!(e instanceof CancelledError)) error(`client ${id}`, e);
    } finally {
      await sock.close();
    }
  };

  const started = performance.now();
  await run(async () => {
    const listener = tcpServerSocket("127.0.0.1", 0);
    const [, port] = listener.getsockname() as [string, number];
    const server = await spawn(() => runServer(listener, echo), { name: "echo server" });
    const clients = [];
    for (let i = 0; i < connections; i++) {
      clients.push(await spawn(() => client(i, port, seconds * 1000), { name: `client ${i}` }));
    }
    const sampler = await spawn(async () => {
      await allAccepted.wait();
      await sleep(Math.min(5, seconds / 4));
      r.rssWarm = rssMb();
      r.heapWarm = heapMb();
      for (;;) {
        r.peakFds = Math.max(r.peakFds, fdTargets().length);
        await sleep(Math.min(1, seconds / 10));
      }
    }, { daemon: true, name: "sampler" });
    for (const c of clients) await c.wait();
    await sampler.cancel();
    await server.cancel();
  }, { logErrors: true });
  r.echoSeconds = (performance.now() - echoStart) / 1000;
  r.setupSeconds = (echoStart - started) / 1000;
  r.fdsAtReturn = fdTargets().length;
  // Deno closes a descriptor once the ops still using it have finished.
  for (let i = 0; i < 20 && fdTargets().length > r.fdsBefore; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const after = fdTargets();
  r.fdsAfter = after.length;
  for (const t of fdListBefore) {
    const i = after.indexOf(t);
    if (i !== -1) after.splice(i, 1);
  }
  r.newFds = after;
  return r;
}

if (import.meta.main) {
  const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
  const report = await echoLoad({
    connections: env("CURIO_LOAD_CONNECTIONS", 50),
    seconds: env("CURIO_LOAD_SECONDS", 1.5),
    seed: env("CURIO_LOAD_SEED", Math.floor(Math.random() * 2 ** 31)),
    resets: env("CURIO_LOAD_RESETS", 1) === 1,
    resetEvery: env("CURIO_LOAD_RESET_EVERY", 200),
  });
  console.log(JSON.stringify(report));
}
