/**
 * Lock: the parent holds the lock; the child it spawns gets it only once the
 * parent lets go (the manual's Lock example). `await using _ = await
 * lck.acquire()` is curio's `async with lck:`.
 *
 * `deno run -A examples/lock.ts`
 *
 * @module
 */
import { Lock, run, sleep, spawn } from "@curio/curio";

async function child(lck: Lock): Promise<void> {
  console.log("Child wants the lock");
  await using _ = await lck.acquire();
  console.log("Child has the lock");
}

async function main(): Promise<void> {
  const lck = new Lock();
  await using _ = await lck.acquire();
  console.log("Parent has the lock");
  await spawn(() => child(lck));
  await sleep(0.1);
  console.log("Parent releases the lock");
}

await run(main);
