// `deno task bench:compare`: the same workloads on curio, raw Deno,
// Effection 4 and Effect 4, in alternating rounds, reporting medians and
// ratios to raw. Writes docs/bench/results.md and docs/bench/chart.svg and
// prints the table; progress goes to stderr.
//
// Options: --rounds=N (default 7), --rows=spawn,queue,... (default all),
// --no-write (print only). Rows whose curio API has not landed are reported
// as "not available yet" rather than failing the run.
//
// Memory is measured in a fresh subprocess per implementation (this file
// with --memory-child=IMPL), with --expose-gc so the heap is collected
// before and after starting the sleeping tasks.

import * as raw from "./_raw.ts";
import * as curio from "./_curio.ts";
import type { CurioApi } from "./_curio.ts";
import { loadPeers } from "./_peer_api.ts";
import { SIZES } from "./_sizes.ts";
import {
  type Impl,
  IMPLS,
  markdown,
  median,
  quantile,
  type RowResult,
  svgChart,
  textTable,
} from "./_report.ts";

type Workload = () => Promise<number>;

/** Past this much time in one row, an implementation runs no further rounds. */
const ROW_BUDGET_MS = 8_000;
/**
 * Warm-up rounds per implementation and row, not measured: V8 optimizes a
 * kernel's many small functions over a few runs (curio's first Queue round
 * ran at 0.55-0.75 of its later ones), the same for every implementation.
 */
const WARMUPS = 2;
/** A warm-up round slower than this counts as a measured round. */
const SLOW_ROUND_MS = 2_000;

interface RowSpec {
  id: string;
  title: string;
  kind: "rate" | "bytes";
  unit: string;
  /** Operations per round (rate rows). */
  ops: number;
  /** Operations per round where an implementation runs a smaller workload. */
  opsFor?: Partial<Record<Impl, number>>;
  goal: string;
  /** What one round does. */
  what: string;
  /** curio exports the row needs. */
  needs: (keyof CurioApi)[];
  run: Partial<Record<Impl, Workload>>;
  notes: Partial<Record<Impl, string>>;
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function progress(message: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(message + "\n"));
}

// --- memory (child process side) -------------------------------------------

declare const gc: (() => void) | undefined;

function collect(): void {
  if (typeof gc !== "function") {
    throw new Error("Cannot measure memory: run with --v8-flags=--expose-gc");
  }
  gc();
  gc();
}

async function memoryChild(impl: Impl): Promise<void> {
  const n = SIZES.memory;
  let api: CurioApi | undefined;
  if (impl === "curio") api = await curio.loadCurio();
  collect();
  const before = Deno.memoryUsage();
  const measure = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    collect();
    const after = Deno.memoryUsage();
    const result = {
      heap: (after.heapUsed - before.heapUsed) / n,
      rss: (after.rss - before.rss) / n,
    };
    console.log(JSON.stringify(result));
    Deno.exit(0);
  };
  switch (impl) {
    case "raw":
      raw.startSleepers(n);
      await measure();
      break;
    case "curio":
      await curio.startSleepers(api!, n, measure);
      break;
    case "effection":
      await (await loadPeers()).effectionStartSleepers(n, measure);
      break;
    case "effect":
      await (await loadPeers()).effectStartSleepers(n, measure);
      break;
  }
}

async function memoryRound(impl: Impl): Promise<{ heap: number; rss: number }> {
  const config = new URL("../../deno.json", import.meta.url);
  // The peers' own lock file (see _peers.ts), so the module's deno.lock stays free of them.
  const lock = new URL("./peers.lock", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      "--config",
      config.pathname,
      `--lock=${lock.pathname}`,
      new URL(import.meta.url).pathname,
      `--memory-child=${impl}`,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || text === "") {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" ");
    throw new Error(`Cannot measure memory of ${impl}: ${err}`);
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

// --- rows ------------------------------------------------------------------

/** Effection's timeout and sleeper rows run this many tasks: 20k take minutes. */
const EFFECTION_SMALL = 2_000;

function rows(api: CurioApi | undefined): RowSpec[] {
  const c = api!;
  const noLock = "Effection 4 has no lock or semaphore";
  const noNet = "no TCP API in the library's core";
  const noThread = "no thread-offload API in the library's core";
  const noHttp = "no HTTP server in the library's core";
  return [
    {
      id: "spawn",
      what:
        "spawn N tasks that return at once, then join each; raw: start N async calls, then await each",
      title: `spawn+join ${SIZES.spawn / 1000}k tasks`,
      kind: "rate",
      unit: "tasks/s",
      ops: SIZES.spawn,
      goal: "≥ 0.30×",
      needs: ["run", "spawn"],
      run: {
        curio: () => curio.spawnJoin(c),
        raw: () => raw.spawnJoin(),
        effection: async () => (await loadPeers()).effectionSpawnJoin(),
        effect: async () => (await loadPeers()).effectSpawnJoin(),
      },
      notes: {},
    },
    {
      id: "spawnAls",
      what:
        "the spawn+join workload above; raw: the fair floor for a task that knows it is one (as currentTask() does): a record per task, entered with AsyncLocalStorage.run around a runner that awaits the body and keeps its outcome on the record, then joined by awaiting the runner and reading the record; the loop runs inside a parent record's context, as a task spawns its children (entering a context from inside another costs Deno about twice as much as from the root)",
      title: `spawn+join ${SIZES.spawn / 1000}k tasks, floor: AsyncLocalStorage.run`,
      kind: "rate",
      unit: "tasks/s",
      ops: SIZES.spawn,
      goal: "≥ 0.80×",
      needs: ["run", "spawn"],
      run: {
        curio: () => curio.spawnJoin(c),
        raw: () => raw.spawnJoinAls(),
      },
      notes: {
        raw:
          "a task record per call: AsyncLocalStorage.run(record, runner), outcome kept on the record",
        effection: "against the bare async call only (row above)",
        effect: "against the bare async call only (row above)",
      },
    },
    {
      id: "spawnYield",
      what:
        "spawn N tasks that each yield once (curio: sleep(0); Effect: Effect.yieldNow), then join each; raw: N async calls that each await null once",
      title: `spawn+join ${SIZES.spawn / 1000}k tasks that yield once`,
      kind: "rate",
      unit: "tasks/s",
      ops: SIZES.spawn,
      goal: "",
      needs: ["run", "spawn", "sleep"],
      run: {
        curio: () => curio.spawnJoinYield(c),
        raw: () => raw.spawnJoinYield(),
        effect: async () => (await loadPeers()).effectSpawnJoinYield(),
      },
      notes: { effection: "no yield-now operation (its sleep(0) is a host timer)" },
    },
    {
      id: "queue",
      what:
        "one producer task puts N items into a one-slot queue, the main task gets them (every put waits for the get); raw: the same on a promise-based bounded queue",
      title: `Queue, switch per item, ${SIZES.queue / 1000}k items`,
      kind: "rate",
      unit: "items/s",
      ops: SIZES.queue,
      goal: "≥ 0.50×",
      needs: ["Queue"],
      run: {
        curio: () => curio.queue(c),
        raw: () => raw.queue(),
        effection: async () => (await loadPeers()).effectionQueue(),
        effect: async () => (await loadPeers()).effectQueue(),
      },
      notes: {
        effection: "no bounded queue: a data queue plus an ack queue keep one item in flight",
      },
    },
    {
      id: "lock",
      what:
        "100 tasks each acquire and release one lock 500 times (FIFO hand-off under contention); raw: a promise-based FIFO lock",
      title: `Lock acquire/release, ${SIZES.lockTasks} tasks`,
      kind: "rate",
      unit: "acq/s",
      ops: SIZES.lockTasks * SIZES.lockRounds,
      goal: "≥ 1.0×",
      needs: ["Lock"],
      run: {
        curio: () => curio.lock(c),
        raw: () => raw.lock(),
        effect: async () => (await loadPeers()).effectLock(),
      },
      notes: { effection: noLock, effect: "Semaphore(1).withPermits(1)" },
    },
    {
      id: "timeouts",
      what:
        "N tasks each run a quick blocking operation under a 10 s timeout, so N timeouts are armed and cancelled; raw: a setTimeout and clearTimeout around an await per call",
      title: `${SIZES.timeouts / 1000}k concurrent timeouts`,
      kind: "rate",
      unit: "timeouts/s",
      ops: SIZES.timeouts,
      opsFor: { effection: EFFECTION_SMALL },
      goal: "≥ 1.0×",
      needs: ["run", "spawn", "timeoutAfter", "sleep"],
      run: {
        curio: () => curio.timeouts(c),
        raw: () => raw.timeouts(),
        effection: async () => (await loadPeers()).effectionTimeouts(EFFECTION_SMALL),
        effect: async () => (await loadPeers()).effectTimeouts(),
      },
      notes: {
        curio: "each task: timeoutAfter(10, () => sleep(0))",
        raw: "each call: setTimeout(10 s), await, clearTimeout",
        effection:
          `each task: race([call(resolved promise), sleep(10 s)]); ${EFFECTION_SMALL} tasks, not ${SIZES.timeouts} (too slow)`,
        effect: "each fiber: Effect.timeout(Effect.yieldNow, 10 s)",
      },
    },
    {
      id: "sleepers",
      what: "N tasks each sleep 1 ms, all at once; raw: N setTimeout(1 ms) promises",
      title: `${SIZES.sleepers / 1000}k tasks sleeping 1 ms`,
      kind: "rate",
      unit: "tasks/s",
      ops: SIZES.sleepers,
      opsFor: { effection: EFFECTION_SMALL },
      goal: "≥ 1.0×",
      needs: ["run", "spawn", "sleep"],
      run: {
        curio: () => curio.sleepers(c),
        raw: () => raw.sleepers(),
        effection: async () => (await loadPeers()).effectionSleepers(EFFECTION_SMALL),
        effect: async () => (await loadPeers()).effectSleepers(),
      },
      notes: { effection: `${EFFECTION_SMALL} tasks, not ${SIZES.sleepers} (too slow)` },
    },
    {
      id: "memory",
      what:
        "heap growth after starting 100k tasks that sleep an hour, divided by 100k (fresh process, forced GC before and after); raw: 100k async calls awaiting a setTimeout promise",
      title: `memory, ${SIZES.memory / 1000}k sleeping tasks`,
      kind: "bytes",
      unit: "B/task",
      ops: SIZES.memory,
      goal: "≤ raw",
      needs: ["run", "spawn", "sleep"],
      run: {},
      notes: {},
    },
    {
      id: "echo1",
      what:
        "one client connection sends 64 B and reads the echo, 5000 times, against an in-process echo server (curio: tcpServerSocket + runServer + openConnection; raw: Deno.listen/Deno.connect with conn.read/conn.write)",
      title: "TCP echo 64 B, 1 connection",
      kind: "rate",
      unit: "rt/s",
      ops: SIZES.echo1,
      goal: "≥ 0.85×",
      needs: ["tcpServerSocket", "runServer", "openConnection"],
      run: { curio: () => curio.echo(c, 1, SIZES.echo1), raw: () => raw.echo(1, SIZES.echo1) },
      notes: { effection: noNet, effect: noNet },
    },
    {
      id: "echo50",
      what:
        "50 client connections, 200 round trips of 64 B each, concurrently, same servers as above",
      title: "TCP echo 64 B, 50 connections",
      kind: "rate",
      unit: "rt/s",
      ops: 50 * SIZES.echo50,
      goal: "≥ 0.85×",
      needs: ["tcpServerSocket", "runServer", "openConnection"],
      run: { curio: () => curio.echo(c, 50, SIZES.echo50), raw: () => raw.echo(50, SIZES.echo50) },
      notes: { effection: noNet, effect: noNet },
    },
    {
      id: "http",
      what:
        `${SIZES.httpConns} keep-alive HTTP/1.1 connections from a client subprocess send ${SIZES.httpRequests} GETs each, one at a time per connection, to a server in this process answering "hello" (curio: httpServer, a task per request; raw: Deno.serve, same handler)`,
      title: `HTTP hello, ${SIZES.httpConns} keep-alive clients`,
      kind: "rate",
      unit: "req/s",
      ops: SIZES.httpConns * SIZES.httpRequests,
      goal: "≥ 0.85×",
      needs: ["httpServer"],
      run: { curio: () => curio.http(c), raw: () => raw.http() },
      notes: { effection: noHttp, effect: noHttp },
    },
    {
      id: "thread",
      what:
        "2000 sequential calls of a trivial function in a warm worker (curio: runInThread; raw: postMessage round trip to one Web Worker)",
      title: "runInThread, trivial calls",
      kind: "rate",
      unit: "calls/s",
      ops: SIZES.thread,
      goal: "≥ 0.80×",
      needs: ["runInThread"],
      run: { curio: () => curio.thread(c), raw: () => raw.thread() },
      notes: {
        raw: "one warm Web Worker, postMessage round trip",
        effection: noThread,
        effect: noThread,
      },
    },
  ];
}

async function machine(): Promise<string> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: keep "unknown CPU"
  }
  const cores = navigator.hardwareConcurrency;
  const load = Deno.loadavg()[0]!.toFixed(1);
  return `${cores} cores (nproc), ${cpu}, ${Deno.build.os}/${Deno.build.arch}; ` +
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}; ${new Date().toISOString().slice(0, 10)}; ` +
    `load average ${load} at the end`;
}

async function measureRow(spec: RowSpec, rounds: number): Promise<RowResult> {
  const result: RowResult = {
    title: spec.title,
    kind: spec.kind,
    unit: spec.unit,
    goal: spec.goal,
    values: {},
    notes: { ...spec.notes },
    what: spec.what,
  };
  const impls = IMPLS.filter((impl) =>
    spec.kind === "bytes" ? result.notes[impl] === undefined : spec.run[impl] !== undefined
  );
  /** Each implementation's measured value by round (a round may skip a slow one). */
  const samples = new Map<Impl, Map<number, number>>(impls.map((impl) => [impl, new Map()]));
  const failed = new Set<Impl>();
  const spent = new Map<Impl, number>(impls.map((impl) => [impl, 0]));
  const rss = new Map<Impl, number[]>(impls.map((impl) => [impl, []]));
  const warmups = spec.kind === "rate" ? WARMUPS : 0;
  const total = spec.kind === "bytes" ? Math.min(rounds, 3) : rounds + warmups;
  for (let round = 0; round < total; round++) {
    const warmup = round < warmups;
    // Alternate the order so no implementation always runs first.
    const order = impls.map((_, i) => impls[(i + round) % impls.length]!);
    for (const impl of order) {
      if (failed.has(impl)) continue;
      // A slow implementation gets fewer rounds, so the whole run stays short.
      if (spent.get(impl)! > ROW_BUDGET_MS && samples.get(impl)!.size > 0) continue;
      const t0 = performance.now();
      try {
        let value: number;
        if (spec.kind === "bytes") {
          const mem = await memoryRound(impl);
          value = mem.heap;
          rss.get(impl)!.push(mem.rss);
        } else {
          const ms = await spec.run[impl]!();
          value = ((spec.opsFor?.[impl] ?? spec.ops) / ms) * 1000;
        }
        spent.set(impl, spent.get(impl)! + performance.now() - t0);
        // A round this slow is warm by itself: keep it rather than run another.
        if (!warmup || performance.now() - t0 > SLOW_ROUND_MS) samples.get(impl)!.set(round, value);
        progress(
          `  ${spec.id} ${impl.padEnd(9)} ${
            warmup ? "warm-up" : `round ${round - warmups + 1}/${total - warmups}`
          }: ${
            spec.kind === "bytes"
              ? `${value.toFixed(0)} B/task`
              : `${value.toFixed(0)} ${spec.unit}`
          }`,
        );
      } catch (error) {
        failed.add(impl);
        const message = error instanceof Error ? error.message : String(error);
        result.notes[impl] = `failed: ${message.split("\n")[0]}`;
        progress(`  ${spec.id} ${impl}: failed: ${message}`);
      }
    }
  }
  const rawByRound = samples.get("raw") ?? new Map<number, number>();
  const perRound = [...samples.get("curio") ?? []].flatMap(([round, v]) => {
    const r = rawByRound.get(round);
    return r === undefined || r === 0 ? [] : [v / r];
  });
  if (spec.kind === "rate" && perRound.length >= 3 && !failed.has("curio")) {
    result.spread = [quantile(perRound, 0.25), quantile(perRound, 0.75)];
  }
  for (const [impl, byRound] of samples) {
    const values = [...byRound.values()];
    if (values.length > 0 && !failed.has(impl)) result.values[impl] = median(values);
    const r = rss.get(impl)!;
    if (r.length > 0) {
      const note = `RSS growth ${(median(r) / 1024).toFixed(2)} KB/task`;
      result.notes[impl] = result.notes[impl] ? `${result.notes[impl]}; ${note}` : note;
    }
    if (values.length > 0 && values.length < total - (spec.kind === "rate" ? 1 : 0)) {
      const note = `${values.length} round(s) only (slow)`;
      result.notes[impl] = result.notes[impl] ? `${result.notes[impl]}; ${note}` : note;
    }
  }
  return result;
}

async function main(): Promise<void> {
  const child = arg("memory-child");
  if (child !== undefined) {
    await memoryChild(child as Impl);
    return;
  }
  const rounds = Number(arg("rounds") ?? 7);
  const only = arg("rows")?.split(",");
  const write = !Deno.args.includes("--no-write");

  let api: CurioApi | undefined;
  let loadError = "";
  try {
    api = await curio.loadCurio();
  } catch (error) {
    loadError = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  }
  const specs = rows(api).filter((s) => only === undefined || only.includes(s.id));
  // Load the peers (from npm) before timing anything, and only if a row runs them.
  const peerImpls = ["effection", "effect"] as const;
  if (specs.some((s) => peerImpls.some((impl) => s.run[impl] !== undefined))) {
    progress("loading the peers (Effection, Effect)");
    try {
      await loadPeers();
    } catch (error) {
      const why = `not available: the peers failed to load (${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      })`;
      progress(`  ${why}`);
      for (const s of specs) {
        for (const impl of peerImpls) {
          if (s.run[impl] === undefined) continue;
          delete s.run[impl];
          s.notes[impl] = why;
        }
      }
    }
  }
  const results: RowResult[] = [];
  const started = performance.now();
  for (const [i, spec] of specs.entries()) {
    progress(`[${i + 1}/${specs.length}] ${spec.title}`);
    const lacking = api === undefined ? [] : curio.missing(api, spec.needs);
    if (api === undefined || lacking.length > 0) {
      const why = api === undefined
        ? `not available: @curio/curio failed to load (${loadError})`
        : `not available yet (mod.ts does not export ${lacking.join(", ")})`;
      delete spec.run.curio;
      spec.notes.curio = why;
      progress(`  curio: ${why}`);
    }
    results.push(await measureRow(spec, rounds));
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  progress(`done in ${seconds} s`);

  const where = await machine();
  const command = `deno task bench:compare${rounds === 7 ? "" : ` --rounds=${rounds}`}`;
  console.log(`\n${where}\n`);
  console.log(textTable(results));
  if (write) {
    const dir = new URL("../../docs/bench/", import.meta.url);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(new URL("results.md", dir), markdown(results, where, command));
    await Deno.writeTextFile(new URL("chart.svg", dir), svgChart(results, where));
    // Keep the generated files as `deno fmt --check` (deno task check) wants them.
    const files = ["results.md", "chart.svg"].map((f) => new URL(f, dir).pathname);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", ...files] }).output();
    console.log(`\nwrote docs/bench/results.md and docs/bench/chart.svg`);
  }
}

if (import.meta.main) await main();
