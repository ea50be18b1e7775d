/**
 * Tasks: spawn children, join one, cancel another (the manual's "Tasks"
 * section).
 *
 * `deno run examples/spawn.ts`
 *
 * @module
 */
import { CancelledError, run, sleep, spawn } from "@curio/curio";

async function countdown(n: number): Promise<string> {
  while (n > 0) {
    console.log("T-minus", n);
    await sleep(0.1);
    n--;
  }
  return "liftoff";
}

async function kid(): Promise<void> {
  try {
    console.log("kid: playing video games");
    await sleep(1000);
  } catch (e) {
    if (e instanceof CancelledError) console.log("kid: fine, I'm going to bed");
    throw e;
  }
}

async function main(): Promise<void> {
  const k = await spawn(kid, { name: "kid" });
  const c = await spawn(() => countdown(3), { name: "countdown" });
  console.log("countdown says:", await c.join());
  console.log("kid is", k.state, "after", k.cycles, "cycles");
  console.log("cancelled the kid:", await k.cancel());
  console.log("kid is", k.state);
}

await run(main);
