/**
 * CPU-heavy work in a thread (the manual's "Performing External Work"):
 * fib(33) runs in a Web Worker while a ticker task keeps ticking, because
 * the kernel is never blocked.
 *
 * `deno run examples/run_in_thread.ts`
 *
 * @module
 */
import { run, runInThread, sleep, spawn } from "@curio/curio";

// Sent to the worker as source: it must be self-contained.
function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

async function ticker(): Promise<void> {
  for (let n = 1;; n++) {
    console.log("tick", n);
    await sleep(0.05);
  }
}

async function main(): Promise<void> {
  const t = await spawn(ticker, { daemon: true });
  const result = await runInThread(fib, 33);
  console.log("fib(33) =", result);
  await t.cancel();
}

await run(main);
