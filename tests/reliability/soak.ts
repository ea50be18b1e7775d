// The soak: long runs that CI does not do. `deno task soak` runs
//
// 1. the random cancellation fuzz for thousands of iterations (a fresh base
//    seed each time, printed; CURIO_SOAK_FUZZ sets the count, default 5000),
//    and the read-back fuzz over each transport: TCP, Unix sockets, a named
//    pipe, a regular file and a child's pipes (CURIO_SOAK_SOCKET_FUZZ runs
//    each, default 500);
// 2. the echo load (_echo_load.ts): CURIO_SOAK_CONNECTIONS (default 1000)
//    concurrent TCP connections on 127.0.0.1 echoing random-sized messages
//    through one curio server for CURIO_SOAK_SECONDS (default 60), with
//    about one round trip in eight under a random short timeout and about
//    one in CURIO_SOAK_RESET_EVERY (default 200) a reset by the client or by
//    the server, after which the client reconnects. Every echo is checked
//    byte for byte, so a byte lost (or duplicated) to a cancelled read is an
//    error.
//
// It reports round trips, intended timeouts, resets, errors (anything else;
// must be 0), RSS at start, after warm-up and at the end (after a GC), and
// open file descriptors (/proc/self/fd: Deno 2 has no Deno.resources())
// before, at peak and after run() returned. Exits 1 if an error occurred, a
// fuzz seed failed, or descriptors were left open.
//
//   deno task soak
//   CURIO_SOAK_SECONDS=10 CURIO_SOAK_FUZZ=500 deno task soak

import { fuzz } from "./_fuzz.ts";
import { socketFuzzOnce, TRANSPORTS } from "./_socket_fuzz.ts";
import { echoLoad, heapMb, rssMb } from "./_echo_load.ts";

const SECONDS = Number(Deno.env.get("CURIO_SOAK_SECONDS") ?? 60);
const CONNECTIONS = Number(Deno.env.get("CURIO_SOAK_CONNECTIONS") ?? 1000);
const RESET_EVERY = Number(Deno.env.get("CURIO_SOAK_RESET_EVERY") ?? 200);
const FUZZ = Number(Deno.env.get("CURIO_SOAK_FUZZ") ?? 5000);
const SOCKET_FUZZ = Number(Deno.env.get("CURIO_SOAK_SOCKET_FUZZ") ?? 500);
const SEED = Number(Deno.env.get("CURIO_SOAK_SEED") ?? Math.floor(Math.random() * 2 ** 31));

const gc = (globalThis as { gc?: () => void }).gc;

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

for (const transport of TRANSPORTS) {
  const started = performance.now();
  const totals = { reads: 0, timeouts: 0, cancels: 0, failed: 0 };
  for (let i = 0; i < SOCKET_FUZZ; i++) {
    const r = await socketFuzzOnce((SEED + i) >>> 0, 20_000, transport);
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
    `read-back fuzz over ${transport}: ${SOCKET_FUZZ} runs in ${secs} s: ${totals.reads} reads, ${totals.timeouts} timeouts, ${totals.cancels} reader cancels, ${totals.failed} failing seeds`,
  );
  if (totals.failed > 0) failures.push(`${totals.failed} ${transport} read-back seeds failed`);
}

// --- 2. load ---------------------------------------------------------------

const heapStart = heapMb();
const rssStart = rssMb();
console.log(
  `load: ${CONNECTIONS} connections echoing for ${SECONDS} s, a reset about every ${RESET_EVERY} round trips (seed ${SEED})`,
);
const r = await echoLoad({
  connections: CONNECTIONS,
  seconds: SECONDS,
  seed: SEED,
  resets: RESET_EVERY > 0,
  resetEvery: RESET_EVERY,
});
const rssEnd = rssMb();
const heapEnd = heapMb();

console.log(
  `load: ${r.connected} of ${CONNECTIONS} connected and accepted in ${
    r.setupSeconds.toFixed(1)
  } s; ${r.roundTrips} round trips in ${r.echoSeconds.toFixed(1)} s (${
    Math.round(r.roundTrips / r.echoSeconds)
  }/s, ${
    (r.bytes / 1024 / 1024).toFixed(1)
  } MiB echoed); ${r.timeouts} intended timeouts; ${r.clientResets} client resets, ${r.serverResets} server resets, ${r.reconnects} reconnections (${r.handlerResets} handlers ended by a reset); ${r.errors} errors`,
);
for (const s of r.errorSamples) console.log(`  ${s}`);
{
  const counts = [...r.perClient].sort((x, y) => x - y);
  const firsts = r.firstTrip.filter((t) => t !== undefined).map((t) => t / 1000).sort((x, y) =>
    x - y
  );
  console.log(
    `fairness: round trips per connection min ${counts[0]}, median ${
      counts[Math.floor(CONNECTIONS / 2)]
    }, max ${counts[CONNECTIONS - 1]}; first round trip after ${firsts[0]?.toFixed(2)} s to ${
      firsts.at(-1)?.toFixed(2)
    } s after the echo began`,
  );
}
console.log(
  `memory: RSS ${rssStart} MiB at start, ${r.rssWarm} MiB after warm-up, ${rssEnd} MiB at the end${
    gc ? " (after GC)" : " (run with --v8-flags=--expose-gc for GC'd figures)"
  }`,
);
console.log(
  `heap: ${heapStart} MiB used at start, ${r.heapWarm} MiB after warm-up, ${heapEnd} MiB at the end`,
);
console.log(
  `descriptors: ${r.fdsBefore} open before, ${r.peakFds} at peak, ${r.fdsAtReturn} when run() returned, ${r.fdsAfter} after`,
);
if (r.newFds.length > 0) console.log(`  new descriptors: ${r.newFds.join(", ")}`);
if (r.errors > 0) failures.push(`${r.errors} errors`);
if (r.newFds.length > 0) failures.push(`${r.newFds.length} descriptors left open`);
if (r.connected < CONNECTIONS) failures.push(`${CONNECTIONS - r.connected} never connected`);
if (failures.length > 0) {
  console.log(`soak FAILED: ${failures.join("; ")}`);
  Deno.exit(1);
}
console.log("soak passed");
