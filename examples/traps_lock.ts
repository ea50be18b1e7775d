/**
 * Build your own primitive: the manual's Lock, written with the low-level
 * traps `_waitOnQueue` and `_rescheduleTasks`, used exactly like `Lock`
 * (FIFO waiters, direct hand-off). Three tasks take turns with it.
 *
 * `deno run -A examples/traps_lock.ts`
 *
 * @module
 */
import { run, sleep, spawn } from "@curio/curio";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";

class MyLock {
  #acquired = false;
  #waiting = new KernelQueue();

  async acquire(): Promise<void> {
    if (this.#acquired) await _waitOnQueue(this.#waiting, "LOCK_ACQUIRE");
    this.#acquired = true;
  }

  async release(): Promise<void> {
    if (this.#waiting.length > 0) await _rescheduleTasks(this.#waiting, 1);
    else this.#acquired = false;
  }

  locked(): boolean {
    return this.#acquired;
  }
}

async function worker(lck: MyLock, name: string): Promise<void> {
  for (let round = 1; round <= 2; round++) {
    await lck.acquire();
    try {
      console.log(`${name} has the lock (round ${round})`);
      await sleep(0.05);
    } finally {
      console.log(`${name} releases it`);
      await lck.release();
    }
  }
}

async function main(): Promise<void> {
  const lck = new MyLock();
  const tasks = [];
  for (const name of ["a", "b", "c"]) tasks.push(await spawn(() => worker(lck, name), { name }));
  await sleep(0.01);
  console.log("waiting tasks:", tasks.map((t) => `${t.name}=${t.state}`).join(" "));
  for (const t of tasks) await t.join();
  console.log("lock free at the end:", !lck.locked());
}

await run(main);
