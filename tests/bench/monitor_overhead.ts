// What a monitor costs the program: run once, prints a small table.
//
//   deno run --allow-all tests/bench/monitor_overhead.ts
//
// 1. Per blocking operation while tracing: a queue ping-pong (every get
//    blocks) with and without `withMonitor`; the difference per operation is
//    the stack capture and "who runs" bookkeeping the monitor turns on.
// 2. Per snapshot: the agent's diff of a table of 2,000 tasks when nothing
//    changed, when every row changed, and the structured clone of a full
//    snapshot (what postMessage copies to the worker).
// 3. The program's own echo round trip (a loopback TCP echo served on the
//    main thread) while another process floods the console with `ps`
//    against 2,000 tasks, compared with no flood.

import { Kernel, Queue, sleep, spawn } from "../../mod.ts";
import type { KernelView, MonitoredTask } from "../../kernel/monitor_hook.ts";
import { Snapshotter } from "../../monitor/_snapshot.ts";

const quiet = { port: 0, onListen: () => {} };

async function pingPong(n: number): Promise<void> {
  const q = new Queue<number>();
  const consumer = await spawn(async () => {
    for (let i = 0; i < n; i++) await q.get();
  });
  for (let i = 0; i < n; i++) {
    await q.put(i);
    await sleep(0);
  }
  await consumer.join();
}

async function perBlockingOp(withMonitor: boolean): Promise<number> {
  const n = 20_000;
  await using kernel = new Kernel(withMonitor ? { withMonitor: quiet } : {});
  await kernel.run(() => pingPong(2_000)); // warm up
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    await kernel.run(() => pingPong(n));
    best = Math.min(best, performance.now() - start);
  }
  // Each round blocks 2n times: n gets and n sleep(0)s.
  return best * 1e6 / (2 * n);
}

function fakeTable(n: number): MonitoredTask[] {
  const stack = new Error("where it blocked");
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    name: `task-${i}`,
    state: "TIME_SLEEP",
    cycles: 0,
    daemon: false,
    parentId: 1,
    stateSince: 0,
    waitStack: stack,
    trap: 1,
  }));
}

function perSnapshot(): Record<string, number> {
  const tasks = fakeTable(2_000);
  const view: KernelView = {
    tasks: () => tasks.values(),
    task: (id) => tasks[id - 1],
    now: () => 0,
    cancel: () => false,
    whenDone: () => Promise.resolve(),
    running: new Int32Array(2),
  };
  const snapshots = new Snapshotter(view);
  const full = snapshots.take(); // first: every row, one shared stack
  const time = (fn: () => void, rounds = 200): number => {
    const start = performance.now();
    for (let i = 0; i < rounds; i++) fn();
    return (performance.now() - start) * 1000 / rounds;
  };
  for (const t of tasks) (t as { cycles: number }).cycles++;
  const changed = snapshots.take();
  const channel = new MessageChannel(); // what a worker's postMessage copies, on this thread
  const results = {
    "snapshot, 2,000 tasks, nothing changed": time(() => snapshots.take()),
    "snapshot, 2,000 tasks, every row changed": time(() => {
      for (const t of tasks) (t as { cycles: number }).cycles++;
      snapshots.take();
    }),
    "postMessage of the snapshot, 2,000 new tasks": time(() => channel.port1.postMessage(full), 50),
    "postMessage of the snapshot, 2,000 changed tasks": time(
      () => channel.port1.postMessage(changed),
      50,
    ),
  };
  channel.port1.close();
  channel.port2.close();
  return results;
}

async function echoLatency(flood: boolean): Promise<{ p50: number; p99: number; max: number }> {
  let port = 0;
  const kernel = new Kernel({ withMonitor: { ...quiet, onListen: (info) => port = info.port } });
  const samples: number[] = [];
  await kernel.run(async () => {
    for (let i = 0; i < 2_000; i++) await spawn(() => sleep(3600), { daemon: true });
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      const conn = await listener.accept();
      const buf = new Uint8Array(64);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        await conn.write(buf.subarray(0, n));
      }
      conn.close();
    })();
    let flooder: Deno.ChildProcess | undefined;
    if (flood) {
      const code = `const c = await Deno.connect({ port: ${port} });
        const ps = new TextEncoder().encode("ps\\n".repeat(100));
        (async () => { const b = new Uint8Array(1 << 16); while (await c.read(b) !== null); })();
        for (;;) await c.write(ps);`;
      flooder = new Deno.Command(Deno.execPath(), {
        args: ["eval", code],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the flood start
    }
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const buf = new Uint8Array(64);
    const msg = new Uint8Array(64);
    const until = performance.now() + 2000;
    while (performance.now() < until) {
      const start = performance.now();
      await conn.write(msg);
      let got = 0;
      while (got < msg.length) got += (await conn.read(buf))!;
      samples.push(performance.now() - start);
    }
    conn.close();
    await serving;
    listener.close();
    flooder?.kill("SIGKILL");
    await flooder?.status;
  });
  await kernel[Symbol.asyncDispose]();
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1]! };
}

const off = await perBlockingOp(false);
const on = await perBlockingOp(true);
console.log("| what | cost |");
console.log("|---|---|");
console.log(`| blocking operation, no monitor | ${off.toFixed(0)} ns |`);
console.log(`| blocking operation, monitor on (tracing) | ${on.toFixed(0)} ns |`);
console.log(`| monitor overhead per blocking operation | ${(on - off).toFixed(0)} ns |`);
for (const [what, us] of Object.entries(perSnapshot())) {
  console.log(`| ${what} | ${us.toFixed(0)} µs |`);
}
for (const flood of [false, true]) {
  const { p50, p99, max } = await echoLatency(flood);
  console.log(
    `| echo round trip, 2,000 tasks, ${flood ? "a client flooding ps" : "no monitor client"} | ` +
      `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms |`,
  );
}
