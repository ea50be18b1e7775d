// Before/after of a change, in one run: the bench:compare workloads on two
// versions of this module (the working tree and another checkout) and on raw
// Deno, in alternating rounds; prints medians and ratios to raw.
//
//   git worktree add /tmp/before <rev>
//   deno run --allow-all tests/bench/before_after.ts --before=/tmp/before/mod.ts [--rounds=5]
//     [--rows=spawn,Queue]   (rows whose title contains one of the words)
//
// Alternating rounds keep a busy machine's noise from landing on one side.

import * as raw from "./_raw.ts";
import * as curio from "./_curio.ts";
import type { CurioApi } from "./_curio.ts";
import { SIZES } from "./_sizes.ts";
import { median } from "./_report.ts";

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const beforePath = arg("before");
if (beforePath === undefined) {
  throw new Error("Cannot compare: give the other version as --before=/path/to/mod.ts");
}
const rounds = Number(arg("rounds") ?? 5);
const only = arg("rows")?.split(",");
const after = await curio.loadCurio();
const before = await import(new URL(beforePath, `file://${Deno.cwd()}/`).href) as CurioApi;

type Row = {
  title: string;
  ops: number;
  raw: () => Promise<number>;
  curio: (c: CurioApi) => Promise<number>;
};

const rows: Row[] = [
  {
    title: "spawn+join",
    ops: SIZES.spawn,
    raw: () => raw.spawnJoin(),
    curio: (c) => curio.spawnJoin(c),
  },
  {
    title: "spawn+join (ALS floor)",
    ops: SIZES.spawn,
    raw: () => raw.spawnJoinAls(),
    curio: (c) => curio.spawnJoin(c),
  },
  {
    title: "spawn+join (yield once)",
    ops: SIZES.spawn,
    raw: () => raw.spawnJoinYield(),
    curio: (c) => curio.spawnJoinYield(c),
  },
  {
    title: "Queue(1) items",
    ops: SIZES.queue,
    raw: () => raw.queue(),
    curio: (c) => curio.queue(c),
  },
  {
    title: "Lock acquire/release",
    ops: SIZES.lockTasks * SIZES.lockRounds,
    raw: () => raw.lock(),
    curio: (c) => curio.lock(c),
  },
  {
    title: "timeouts",
    ops: SIZES.timeouts,
    raw: () => raw.timeouts(),
    curio: (c) => curio.timeouts(c),
  },
  {
    title: "sleepers 1 ms",
    ops: SIZES.sleepers,
    raw: () => raw.sleepers(),
    curio: (c) => curio.sleepers(c),
  },
  {
    title: "sleep(0) switches",
    ops: 2 * SIZES.switches,
    raw: () => raw.switches(),
    curio: (c) => curio.switches(c),
  },
  {
    title: "echo 64 B, 1 conn",
    ops: SIZES.echo1,
    raw: () => raw.echo(1, SIZES.echo1),
    curio: (c) => curio.echo(c, 1, SIZES.echo1),
  },
  {
    title: "echo 64 B, 50 conns",
    ops: 50 * SIZES.echo50,
    raw: () => raw.echo(50, SIZES.echo50),
    curio: (c) => curio.echo(c, 50, SIZES.echo50),
  },
  {
    title: "runInThread calls",
    ops: SIZES.thread,
    raw: () => raw.thread(),
    curio: (c) => curio.thread(c),
  },
];

const rate = (ops: number, ms: number): string =>
  Math.round(ops / (ms / 1000)).toLocaleString("en-US").padStart(12);

console.log(
  `${"row".padEnd(26)}${"raw /s".padStart(12)}${"before /s".padStart(12)}${
    "after /s".padStart(12)
  }  before  after (x raw)`,
);
for (const row of rows) {
  if (only !== undefined && !only.some((word) => row.title.includes(word))) continue;
  const times = { raw: [] as number[], before: [] as number[], after: [] as number[] };
  await row.raw(); // warm-up
  await row.curio(before);
  await row.curio(after);
  for (let i = 0; i < rounds; i++) {
    // Each side goes first in every other round: the garbage one side
    // leaves is collected while the next one runs.
    times.raw.push(await row.raw());
    if (i % 2 === 0) {
      times.before.push(await row.curio(before));
      times.after.push(await row.curio(after));
    } else {
      times.after.push(await row.curio(after));
      times.before.push(await row.curio(before));
    }
  }
  const [r, b, a] = [median(times.raw), median(times.before), median(times.after)];
  console.log(
    `${row.title.padEnd(26)}${rate(row.ops, r)}${rate(row.ops, b)}${rate(row.ops, a)}  ${
      (r / b).toFixed(2).padStart(6)
    }  ${(r / a).toFixed(2).padStart(5)}`,
  );
}
