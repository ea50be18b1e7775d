// Shared helpers for the sync tests.

import { MockClock, sleep } from "@curio/curio";

/** Kernel options with a virtual clock that jumps as soon as every task is blocked. */
export function virtual(): { clock: MockClock; logErrors: boolean } {
  return { clock: new MockClock({ autojump: 0 }), logErrors: false };
}

/** Lets other tasks run (sleep(0)) until `condition()` holds; fails after 100 rounds. */
export async function until(condition: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (condition()) return;
    await sleep(0);
  }
  throw new Error(`Gave up waiting for ${what}`);
}
