// The soak: long runs that CI does not do. `deno task soak` runs
//
// 1. the random cancellation fuzz for thousands of iterations (a fresh base
//    seed each time, printed; CURIO_SOAK_FUZZ sets the count, default 5000),
//    and the socket fuzz (CURIO_SOAK_SOCKET_FUZZ, default 500);
// 2. a load test: CURIO_SOAK_CONNECTIONS (default 1000) concurrent TCP
//    connections on 127.0.0.1 echoing random-sized messages through one
//    curio server for CURIO_SOAK_SECONDS (default 60), with about one round
//    trip in eight under a random short timeout. A timed-out round trip is
//    finished without a timeout and its echo checked byte for byte, so a
//    byte lost (or duplicated) to a cancelled read is an error.
//
// It reports round trips, intended timeouts, errors (anything else; must be
// 0), RSS at start, after warm-up and at the end (after a GC), and open file
// descriptors (/proc/self/fd: Deno 2 has no Deno.resources()) before, at peak
// and after run() returned. Exits 1 if an error occurred, a fuzz seed failed,
// or descriptors were left open.
//
//   deno task soak
//   CURIO_SOAK_SECONDS=10 CURIO_SOAK_FUZZ=500 deno task soak

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
import { fuzz, Rng } from "./_fuzz.ts";
import { socketFuzzOnce } from "./_socket_fuzz.ts";

const SECONDS = Number(Deno.env.get("CURIO_SOAK_SECONDS") ?? 60);
const CONNECTIONS = Number(Deno.env.get("CURIO_SOAK_CONNECTIONS") ?? 1000);
const FUZZ = Number(Deno.env.get("CURIO_SOAK_FUZZ") ?? 5000);
const SOCKET_FUZZ = Number(Deno.env.get("CURIO_SOAK_SOCKET_FUZZ") ?? 500);
const SEED = Number(Deno.env.get("CURIO_SOAK_SEED") ?? Math.floor(Math.random() * 2 ** 31));

const gc = (globalThis as { gc?: () => void }).gc;

function fdTargets(): string[] {
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

function openFds(): number {
  return fdTargets().length;
}

function heapMb(): number {
  gc?.();
  return Math.round(Deno.memoryUsage().heapUsed / 1024 / 1024 * 10) / 10;
}

function rssMb(): number {
  gc?.();
  return Math.round(Deno.memoryUsage().rss / 1024 / 1024 * 10) / 10;
}

const failures: string[] = [];

// --- 1. fuzz ---------------------------------------------------------------

{
  const started = performance.now();
  console.log(`fuzz: ${FUZZ} iterations from base seed ${SEED}`);
  const r = await fuzz(SEED, FUZZ);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `fuzz: ${FUZZ} runs in ${secs} s: ${r.ops} operations, ${r.cancels} chaos cancels, ${r.timeouts} timeouts, ${r.failures.length} failing seeds`,
  );
  for (const f of r.failures.slice(0, 10)) console.log(`  ${f}`);
  if (r.failures.length > 0) failures.push(`${r.failures.length} fuzz seeds failed`);
}

{
  const started = performance.now();
  const totals = { reads: 0, timeouts: 0, cancels: 0, failed: 0 };
  for (let i = 0; i < SOCKET_FUZZ; i++) {
    const r = await socketFuzzOnce((SEED + i) >>> 0);
    totals.reads += r.reads;
    totals.timeouts += r.timeouts;
    totals.cancels += r.cancels;
    if (r.problems.length > 0) {
      totals.failed++;
      if (totals.failed <= 10) console.log(`  seed ${r.seed}: ${r.problems.join("; ")}`);
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `socket fuzz: ${SOCKET_FUZZ} runs in ${secs} s: ${totals.reads} reads, ${totals.timeouts} timeouts, ${totals.cancels} reader cancels, ${totals.failed} failing seeds`,
  );
  if (totals.failed > 0) failures.push(`${totals.failed} socket fuzz seeds failed`);
}

// --- 2. load ---------------------------------------------------------------

// Deno opens two descriptors of its own (a socket pair) about half a second
// after it starts, whatever the program does: take the baseline after that.
while (performance.now() < 2000) await new Promise((r) => setTimeout(r, 100));
const fdsBefore = openFds();
const fdListBefore = fdTargets();
const heapStart = heapMb();
let heapWarm = 0;
const rssStart = rssMb();
let rssWarm = 0;
let peakFds = 0;
const stats = { roundTrips: 0, bytes: 0, timeouts: 0, errors: 0, connected: 0 };
const perClient: number[] = [];
const firstTrip: number[] = [];
const errorSamples: string[] = [];

function error(where: string, e: unknown): void {
  stats.errors++;
  if (errorSamples.length < 10) {
    errorSamples.push(`${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

// Every connection is accepted before any echoes: under echo load Deno
// serves a pending accept only now and then (raw Deno.Listener too), so
// connections arriving during the load would wait for most of it.
const allAccepted = new Event();
let acceptedCount = 0;
let echoStart = 0;

async function echo(client: Socket): Promise<void> {
  if (++acceptedCount === CONNECTIONS) {
    echoStart = performance.now();
    await allAccepted.set();
  }
  for (;;) {
    const data = await client.recv(65536);
    if (data.length === 0) return;
    await client.sendall(data);
  }
}

/** Reads until `into` is full; `state.got` counts progress even if a timeout interrupts. */
async function readExactly(sock: Socket, into: Uint8Array, state: { got: number }): Promise<void> {
  while (state.got < into.length) {
    const n = await sock.recvInto(into.subarray(state.got));
    if (n === 0) throw new Error(`Cannot read echo: connection closed after ${state.got} bytes`);
    state.got += n;
  }
}

async function client(id: number, port: number, duration: number): Promise<void> {
  const rng = new Rng(SEED ^ (id * 2654435761));
  let sock: Socket;
  try {
    sock = await openConnection("127.0.0.1", port);
  } catch (e) {
    error(`client ${id} connect`, e);
    return;
  }
  stats.connected++;
  try {
    await timeoutAfter(60, () => allAccepted.wait());
    const until = echoStart + duration;
    let n = 0;
    let last = "none";
    while (performance.now() < until) {
      const size = 16 + rng.int(1009);
      const message = new Uint8Array(size);
      for (let i = 0; i < size; i++) message[i] = (id + n + i) & 0xff;
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
          stats.timeouts++;
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
      stats.roundTrips++;
      perClient[id] = (perClient[id] ?? 0) + 1;
      firstTrip[id] ??= performance.now() - echoStart;
      if (!timedOut) last = "none";
      stats.bytes += size;
      n++;
      if (rng.chance(0.01)) await sleep(rng.next() * 0.01);
    }
  } catch (e) {
    if (!(e instanceof CancelledError)) error(`client ${id}`, e);
  } finally {
    await sock.close();
  }
}

console.log(`load: ${CONNECTIONS} connections echoing for ${SECONDS} s (seed ${SEED})`);
const started = performance.now();
await run(async () => {
  const listener = tcpServerSocket("127.0.0.1", 0);
  const [, port] = listener.getsockname() as [string, number];
  const server = await spawn(() => runServer(listener, echo), { name: "echo server" });
  const clients = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    clients.push(await spawn(() => client(i, port, SECONDS * 1000), { name: `client ${i}` }));
  }
  const sampler = await spawn(async () => {
    await allAccepted.wait();
    await sleep(Math.min(5, SECONDS / 4));
    rssWarm = rssMb();
    heapWarm = heapMb();
    for (;;) {
      peakFds = Math.max(peakFds, openFds());
      await sleep(1);
    }
  }, { daemon: true, name: "sampler" });
  for (const c of clients) await c.wait();
  await sampler.cancel();
  await server.cancel();
}, { logErrors: true });
const elapsed = (performance.now() - echoStart) / 1000;
const setup = (echoStart - started) / 1000;
const rssEnd = rssMb();
const fdsAtReturn = openFds();
// Deno closes a descriptor once the ops still using it have finished.
await new Promise((r) => setTimeout(r, 1000));
const fdsAfter = openFds();
const heapEnd = heapMb();
const fdListAfter = fdTargets();

console.log(
  `load: ${stats.connected} of ${CONNECTIONS} connected and accepted in ${
    setup.toFixed(1)
  } s; ${stats.roundTrips} round trips in ${elapsed.toFixed(1)} s (${
    Math.round(stats.roundTrips / elapsed)
  }/s, ${
    (stats.bytes / 1024 / 1024).toFixed(1)
  } MiB echoed); ${stats.timeouts} intended timeouts; ${stats.errors} errors`,
);
for (const s of errorSamples) console.log(`  ${s}`);
{
  const counts = Array.from({ length: CONNECTIONS }, (_, i) => perClient[i] ?? 0).sort((x, y) =>
    x - y
  );
  const firsts = firstTrip.filter((t) => t !== undefined).map((t) => t / 1000).sort((
    x,
    y,
  ) => x - y);
  console.log(
    `fairness: round trips per connection min ${counts[0]}, median ${
      counts[Math.floor(CONNECTIONS / 2)]
    }, max ${counts[CONNECTIONS - 1]}; first round trip after ${firsts[0]?.toFixed(2)} s to ${
      firsts.at(-1)?.toFixed(2)
    } s after the echo began`,
  );
}
console.log(
  `memory: RSS ${rssStart} MiB at start, ${rssWarm} MiB after warm-up, ${rssEnd} MiB at the end${
    gc ? " (after GC)" : " (run with --v8-flags=--expose-gc for GC'd figures)"
  }`,
);
console.log(
  `heap: ${heapStart} MiB used at start, ${heapWarm} MiB after warm-up, ${heapEnd} MiB at the end`,
);
console.log(
  `descriptors: ${fdsBefore} open before, ${peakFds} at peak, ${fdsAtReturn} when run() returned, ${fdsAfter} one second later`,
);
if (fdsAfter > fdsBefore) {
  const extra = [...fdListAfter];
  for (const t of fdListBefore) extra.splice(extra.indexOf(t), 1);
  console.log(`  new descriptors: ${extra.join(", ")}`);
}
if (stats.errors > 0) failures.push(`${stats.errors} errors`);
if (fdsAfter > fdsBefore) failures.push(`${fdsAfter - fdsBefore} descriptors left open`);
if (stats.connected < CONNECTIONS) {
  failures.push(`${CONNECTIONS - stats.connected} never connected`);
}
if (failures.length > 0) {
  console.log(`soak FAILED: ${failures.join("; ")}`);
  Deno.exit(1);
}
console.log("soak passed");
