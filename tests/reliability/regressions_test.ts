// Regression tests for bugs the sweep and the fuzz found. Each names the
// scenario that found it.

import assert from "node:assert/strict";
import { clock, MockClock, run, sleep, spawn } from "@curio/curio";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";

/** Runs `main` under MockClock autojump, failing (not hanging) if it wedges. */
async function within<T>(ms: number, main: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`wedged: no progress within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(main, { clock: new MockClock({ autojump: 0 }) }), wedged]);
  } finally {
    clearTimeout(timer);
  }
}

// Found by the "Promise.all" sweep: MockClock's autojump looked for idleness
// only when a task blocked anew, so a task still blocked in a second trap
// after its first one fired left virtual time frozen forever.
Deno.test("MockClock autojump: Promise.all of two sleeps does not wedge", async () => {
  const now = await within(3000, async () => {
    await Promise.all([sleep(1), sleep(2)]);
    return await clock();
  });
  assert.equal(now, 2);
});

Deno.test("MockClock autojump: a task woken in one trap and asleep in another goes on", async () => {
  const now = await within(3000, async () => {
    const q = new KernelQueue();
    await spawn(async () => {
      await sleep(1);
      await _rescheduleTasks(q, 1, "item");
    });
    const [item] = await Promise.all([_waitOnQueue(q, "W"), sleep(5)]);
    assert.equal(item, "item");
    return await clock();
  });
  assert.equal(now, 5);
});
