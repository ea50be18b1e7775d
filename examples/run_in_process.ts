/**
 * Work in warm `deno` child processes (the manual's "Performing External
 * Work"): several calls run in parallel processes, one is cancelled by a
 * timeout (its process gets SIGTERM), and the pool carries on.
 *
 * `deno run --allow-run examples/run_in_process.ts`
 *
 * @module
 */
import { ignoreAfter, run, runInProcess, spawn } from "@curio/curio";

function countPrimes(limit: number): { pid: number; primes: number } {
  let primes = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return { pid: Deno.pid, primes };
}

async function main(): Promise<void> {
  const tasks = [];
  for (const limit of [100_000, 200_000, 300_000]) {
    tasks.push(await spawn(() => runInProcess(countPrimes, limit)));
  }
  for (const t of tasks) {
    const { pid, primes } = await t.join();
    console.log(`process ${pid} found ${primes} primes`);
  }
  const forever = await ignoreAfter(0.2, () =>
    runInProcess(() => {
      for (;;) { /* spin until SIGTERM */ }
    }), { timeoutResult: "cancelled: its process was sent SIGTERM" });
  console.log("endless call", forever);
  console.log("the pool still works:", await runInProcess((a: number, b: number) => a + b, 2, 3));
}

await run(main);
