// Random cancellation fuzz and schedule exploration: many tasks doing random
// mixes of queue, lock, semaphore, condition, event and sleep operations,
// often under random (sometimes nested) timeouts, while a chaos task cancels
// random tasks. Each iteration is one kernel run under MockClock and a seeded
// schedule (`schedule: { seed }`: the kernel picks a random ready task at each
// switch), so the same seed replays the same interleaving exactly
// (CURIO_FUZZ_SEED), and many seeds explore many interleavings, including
// several wakes meeting in one cycle. The queue under test is a Queue,
// PriorityQueue or LifoQueue of size 1 to 3, drawn per seed.
//
// Invariants: while the run goes on, a checker task looks at every task it
// can see: no putter blocked while the queue has room, no getter blocked
// while items wait, at most one lock holder, permits never exceeded; and
// between operations each worker checks that no other worker runs while it
// holds the kernel (API.md rule 1). After
// the run: nothing lost or duplicated (items in = items out + items queued),
// nobody hung, every finally ran, the primitives are back at rest.

import {
  BoundedSemaphore,
  CancelledError,
  Condition,
  currentTask,
  Event,
  ignoreAfter,
  LifoQueue,
  Lock,
  MockClock,
  PriorityQueue,
  Queue,
  run,
  Semaphore,
  sleep,
  spawn,
  type Task,
  TaskGroup,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** A duration in seconds: 0 (a yield) a quarter of the time, else up to `max`. */
  duration(max: number): number {
    return this.chance(0.25) ? 0 : Math.round(this.next() * max * 100) / 100;
  }
}

/** Knobs of one fuzz iteration. */
export interface FuzzOptions {
  workers?: number;
  opsPerWorker?: number;
  chaosStrikes?: number;
  /** Real milliseconds before a run counts as wedged. */
  realLimitMs?: number;
  /** Makes the lock under test (default `new Lock()`); the self-test passes a broken one. */
  makeLock?: () => FuzzLock;
  /** Makes the queue under test (default: drawn from the seed); the self-test passes a broken one. */
  makeQueue?: (maxsize: number) => FuzzQueue;
}

/** What the fuzz needs of a queue. */
export interface FuzzQueue {
  put(item: string): Promise<void>;
  get(): Promise<string>;
  full(): boolean;
  empty(): boolean;
  qsize(): number;
}

/** What the fuzz needs of a lock. */
export interface FuzzLock {
  acquire(): Promise<unknown>;
  release(): Promise<void>;
  locked(): boolean;
}

/** What one iteration did, and what went wrong. */
export interface FuzzResult {
  seed: number;
  problems: string[];
  ops: number;
  cancels: number;
  timeouts: number;
}

const OPS = [
  "lock",
  "sem",
  "bsem",
  "condPut",
  "condTake",
  "qPut",
  "qPutPair",
  "qGet",
  "evtWait",
  "evtSet",
  "sleep",
  "group",
  "groupAny",
  "child",
  "semPair",
  "selfCancel",
] as const;
type Op = typeof OPS[number];

/** Virtual seconds after which the watchdog reports a run as hung. */
const HUNG_AFTER = 1_000;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Runs one seeded iteration and returns what went wrong (nothing, ideally). */
export async function fuzzOnce(seed: number, options: FuzzOptions = {}): Promise<FuzzResult> {
  const rng = new Rng(seed);
  const nWorkers = options.workers ?? 6;
  const nOps = options.opsPerWorker ?? 10;
  const strikes = options.chaosStrikes ?? 4;
  const realLimitMs = options.realLimitMs ?? 5000;
  const problems: string[] = [];
  const result: FuzzResult = { seed, problems, ops: 0, cancels: 0, timeouts: 0 };
  const maxsize = 1 + rng.int(3);
  const kind = rng.pick(["Queue", "PriorityQueue", "LifoQueue"] as const);

  const lock: FuzzLock = options.makeLock?.() ?? new Lock();
  const sem = new Semaphore(2);
  const bsem = new BoundedSemaphore(2);
  const cond = new Condition();
  const queue: FuzzQueue = options.makeQueue?.(maxsize) ??
    (kind === "PriorityQueue"
      ? new PriorityQueue<string>(maxsize)
      : kind === "LifoQueue"
      ? new LifoQueue<string>(maxsize)
      : new Queue<string>(maxsize));
  const event = new Event();
  const holders = { lock: 0, sem: 0, bsem: 0 };
  let condCount = 0;
  let condPuts = 0;
  let condTakes = 0;
  const delivered: string[] = [];
  /** Workers inside a qPutPair (see checkQueue). */
  const pairPutters = new Set<number>();
  const received: string[] = [];
  let openGuards = 0;
  const workers: Task[] = [];

  const hold = async (
    name: keyof typeof holders,
    prim: { acquire(): Promise<unknown>; release(): Promise<void> },
    max: number,
    work: number,
  ): Promise<void> => {
    await prim.acquire();
    openGuards++;
    try {
      holders[name]++;
      if (holders[name] > max) problems.push(`${holders[name]} holders of ${name} (max ${max})`);
      await sleep(work);
    } finally {
      holders[name]--;
      await prim.release();
      openGuards--;
    }
  };

  /** Runs `body` in a TaskGroup scope; no member it lists may outlive the scope. */
  const scoped = async (
    wait: "all" | "any",
    body: (g: TaskGroup, members: Task[]) => Promise<void>,
  ): Promise<void> => {
    const members: Task[] = [];
    try {
      await TaskGroup.scope((g) => body(g, members), { wait });
    } finally {
      if (members.some((m) => !m.terminated)) {
        problems.push(`a TaskGroup(${wait}) member outlived its scope`);
      }
    }
  };

  const perform = async (op: Op, me: number, n: number, work: number): Promise<void> => {
    switch (op) {
      case "lock":
        return await hold("lock", lock, 1, work);
      case "sem":
        return await hold("sem", sem, 2, work);
      case "bsem":
        return await hold("bsem", bsem, 2, work);
      case "condPut":
        await cond.acquire();
        try {
          condCount++;
          condPuts++;
          await cond.notify();
        } finally {
          await cond.release();
        }
        return;
      case "condTake":
        await cond.acquire();
        try {
          // Bounded: nobody may ever put again.
          const ok = await ignoreAfter(work + 1, () => cond.waitFor(() => condCount > 0), {
            timeoutResult: false,
          });
          if (ok) {
            condCount--;
            condTakes++;
          }
        } finally {
          await cond.release();
        }
        return;
      case "qPut": {
        const item = `${me}.${n}`;
        const done = await ignoreAfter(work + 1, async () => {
          await queue.put(item);
          delivered.push(item); // recorded where put() returned: nothing in between
          return true;
        }, { timeoutResult: false });
        void done;
        return;
      }
      case "qPutPair": {
        // Two puts awaited together: one task waiting on two traps, so a wake
        // can resume one of them while the task does not hold the kernel.
        const items = [`${me}.${n}a`, `${me}.${n}b`];
        pairPutters.add(me);
        try {
          await ignoreAfter(
            work + 1,
            () =>
              Promise.all(items.map((item) =>
                queue.put(item).then(() => {
                  delivered.push(item);
                })
              )),
          );
        } finally {
          pairPutters.delete(me);
        }
        return;
      }
      case "qGet":
        await ignoreAfter(work + 1, async () => {
          received.push(await queue.get());
        });
        return;
      case "evtWait":
        await ignoreAfter(work + 1, () => event.wait());
        return;
      case "evtSet":
        if (rng.chance(0.5)) event.clear();
        else await event.set();
        return;
      case "sleep":
        return await sleep(work);
      case "group":
        // Members that take the lock and the semaphore inside a scope: none
        // may outlive it, whatever cancels or timeouts hit the parent.
        return await scoped("all", async (g, members) => {
          members.push(await g.spawn(() => hold("lock", lock, 1, work / 2)));
          members.push(await g.spawn(() => hold("sem", sem, 2, work / 3)));
          await sleep(work / 4);
        });
      case "groupAny":
        // The first member to finish wins; the others are cancelled and
        // awaited before the scope returns, whatever hits the parent.
        return await scoped("any", async (g, members) => {
          members.push(await g.spawn(() => hold("lock", lock, 1, work)));
          members.push(await g.spawn(() => sleep(work / 2)));
          members.push(await g.spawn(() => ignoreAfter(work + 1, () => event.wait())));
        });
      case "child": {
        // A child of the worker's own, then joined, waited for or cancelled;
        // a cancel or timeout of the worker meanwhile must not leave it behind
        // holding anything (it is cancelled in the finally).
        // (What it holds follows from the plan, not from the PRNG: nothing
        // drawn during the run may depend on the interleaving.)
        const child = await spawn(
          () => (me + n) % 2 === 0 ? hold("lock", lock, 1, work) : hold("bsem", bsem, 2, work),
          { name: `child of ${me}` },
        );
        try {
          const how = n % 3;
          if (how === 0) await child.join().catch(() => {});
          else if (how === 1) await child.wait();
          else {
            await sleep(work / 2);
            await child.cancel();
          }
        } finally {
          if (!child.terminated) await child.cancel();
          if (!child.terminated) problems.push(`worker ${me}'s child outlived its cancel`);
        }
        return;
      }
      case "semPair": {
        // Two permits asked for at once: one task waiting on two traps. What
        // was granted is released, whatever a timeout or cancel interrupted.
        const asks = await Promise.allSettled([sem.acquire(), sem.acquire()]);
        const granted = asks.filter((a) => a.status === "fulfilled").length;
        holders.sem += granted;
        openGuards++;
        try {
          if (holders.sem > 2) problems.push(`${holders.sem} holders of sem (max 2)`);
          const failed = asks.find((a) => a.status === "rejected");
          if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
          await sleep(work);
        } finally {
          for (let i = 0; i < granted; i++) {
            holders.sem--;
            await sem.release();
          }
          openGuards--;
        }
        return;
      }
      case "selfCancel":
        await (await currentTask()).cancel();
        problems.push("a task that cancelled itself went on running");
        return;
    }
  };

  let queueProblems = 0;
  const checkQueue = (): void => {
    if (queueProblems > 0) return; // one report is enough
    const states = workers.map((t) => t.state);
    const putters = states.filter((s) => s === "QUEUE_PUT").length;
    const getters = states.filter((s) => s === "QUEUE_GET").length;
    const moving = states.filter((s) => s === "READY" || s === "RUNNING").length;
    // A worker putting two items at once may hold two granted slots while
    // moving, or one while it still waits in QUEUE_PUT for the other.
    const pairSlots =
      states.filter((s, w) =>
        pairPutters.has(w) && (s === "QUEUE_PUT" || s === "READY" || s === "RUNNING")
      ).length;
    if (putters > 0 && !queue.full()) {
      queueProblems++;
      problems.push(
        `${kind}(${maxsize}): ${putters} putter(s) blocked while the queue has room (qsize ${queue.qsize()})`,
      );
    }
    // A getter waits only on an empty queue; slots granted to putters that
    // have not run yet count in qsize(), hence the allowance.
    if (getters > 0 && queue.qsize() > moving + pairSlots) {
      queueProblems++;
      problems.push(
        `${kind}(${maxsize}): ${getters} getter(s) blocked while ${queue.qsize()} item(s) wait`,
      );
    }
  };

  // Rule 1: an await that does not block keeps the kernel, so no other
  // worker may run while a worker awaits currentTask().
  let running = -1;
  let overlaps = 0;
  const checkAlone = async (me: number, after: Op): Promise<void> => {
    running = me;
    await currentTask();
    if (running !== me && overlaps++ === 0) {
      problems.push(`worker ${running} ran while worker ${me} held the kernel (after ${after})`);
    }
  };

  const worker = (me: number, plan: Array<[Op, number, number, number]>) => async () => {
    openGuards++;
    try {
      for (let n = 0; n < plan.length; n++) {
        const [op, work, timeout, depth] = plan[n]!;
        result.ops++;
        checkQueue();
        if (n > 0) await checkAlone(me, plan[n - 1]![0]);
        if (depth === 0) {
          await perform(op, me, n, work);
          continue;
        }
        // Random, sometimes nested, timeouts around the operation.
        try {
          if (depth === 1) await timeoutAfter(timeout, () => perform(op, me, n, work));
          else {
            await timeoutAfter(
              timeout * 2,
              () =>
                timeoutAfter(timeout, () => perform(op, me, n, work)).catch((e) => {
                  if (e instanceof TaskTimeout) result.timeouts++;
                  else throw e;
                }),
            );
          }
        } catch (e) {
          if (e instanceof TaskTimeout) result.timeouts++;
          else throw e;
        }
      }
    } finally {
      openGuards--;
    }
  };

  // Plans are drawn before the run, so the kernel's interleaving cannot
  // change what the PRNG yields for the plans.
  const plans: Array<Array<[Op, number, number, number]>> = [];
  for (let w = 0; w < nWorkers; w++) {
    const plan: Array<[Op, number, number, number]> = [];
    for (let n = 0; n < nOps; n++) {
      const op = rng.chance(0.02) ? "selfCancel" : rng.pick(OPS.filter((o) => o !== "selfCancel"));
      const depth = rng.chance(0.5) ? 0 : rng.chance(0.7) ? 1 : 2;
      plan.push([op, rng.duration(2), rng.duration(2), depth]);
    }
    plans.push(plan);
  }
  const chaosPlan: Array<[number, number]> = [];
  for (let i = 0; i < strikes; i++) chaosPlan.push([rng.duration(3), rng.int(nWorkers)]);

  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<"wedged">((resolve) => {
    timer = setTimeout(() => resolve("wedged"), realLimitMs);
  });
  const clock = new MockClock({ autojump: 0 });
  try {
    const outcome = await Promise.race([
      run(async () => {
        const watchdog = await spawn(async () => {
          // Far beyond any plan's length (each operation takes at most a few
          // virtual seconds), and short enough that a hung run does not keep
          // the checker below going for long in real time.
          await sleep(HUNG_AFTER);
          const alive = workers.filter((t) => !t.terminated).map((t) => `${t.name}: ${t.state}`);
          problems.push(`hung after ${HUNG_AFTER} virtual seconds: ${alive.join(", ")}`);
          for (const t of workers) {
            if (!t.terminated) await spawn(() => t.cancel(), { daemon: true });
          }
        }, { daemon: true, name: "watchdog" });
        void watchdog;
        const checker = await spawn(async () => {
          // Runs between other tasks' operations, every 0.05 virtual seconds.
          for (;;) {
            await sleep(0.05);
            checkQueue();
          }
        }, { daemon: true, name: "checker" });
        void checker;
        for (let w = 0; w < nWorkers; w++) {
          workers.push(await spawn(worker(w, plans[w]!), { name: `worker ${w}` }));
        }
        const chaos = await spawn(async () => {
          for (const [wait, target] of chaosPlan) {
            await sleep(wait);
            const t = workers[target]!;
            if (!t.terminated && (await t.cancel())) result.cancels++;
          }
        }, { name: "chaos" });
        for (const t of workers) await t.wait();
        await chaos.wait();
        // Drain: what is left in the queue was delivered but not received.
        while (!queue.empty()) received.push(await queue.get());
        for (const t of [...workers, chaos]) {
          const e = t.exception;
          if (e === undefined) continue;
          if (e instanceof CancelledError && e.constructor === CancelledError) continue;
          problems.push(`${t.name} ended with ${describe(e)}`);
        }
      }, { clock, logErrors: false, schedule: { seed } }).then(() => "done" as const, (e) => {
        problems.push(`run() rejected with ${describe(e)}`);
        return "done" as const;
      }),
      wedged,
    ]);
    if (outcome === "wedged") {
      problems.push(`wedged: run() did not return within ${realLimitMs} ms of real time`);
      return result;
    }
  } finally {
    clearTimeout(timer);
  }

  if (lock.locked()) problems.push("the Lock is still held");
  if (sem.value !== 2) problems.push(`the Semaphore has ${sem.value} permits, not 2`);
  if (bsem.value !== 2) problems.push(`the BoundedSemaphore has ${bsem.value} permits, not 2`);
  if (cond.locked()) problems.push("the Condition's lock is still held");
  if (condCount !== condPuts - condTakes || condCount < 0) {
    problems.push(`Condition count ${condCount} != ${condPuts} puts - ${condTakes} takes`);
  }
  for (const [name, n] of Object.entries(holders)) {
    if (n !== 0) problems.push(`${n} holders of ${name} left`);
  }
  if (openGuards !== 0) problems.push(`${openGuards} finally blocks never ran`);
  const sorted = (xs: string[]) => [...xs].sort().join(",");
  if (sorted(delivered) !== sorted(received)) {
    const lost = delivered.filter((x) => !received.includes(x));
    const extra = received.filter((x) => !delivered.includes(x));
    const dup = received.filter((x, i) => received.indexOf(x) !== i);
    problems.push(
      `Queue: lost ${JSON.stringify(lost)}, unexpected ${JSON.stringify(extra)}, duplicated ${
        JSON.stringify(dup)
      }`,
    );
  }
  return result;
}

/** Runs `iterations` seeds from `base`; returns the failures, each naming its seed. */
export async function fuzz(
  base: number,
  iterations: number,
  options: FuzzOptions = {},
): Promise<{ failures: string[]; ops: number; cancels: number; timeouts: number }> {
  const failures: string[] = [];
  const totals = { ops: 0, cancels: 0, timeouts: 0 };
  for (let i = 0; i < iterations; i++) {
    const seed = (base + i) >>> 0;
    const r = await fuzzOnce(seed, options);
    totals.ops += r.ops;
    totals.cancels += r.cancels;
    totals.timeouts += r.timeouts;
    if (r.problems.length > 0) failures.push(`seed ${seed}: ${r.problems.join("; ")}`);
  }
  return { failures, ...totals };
}
