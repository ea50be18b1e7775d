/**
 * The manual's Signals section: wait for SIGUSR1/SIGHUP in a task, queue
 * signals that arrive while nobody waits, and ignore signals for a while.
 * The example sends the signals to itself, so it ends by itself.
 *
 * `deno run --allow-run examples/signal_set.ts`
 * (no permission is needed to listen for signals; sending them to ourselves
 * with `Deno.kill` needs `--allow-run`)
 *
 * @module
 */
import { run, SignalSet, sleep, spawn } from "@curio/curio";

async function coro(): Promise<void> {
  await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
  for (let i = 0; i < 3; i++) {
    const signo = await sigset.wait();
    console.log("Got signal", signo);
  }
}

async function main(): Promise<void> {
  const waiter = await spawn(coro);
  Deno.kill(Deno.pid, "SIGUSR1");
  await sleep(0.1);
  Deno.kill(Deno.pid, "SIGHUP");
  await sleep(0.1);
  Deno.kill(Deno.pid, "SIGUSR1");
  await waiter.join();

  // Signals temporarily disabled: SIGHUP would otherwise end the process.
  const sigset = new SignalSet("SIGHUP");
  {
    using _ = sigset.ignore();
    Deno.kill(Deno.pid, "SIGHUP");
    await sleep(0.1);
    console.log("SIGHUP ignored; still running");
  }
}

await run(main);
