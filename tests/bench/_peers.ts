// The benchmark workloads on the JS peers: Effection 4 (generators) and
// Effect 4 (fibers). Each function runs one round and returns the
// milliseconds it took. Rows a peer has no API for are left out (see
// compare.ts for the notes printed with the table).
//
// The peers are benchmark-only dependencies, so they are not in deno.json's
// import map: checking or testing curio must need nothing from the npm
// registry. `deno task check` leaves this file out; `deno task bench:compare`
// type-checks it, and compare.ts loads it only when a peer row runs. Their
// versions and hashes are pinned in tests/bench/peers.lock (passed with
// --lock by bench:compare), not in deno.lock: `deno task` installs every npm
// package deno.lock lists before it runs any task.

// deno-lint-ignore no-import-prefix
import * as effection from "npm:effection@4.1.1";
// deno-lint-ignore no-import-prefix
import { Effect, Fiber, Queue, Semaphore } from "npm:effect@4.1.0";
import type { PeerApi } from "./_peer_api.ts";
import { SIZES } from "./_sizes.ts";

function checkSum(sum: number, n: number, what: string): void {
  if (sum !== (n * (n - 1)) / 2) throw new Error(`Cannot check ${what}: wrong sum ${sum}`);
}

// --- Effection 4 -----------------------------------------------------------

/** Effection: spawn `n` trivial operations, then join each. */
export async function effectionSpawnJoin(n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const sum = await effection.run(function* () {
    const tasks: effection.Task<number>[] = [];
    for (let i = 0; i < n; i++) {
      tasks.push(
        yield* effection.spawn(function* () {
          return i;
        }),
      );
    }
    let sum = 0;
    for (const t of tasks) sum += yield* t;
    return sum;
  });
  checkSum(sum, n, "effectionSpawnJoin");
  return performance.now() - t0;
}

/**
 * Effection has no bounded queue: a data queue plus an acknowledgement queue
 * keep one item in flight, so each item is a task switch, as with `Queue(1)`.
 */
export async function effectionQueue(n = SIZES.queue): Promise<number> {
  const t0 = performance.now();
  const sum = await effection.run(function* () {
    const items = effection.createQueue<number, void>();
    const acks = effection.createQueue<void, void>();
    const producer = yield* effection.spawn(function* () {
      for (let i = 0; i < n; i++) {
        items.add(i);
        yield* acks.next();
      }
    });
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const next = yield* items.next();
      sum += next.value as number;
      acks.add();
    }
    yield* producer;
    return sum;
  });
  checkSum(sum, n, "effectionQueue");
  return performance.now() - t0;
}

/** Effection: `n` tasks each racing a quick call against a 10 s sleep. */
export async function effectionTimeouts(n = SIZES.timeouts): Promise<number> {
  const t0 = performance.now();
  await effection.run(function* () {
    const quick = (): effection.Operation<void> => effection.call(() => Promise.resolve());
    const tasks: effection.Task<void>[] = [];
    for (let i = 0; i < n; i++) {
      tasks.push(yield* effection.spawn(() => effection.race([quick(), effection.sleep(10_000)])));
    }
    for (const t of tasks) yield* t;
  });
  return performance.now() - t0;
}

/** Effection: `n` tasks each sleeping 1 ms. */
export async function effectionSleepers(n = SIZES.sleepers): Promise<number> {
  const t0 = performance.now();
  await effection.run(function* () {
    const tasks: effection.Task<void>[] = [];
    for (let i = 0; i < n; i++) tasks.push(yield* effection.spawn(() => effection.sleep(1)));
    for (const t of tasks) yield* t;
  });
  return performance.now() - t0;
}

/** Effection: start `n` tasks sleeping an hour, then call `measure`. */
export async function effectionStartSleepers(
  n: number,
  measure: () => Promise<void>,
): Promise<void> {
  await effection.run(function* () {
    for (let i = 0; i < n; i++) yield* effection.spawn(() => effection.sleep(3_600_000));
    yield* effection.sleep(1);
    yield* effection.call(measure);
  });
}

// --- Effect 4 --------------------------------------------------------------

/** Effect: fork `n` trivial fibers, then join each. */
export async function effectSpawnJoin(n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const sum = await Effect.runPromise(Effect.gen(function* () {
    const fibers: Fiber.Fiber<number>[] = [];
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(Effect.succeed(i)));
    let sum = 0;
    for (const f of fibers) sum += yield* Fiber.join(f);
    return sum;
  }));
  checkSum(sum, n, "effectSpawnJoin");
  return performance.now() - t0;
}

/** Effect: fork `n` fibers that each `Effect.yieldNow` once, then join each. */
export async function effectSpawnJoinYield(n = SIZES.spawn): Promise<number> {
  const t0 = performance.now();
  const sum = await Effect.runPromise(Effect.gen(function* () {
    const fibers: Fiber.Fiber<number>[] = [];
    for (let i = 0; i < n; i++) {
      fibers.push(yield* Effect.forkChild(Effect.as(Effect.yieldNow, i)));
    }
    let sum = 0;
    for (const f of fibers) sum += yield* Fiber.join(f);
    return sum;
  }));
  checkSum(sum, n, "effectSpawnJoinYield");
  return performance.now() - t0;
}

/** Effect: one producer, one consumer, `Queue.bounded(1)`. */
export async function effectQueue(n = SIZES.queue): Promise<number> {
  const t0 = performance.now();
  const sum = await Effect.runPromise(Effect.gen(function* () {
    const q = yield* Queue.bounded<number>(1);
    const producer = yield* Effect.forkChild(Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* Queue.offer(q, i);
    }));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += yield* Queue.take(q);
    yield* Fiber.join(producer);
    return sum;
  }));
  checkSum(sum, n, "effectQueue");
  return performance.now() - t0;
}

/** Effect: `tasks` fibers each take and release a one-permit Semaphore `rounds` times. */
export async function effectLock(
  tasks = SIZES.lockTasks,
  rounds = SIZES.lockRounds,
): Promise<number> {
  const t0 = performance.now();
  let inside = 0;
  await Effect.runPromise(Effect.gen(function* () {
    const sem = yield* Semaphore.make(1);
    const critical = sem.withPermits(1)(Effect.sync(() => {
      inside++;
    }));
    const fibers: Fiber.Fiber<void>[] = [];
    for (let i = 0; i < tasks; i++) {
      fibers.push(
        yield* Effect.forkChild(Effect.gen(function* () {
          for (let k = 0; k < rounds; k++) yield* critical;
        })),
      );
    }
    for (const f of fibers) yield* Fiber.join(f);
  }));
  if (inside !== tasks * rounds) throw new Error("Cannot check effectLock: wrong count");
  return performance.now() - t0;
}

/** Effect: `n` fibers each running `Effect.yieldNow` under a 10 s `Effect.timeout`. */
export async function effectTimeouts(n = SIZES.timeouts): Promise<number> {
  const t0 = performance.now();
  await Effect.runPromise(Effect.gen(function* () {
    const guarded = Effect.timeout(Effect.yieldNow, "10 seconds");
    const fibers: Fiber.Fiber<void, unknown>[] = [];
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(guarded));
    for (const f of fibers) yield* Fiber.join(f);
  }));
  return performance.now() - t0;
}

/** Effect: `n` fibers each sleeping 1 ms. */
export async function effectSleepers(n = SIZES.sleepers): Promise<number> {
  const t0 = performance.now();
  await Effect.runPromise(Effect.gen(function* () {
    const fibers: Fiber.Fiber<void>[] = [];
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(Effect.sleep("1 millis")));
    for (const f of fibers) yield* Fiber.join(f);
  }));
  return performance.now() - t0;
}

/** Effect: start `n` fibers sleeping an hour, then call `measure`. */
export async function effectStartSleepers(n: number, measure: () => Promise<void>): Promise<void> {
  await Effect.runPromise(Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* Effect.forkChild(Effect.sleep("1 hour"));
    yield* Effect.sleep("1 millis");
    yield* Effect.promise(measure);
  }));
}

/** This module as compare.ts sees it (see _peer_api.ts). */
export const peers: PeerApi = {
  effectionSpawnJoin,
  effectionQueue,
  effectionTimeouts,
  effectionSleepers,
  effectionStartSleepers,
  effectSpawnJoin,
  effectSpawnJoinYield,
  effectQueue,
  effectLock,
  effectTimeouts,
  effectSleepers,
  effectStartSleepers,
};
