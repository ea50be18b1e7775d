// Seeded random schedules: many tasks use a primitive while others cancel
// them or time them out at random moments. Afterwards the primitive must be
// back in its initial state, every unit accounted for, and nobody stuck.

import assert from "node:assert/strict";
import {
  CancelledError,
  Lock,
  MockClock,
  Queue,
  run,
  Semaphore,
  sleep,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks a delay: often 0 (same tick games), sometimes a little virtual time. */
function delay(rand: () => number): number {
  const r = rand();
  return r < 0.4 ? 0 : r < 0.8 ? 0.5 : 1 + Math.floor(rand() * 3);
}

/** Cancels random tasks of `tasks` at random moments until all have finished. */
async function chaos(rand: () => number, tasks: Task[]): Promise<void> {
  while (tasks.some((t) => !t.terminated)) {
    await sleep(delay(rand));
    const victim = tasks[Math.floor(rand() * tasks.length)]!;
    if (rand() < 0.3 && !victim.terminated) await victim.cancel();
  }
}

function expectedEnd(error: unknown): boolean {
  return error === undefined || error instanceof CancelledError;
}

for (let seed = 1; seed <= 20; seed++) {
  Deno.test(`Lock and Semaphore(3) under random cancels and timeouts (seed ${seed})`, async () => {
    const rand = rng(seed);
    await run(async () => {
      const lck = new Lock();
      const sema = new Semaphore(3);
      let inLock = 0;
      let inSema = 0;
      const tasks: Task[] = [];
      for (let i = 0; i < 12; i++) {
        const useLock = rand() < 0.5;
        const limit = delay(rand) + 0.25;
        const hold = delay(rand);
        tasks.push(
          await spawn(async () => {
            for (let round = 0; round < 4; round++) {
              const op = async () => {
                if (useLock) {
                  await using _ = await lck.acquire();
                  assert.equal(++inLock, 1, "two holders of the lock");
                  try {
                    await sleep(hold);
                  } finally {
                    inLock--;
                  }
                } else {
                  await using _ = await sema.acquire();
                  assert(++inSema <= 3, "more than three holders of the semaphore");
                  try {
                    await sleep(hold);
                  } finally {
                    inSema--;
                  }
                }
              };
              try {
                await timeoutAfter(limit, op);
              } catch (error) {
                if (!(error instanceof TaskTimeout)) throw error;
              }
            }
          }),
        );
      }
      await chaos(rand, tasks);
      for (const t of tasks) assert(expectedEnd(t.exception), String(t.exception));
      assert.equal(lck.locked(), false);
      assert.equal(sema.value, 3);
      assert.equal(inLock + inSema, 0);
    }, { clock: new MockClock({ autojump: 0 }) });
  });

  Deno.test(`Queue(2) under random cancels and timeouts (seed ${seed})`, async () => {
    const rand = rng(seed * 7919);
    await run(async () => {
      const q = new Queue<number>(2);
      const put: number[] = [];
      const got: number[] = [];
      let next = 0;
      const tasks: Task[] = [];
      for (let i = 0; i < 10; i++) {
        const producer = rand() < 0.5;
        const limit = delay(rand) + 0.25;
        tasks.push(
          await spawn(async () => {
            for (let round = 0; round < 5; round++) {
              try {
                if (producer) {
                  const item = next++;
                  await timeoutAfter(limit, () => q.put(item));
                  put.push(item); // put() returned: the item is in
                } else {
                  const item = await timeoutAfter(limit, () => q.get());
                  got.push(item); // get() returned: the item is ours
                  await q.taskDone();
                }
              } catch (error) {
                if (!(error instanceof TaskTimeout)) throw error;
              }
              await sleep(delay(rand));
            }
          }),
        );
      }
      await chaos(rand, tasks);
      for (const t of tasks) assert(expectedEnd(t.exception), String(t.exception));
      const rest: number[] = [];
      while (!q.empty()) rest.push(await q.get());
      // Every item whose put() returned was gotten or is still queued, exactly
      // once; no other item ever appeared (a cancelled put() put nothing).
      assert.deepEqual([...got, ...rest].sort((a, b) => a - b), put.sort((a, b) => a - b));
      for (const _ of rest) await q.taskDone();
      await timeoutAfter(1, () => q.join());
    }, { clock: new MockClock({ autojump: 0 }) });
  });
}
