// Kernel benchmarks: each curio operation is paired with its raw-Deno
// equivalent in the same group, the raw one as the baseline, so
// `deno task bench` prints how far from raw promises the kernel is.
//
// Each iteration is a whole workload (20k tasks, 20k timeouts, ...), so the
// iteration counts are kept small to finish in seconds.

import * as raw from "./_raw.ts";
import * as curio from "./_curio.ts";
import { SIZES } from "./_sizes.ts";

const api = await curio.loadCurio();
const opts = { n: 10, warmup: 2 };

Deno.bench({
  name: `raw: ${SIZES.spawn} async calls, awaited`,
  group: "spawn+join",
  baseline: true,
  ...opts,
  fn: async () => {
    await raw.spawnJoin();
  },
});

Deno.bench({
  name: `raw floor: ${SIZES.spawn} task records entered with AsyncLocalStorage.run, awaited`,
  group: "spawn+join",
  ...opts,
  fn: async () => {
    await raw.spawnJoinAls();
  },
});

Deno.bench({
  name: `curio: spawn + join ${SIZES.spawn} tasks`,
  group: "spawn+join",
  ...opts,
  fn: async () => {
    await curio.spawnJoin(api);
  },
});

Deno.bench({
  name: `raw: ${SIZES.spawn} async calls that await null once`,
  group: "spawn+join, tasks that yield once",
  baseline: true,
  ...opts,
  fn: async () => {
    await raw.spawnJoinYield();
  },
});

Deno.bench({
  name: `curio: spawn + join ${SIZES.spawn} tasks that sleep(0) once`,
  group: "spawn+join, tasks that yield once",
  ...opts,
  fn: async () => {
    await curio.spawnJoinYield(api);
  },
});

Deno.bench({
  name: `raw: ${SIZES.timeouts} setTimeout/clearTimeout around an await`,
  group: "timeouts",
  baseline: true,
  ...opts,
  fn: async () => {
    await raw.timeouts();
  },
});

Deno.bench({
  name: `curio: ${SIZES.timeouts} tasks, timeoutAfter(10) around sleep(0)`,
  group: "timeouts",
  ...opts,
  fn: async () => {
    await curio.timeouts(api);
  },
});

Deno.bench({
  name: `raw: ${SIZES.sleepers} concurrent setTimeout(1 ms) promises`,
  group: "sleeping tasks",
  baseline: true,
  ...opts,
  fn: async () => {
    await raw.sleepers();
  },
});

Deno.bench({
  name: `curio: ${SIZES.sleepers} tasks in sleep(0.001)`,
  group: "sleeping tasks",
  ...opts,
  fn: async () => {
    await curio.sleepers(api);
  },
});

Deno.bench({
  name: `raw: 2 x ${SIZES.switches} awaits of null`,
  group: "sleep(0) switches",
  baseline: true,
  ...opts,
  fn: async () => {
    await raw.switches();
  },
});

Deno.bench({
  name: `curio: 2 tasks x ${SIZES.switches} sleep(0)`,
  group: "sleep(0) switches",
  ...opts,
  fn: async () => {
    await curio.switches(api);
  },
});
