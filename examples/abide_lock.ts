/**
 * The manual's first `abide` example: a thread and a task share a lock.
 *
 * The "thread" is a Web Worker (run by `runInThread`) that takes a
 * `SharedLock` with its blocking `acquire()`, like Python code takes a
 * `threading.Lock`; the task takes the same lock through `abide(lock)`,
 * which waits without blocking the kernel.
 *
 * `deno run examples/abide_lock.ts`
 *
 * @module
 */
import { abide, run, runInThread, SharedLock, sleep, spawn } from "@curio/curio";

// A curio task
async function child(lock: SharedLock): Promise<void> {
  await using _ = await abide(lock).acquire();
  console.log("Child has the lock");
}

// A thread (self-contained: it is sent to the worker as source)
function parent(lock: SharedLock): void {
  lock.acquire();
  try {
    console.log("Parent has the lock");
    const until = Date.now() + 200;
    while (Date.now() < until) { /* hold the lock for a while */ }
  } finally {
    lock.release();
  }
}

async function main(): Promise<void> {
  const lock = new SharedLock();
  const thread = await spawn(() => runInThread(parent, lock));
  while (!lock.locked()) await sleep(0.005); // let the thread take the lock first
  await child(lock);
  await thread.join();
}

await run(main);
