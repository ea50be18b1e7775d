// How both sides wait on a word of shared memory. A worker thread may block
// (Atomics.wait, up to a deadline); a kernel task must not, so it parks on
// Atomics.waitAsync through the kernel (cancellable, and at most POLL_MS
// long, so a cancelled wait lingers no longer than that), and holds the
// process open meanwhile (Deno does not count a waitAsync as pending work).

import { _futureWait } from "../kernel/traps.ts";
import { hold, unhold } from "./_keepalive.ts";

/** Longest single `Atomics.waitAsync` (ms): a safety net, and how long a cancelled wait lingers. */
const POLL_MS = 200;

/** The `performance.now()` deadline of a timeout in seconds (none: Infinity). */
export function deadlineOf(timeout: number | undefined, what: string): number {
  if (timeout === undefined || timeout === null || timeout < 0) return Infinity;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`Cannot ${what}: timeout must be a number of seconds`);
  }
  return performance.now() + timeout * 1000;
}

/** Milliseconds left until `deadline`, at least 0. */
export function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

/**
 * Parks the calling task (never the kernel) until `i32[index]` is no longer
 * `expected` (or the poll interval passes).
 */
export async function waitWord(
  i32: Int32Array,
  index: number,
  expected: number,
  state: string,
): Promise<void> {
  const result = Atomics.waitAsync(i32, index, expected, POLL_MS);
  if (!result.async) return;
  hold();
  try {
    await _futureWait(result.value, state);
  } finally {
    unhold();
  }
}
