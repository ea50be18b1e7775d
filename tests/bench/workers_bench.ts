// Worker benchmarks: runInThread of a trivial function against a raw Web
// Worker postMessage round trip (the baseline), 10k sequential calls each;
// runInProcess of the same function, 1k sequential calls.
//
// Worker and process start-up is excluded (b.start() after a warm-up call):
// what is measured is the per-call cost on a warm pool. Calls per second =
// calls / (time per iteration).

import { run, runInProcess, runInThread } from "@curio/curio";

const CALLS = 10_000;
const PROCESS_CALLS = 1_000;
const opts = { n: 5, warmup: 1 };
const echoSource = "self.onmessage = (e) => self.postMessage(e.data);";

Deno.bench({
  name: `raw: ${CALLS} Worker postMessage round trips`,
  group: "thread call",
  baseline: true,
  ...opts,
  fn: async (b) => {
    const worker = new Worker("data:text/javascript," + encodeURIComponent(echoSource), {
      type: "module",
    });
    let resolve: (value: unknown) => void = () => {};
    worker.onmessage = (e) => resolve(e.data);
    const call = (x: number) =>
      new Promise((r) => {
        resolve = r;
        worker.postMessage(x);
      });
    await call(-1);
    b.start();
    for (let i = 0; i < CALLS; i++) await call(i);
    b.end();
    worker.terminate();
  },
});

Deno.bench({
  name: `curio: ${CALLS} runInThread((x) => x, i)`,
  group: "thread call",
  ...opts,
  fn: async (b) => {
    const identity = (x: number) => x;
    await run(async () => {
      await runInThread(identity, -1);
      b.start();
      for (let i = 0; i < CALLS; i++) await runInThread(identity, i);
      b.end();
    });
  },
});

Deno.bench({
  name: `curio: ${PROCESS_CALLS} runInProcess((x) => x, i)`,
  group: "process call",
  ...opts,
  fn: async (b) => {
    const identity = (x: number) => x;
    await run(async () => {
      await runInProcess(identity, -1);
      b.start();
      for (let i = 0; i < PROCESS_CALLS; i++) await runInProcess(identity, i);
      b.end();
    });
  },
});

// `deno run --allow-all tests/bench/workers_bench.ts` alternates the raw and
// the curio loop, 5 rounds with fresh workers each, and prints the best
// rate of each: fairer than `deno bench` on a busy machine, where one group
// member runs all its iterations before the other starts.
if (import.meta.main) {
  const identity = (x: number) => x;
  let raw = 0;
  let curio = 0;
  for (let round = 0; round < 5; round++) {
    const worker = new Worker("data:text/javascript," + encodeURIComponent(echoSource), {
      type: "module",
    });
    let resolve: (value: unknown) => void = () => {};
    worker.onmessage = (e) => resolve(e.data);
    const call = (x: number) =>
      new Promise((r) => {
        resolve = r;
        worker.postMessage(x);
      });
    await call(-1);
    let started = performance.now();
    for (let i = 0; i < CALLS; i++) await call(i);
    raw = Math.max(raw, CALLS / ((performance.now() - started) / 1000));
    worker.terminate();
    await run(async () => {
      await runInThread(identity, -1);
      started = performance.now();
      for (let i = 0; i < CALLS; i++) await runInThread(identity, i);
      curio = Math.max(curio, CALLS / ((performance.now() - started) / 1000));
    });
  }
  const processRate = await run(async () => {
    await runInProcess(identity, -1);
    const started = performance.now();
    for (let i = 0; i < PROCESS_CALLS; i++) await runInProcess(identity, i);
    return PROCESS_CALLS / ((performance.now() - started) / 1000);
  });
  console.log(`raw Worker round trip: ${Math.round(raw)} calls/s`);
  console.log(
    `runInThread:           ${Math.round(curio)} calls/s (${(curio / raw).toFixed(2)}x raw)`,
  );
  console.log(`runInProcess:          ${Math.round(processRate)} calls/s`);
}
