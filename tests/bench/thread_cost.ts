// Where a runInThread call's time goes, in alternating rounds in one process:
//
//   deno run --allow-all tests/bench/thread_cost.ts [--rounds=15]
//
// Round trips to a real Web Worker (wall time, sensitive to load):
// - raw: postMessage and await the reply, outside any kernel;
// - kernel trap: the same raw worker awaited inside a task through
//   `_futureWait`, the kernel's share of a call;
// - runInThread: the whole call.
// Then the main thread's own JavaScript per call, with the Worker replaced by
// an in-process stub that replies in a microtask (no thread, so hardly
// sensitive to load): a raw promise round trip, a task waiting in a
// KernelQueue that the stub's reply wakes (the kernel trap runInThread uses),
// and runInThread.

import { run, runInThread } from "@curio/curio";
import { _futureWait, _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
import { median } from "./_report.ts";

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const rounds = Number(arg("rounds") ?? 15);
const CALLS = 2_000;
const STUB_CALLS = 50_000;
const SOURCE = "self.onmessage = (e) => self.postMessage(e.data + 1);";
const inc = (x: number): number => x + 1;

type Call = (x: number) => Promise<number>;

/** Awaits `n` sequential calls after a warm-up; milliseconds. */
async function loop(call: Call, n: number): Promise<number> {
  for (let i = 0; i < 20; i++) await call(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if ((await call(i)) !== i + 1) throw new Error("Cannot time the calls: wrong reply");
  }
  return performance.now() - t0;
}

/** A worker as the rows use it: the reply handler is set once. */
interface Port {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
}

const RealWorker = globalThis.Worker;

/** Stands in for a Web Worker running `inc`: replies in a microtask; ignores curio's control messages. */
class StubWorker implements Port {
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: unknown = null;
  onmessageerror: unknown = null;
  postMessage(data: unknown): void {
    if (typeof data !== "number") return;
    queueMicrotask(() => this.onmessage?.({ data: data + 1 }));
  }
  terminate(): void {}
}

function realWorker(): Port {
  const url = URL.createObjectURL(new Blob([SOURCE], { type: "text/javascript" }));
  const worker = new RealWorker(url, { type: "module" });
  const port = {
    onmessage: null as ((event: { data: unknown }) => void) | null,
    postMessage: (data: unknown) => worker.postMessage(data),
    terminate: () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
  worker.onmessage = (event) => port.onmessage?.(event);
  return port;
}

/** A promise per call, resolved by the reply (the raw pattern). */
function promiseCall(port: Port): Call {
  let reply: (value: number) => void = () => {};
  port.onmessage = (event) => reply(event.data as number);
  return (x) =>
    new Promise<number>((resolve) => {
      reply = resolve;
      port.postMessage(x);
    });
}

/** The calling task waits in a KernelQueue that the reply wakes. */
function trapCall(port: Port): Call {
  const waiting = new KernelQueue();
  port.onmessage = (event) => void _rescheduleTasks(waiting, 1, event.data);
  return (x) => {
    port.postMessage(x);
    return _waitOnQueue(waiting, "THREAD_WAIT") as Promise<number>;
  };
}

async function withPort<T>(make: () => Port, body: (port: Port) => Promise<T>): Promise<T> {
  const port = make();
  try {
    return await body(port);
  } finally {
    port.terminate();
  }
}

/** Runs `body` with `globalThis.Worker` replaced by the stub (curio's pool creates its workers then). */
async function stubbed<T>(body: () => Promise<T>): Promise<T> {
  (globalThis as { Worker: unknown }).Worker = StubWorker;
  try {
    return await body();
  } finally {
    globalThis.Worker = RealWorker;
  }
}

const rows: Array<{ title: string; calls: number; run: () => Promise<number> }> = [
  {
    title: "Worker: raw round trip",
    calls: CALLS,
    run: () => withPort(realWorker, (port) => loop(promiseCall(port), CALLS)),
  },
  {
    title: "Worker: raw, via _futureWait in a task",
    calls: CALLS,
    run: () =>
      run(() =>
        withPort(realWorker, (port) => {
          const call = promiseCall(port);
          return loop((x) => _futureWait(call(x)), CALLS);
        })
      ),
  },
  {
    title: "Worker: runInThread",
    calls: CALLS,
    run: () => run(() => loop((x) => runInThread(inc, x), CALLS)),
  },
  {
    title: "stub: raw promise round trip",
    calls: STUB_CALLS,
    run: () => withPort(() => new StubWorker(), (port) => loop(promiseCall(port), STUB_CALLS)),
  },
  {
    title: "stub: kernel trap (KernelQueue)",
    calls: STUB_CALLS,
    run: () =>
      run(() => withPort(() => new StubWorker(), (port) => loop(trapCall(port), STUB_CALLS))),
  },
  {
    title: "stub: runInThread",
    calls: STUB_CALLS,
    run: () => stubbed(() => run(() => loop((x) => runInThread(inc, x), STUB_CALLS))),
  },
];

const micros = rows.map(() => [] as number[]);
for (let round = 0; round <= rounds; round++) {
  // Round 0 warms up; each later round starts with a different row.
  for (let j = 0; j < rows.length; j++) {
    const i = (j + round) % rows.length;
    const ms = await rows[i]!.run();
    if (round > 0) micros[i]!.push((ms * 1000) / rows[i]!.calls);
  }
}
const us = micros.map(median);
const base = [us[0]!, us[0]!, us[0]!, us[3]!, us[3]!, us[3]!];
console.log(`${"".padEnd(40)}${"us/call".padStart(9)}${"+ us".padStart(9)}${"x raw".padStart(8)}`);
rows.forEach((row, i) => {
  console.log(
    `${row.title.padEnd(40)}${us[i]!.toFixed(2).padStart(9)}${
      (us[i]! - base[i]!).toFixed(2).padStart(9)
    }${(base[i]! / us[i]!).toFixed(2).padStart(8)}`,
  );
});
console.log(
  `median of ${rounds} alternating rounds; load average ${
    Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
  }`,
);
