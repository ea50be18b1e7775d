// How much of curio's gap to raw Deno on TCP echo is the price of what curio
// promises, and how much is its own code? Five implementations of the
// bench:compare workload (50 connections, 200 round trips of 64 bytes each):
//
// - raw:         Deno.Conn read/write awaited directly (bench:compare's raw row);
// - cancellable: every read and write made cancellable the only way Deno
//                allows (a pending read or write cannot be aborted): a
//                promise of its own per operation, settled by the operation's
//                completion or, were there a cancel, by the cancel;
// - ordered:     the same, and woken operations resume one at a time in FIFO
//                order, each when the one running blocks again (API.md
//                "Scheduling" rule 1, nothing else of the kernel);
// - context:     the same, and each connection's code on each side runs in
//                an AsyncLocalStorage context of its own, as a task's body
//                does (so that `currentTask()` works across its awaits);
// - curio:       bench:compare's curio row.
//
// Each implementation runs in its own process (one process running several
// promise-heavy variants in turn slows the later ones), the processes
// alternate, and each process reports the median of 15 runs after 3 warm-ups.
//
// With --in-memory, every variant runs over in-memory connections instead
// (_memory_conn.ts: no syscalls, reads completing in batches per
// setImmediate), so what is left is each implementation's JavaScript: the
// way to see a change to curio's I/O path that the kernel's TCP time would
// hide in noise.
//
//   deno run --allow-all tests/bench/echo_floors.ts [--rounds=8] [--in-memory]

import * as raw from "./_raw.ts";
import * as curio from "./_curio.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { memoryPair } from "./_memory_conn.ts";

const CONNS = 50;
const ROUND_TRIPS = 200;
const VARIANTS = ["raw", "cancellable", "ordered", "context", "curio"] as const;
const IN_MEMORY = Deno.args.includes("--in-memory");
type Variant = typeof VARIANTS[number];

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

// --- the ordered floor's whole scheduler: a holder flag and a FIFO ---------

let ordered = false;
let holding = false;
const readyOps: Op[] = [];
let readyHead = 0;

/** An operation completed: it resumes now if nobody runs, else in its turn. */
function ready(op: Op): void {
  if (!ordered) return op.resume();
  if (holding) {
    readyOps.push(op);
    return;
  }
  holding = true;
  op.resume();
}

/** The running code blocked or ended: the next woken operation resumes. */
function blocked(): void {
  if (!ordered) return;
  if (readyHead < readyOps.length) {
    const op = readyOps[readyHead]!;
    readyOps[readyHead++] = undefined as unknown as Op;
    op.resume();
    return;
  }
  readyOps.length = 0;
  readyHead = 0;
  holding = false;
}

/**
 * One connection's pending operation (at most one at a time): a promise of
 * its own, which a cancel could reject (`cancel`) while Deno's read or write
 * goes on.
 */
class Op implements raw.EchoConn {
  #resolve: (n: number | null) => void = () => {};
  #value: number | null = null;
  cancel: (error: unknown) => void = () => {};

  constructor(readonly conn: raw.EchoConn) {}

  #completed = (n: number | null): void => {
    this.#value = n;
    ready(this);
  };

  #failed = (error: unknown): void => this.cancel(error);

  resume(): void {
    this.#resolve(this.#value);
  }

  #start(started: Promise<number | null>): Promise<number | null> {
    const { promise, resolve, reject } = Promise.withResolvers<number | null>();
    this.#resolve = resolve;
    this.cancel = reject;
    started.then(this.#completed, this.#failed);
    blocked();
    return promise;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#start(this.conn.read(buffer));
  }

  write(data: Uint8Array): Promise<number | null> {
    return this.#start(this.conn.write(data));
  }

  close(): void {
    this.conn.close();
  }

  /** The task that used this connection ends: it no longer holds the kernel. */
  ended(): void {
    blocked();
  }
}

/** A task record, as far as the context floor needs one. */
class Record {
  constructor(readonly id: number) {}
}

const context = new AsyncLocalStorage<Record>();
let records = 0;

/** Runs one connection's code in a context of its own, as a task's body runs. */
function inContext(body: () => Promise<void>): Promise<void> {
  return context.run(new Record(records++), body);
}

/**
 * The echo workload with cancellable operations; `inOrder` adds rule 1,
 * `withContext` a context per connection and side.
 */
function echoFloor(inOrder: boolean, withContext = false): Promise<number> {
  ordered = inOrder;
  const runner = withContext ? inContext : undefined;
  if (!IN_MEMORY) return raw.echo(CONNS, ROUND_TRIPS, (conn) => new Op(conn), runner);
  const pairs = memoryPairs().map(([server, client]) => [new Op(server), new Op(client)] as const);
  return raw.echoPairs(pairs, ROUND_TRIPS, runner);
}

function memoryPairs(): ReturnType<typeof memoryPair>[] {
  return Array.from({ length: CONNS }, memoryPair);
}

async function workload(variant: Variant): Promise<() => Promise<number>> {
  switch (variant) {
    case "raw":
      if (IN_MEMORY) return () => raw.echoPairs(memoryPairs(), ROUND_TRIPS);
      return () => raw.echo(CONNS, ROUND_TRIPS);
    case "cancellable":
      return () => echoFloor(false);
    case "ordered":
      return () => echoFloor(true);
    case "context":
      return () => echoFloor(true, true);
    case "curio": {
      const api = await curio.loadCurio();
      if (IN_MEMORY) {
        return () =>
          curio.echoPairs(api, memoryPairs() as unknown as [Deno.Conn, Deno.Conn][], ROUND_TRIPS);
      }
      return () => curio.echo(api, CONNS, ROUND_TRIPS);
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

const child = arg("variant") as Variant | undefined;
if (child !== undefined) {
  if (!VARIANTS.includes(child)) {
    throw new Error(`Cannot run variant ${child}: expected one of ${VARIANTS.join(", ")}`);
  }
  const run = await workload(child);
  for (let i = 0; i < 3; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < 15; i++) samples.push(await run());
  console.log(median(samples));
} else {
  const rounds = Number(arg("rounds") ?? 8);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Cannot run: --rounds must be a whole number >= 1, received ${rounds}`);
  }
  const results = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (const variant of VARIANTS) {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          import.meta.filename!,
          `--variant=${variant}`,
          ...(IN_MEMORY ? ["--in-memory"] : []),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (code !== 0) {
        throw new Error(`Cannot measure ${variant}: ${new TextDecoder().decode(stderr)}`);
      }
      const ms = Number(new TextDecoder().decode(stdout).trim());
      results.get(variant)!.push(ms);
      console.error(`round ${round + 1}/${rounds} ${variant}: ${ms.toFixed(1)} ms`);
    }
  }
  const rawMs = median(results.get("raw")!);
  const perRoundTrips = (ms: number): string => (ms * 10_000 / (CONNS * ROUND_TRIPS)).toFixed(1);
  console.log(
    `${
      IN_MEMORY ? "In-memory" : "TCP"
    } echo 64 B, ${CONNS} connections: ms per 10,000 round trips (median of ${rounds} processes)`,
  );
  for (const variant of VARIANTS) {
    const ms = median(results.get(variant)!);
    console.log(
      `${variant.padEnd(12)} ${perRoundTrips(ms).padStart(7)} ms  ${(rawMs / ms).toFixed(2)}x raw`,
    );
  }
}
