/**
 * Semaphore: ten workers, two at a time (the manual's Semaphore example, 0.1 s
 * of work each instead of 5 s).
 *
 * `deno run -A examples/semaphore.ts`
 *
 * @module
 */
import { run, Semaphore, sleep, spawn } from "@curio/curio";

const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);

async function worker(sema: Semaphore, n: number): Promise<void> {
  await using _ = await sema.acquire();
  console.log(`${elapsed()}s: worker ${n} working`);
  await sleep(0.1);
}

async function main(): Promise<void> {
  const sema = new Semaphore(2); // Allow two tasks at a time

  // Launch a bunch of tasks
  for (let n = 0; n < 10; n++) {
    await spawn(() => worker(sema, n));
  }
  // From here on, two tasks at a time run, every 0.1 seconds.
}

await run(main);
