/**
 * Condition: a producer appends items and notifies; a consumer waits for
 * them (the manual's Condition example, 0.1 s between items instead of 1 s).
 *
 * `deno run -A examples/condition.ts`
 *
 * @module
 */
import { Condition, run, sleep, spawn } from "@curio/curio";

const items: number[] = [];

async function consumer(cond: Condition): Promise<void> {
  for (;;) {
    let item: number;
    {
      await using _ = await cond.acquire();
      while (items.length === 0) await cond.wait(); // Wait for items
      item = items.shift()!;
    }
    console.log("Got", item);
    if (item === 9) return;
  }
}

async function producer(cond: Condition): Promise<void> {
  for (let n = 0; n < 10; n++) {
    {
      await using _ = await cond.acquire();
      items.push(n);
      await cond.notify();
    }
    await sleep(0.1);
  }
}

async function main(): Promise<void> {
  const cond = new Condition();
  await spawn(() => producer(cond));
  await spawn(() => consumer(cond));
}

await run(main);
