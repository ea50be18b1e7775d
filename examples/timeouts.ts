/**
 * Timeouts: `timeoutAfter` raises TaskTimeout, `ignoreAfter` returns a
 * default instead (the manual's "Timeouts" section).
 *
 * `deno run examples/timeouts.ts`
 *
 * @module
 */
import { ignoreAfter, run, sleep, TaskTimeout, timeoutAfter } from "@curio/curio";

async function slowAnswer(seconds: number): Promise<number> {
  await sleep(seconds);
  return 42;
}

async function main(): Promise<void> {
  // Execute a call with a timeout.
  try {
    const result = await timeoutAfter(0.2, () => slowAnswer(1));
    console.log("result", result);
  } catch (e) {
    if (!(e instanceof TaskTimeout)) throw e;
    console.log("timeoutAfter: timed out, as expected");
  }

  // Execute several statements with one timeout.
  const fast = await timeoutAfter(1, async () => {
    const a = await slowAnswer(0.05);
    const b = await slowAnswer(0.05);
    return a + b;
  });
  console.log("both calls finished in time:", fast);

  // ignoreAfter returns a default instead of raising.
  const r = await ignoreAfter(0.1, () => slowAnswer(1), { timeoutResult: "too slow" });
  console.log("ignoreAfter:", r);
}

await run(main);
