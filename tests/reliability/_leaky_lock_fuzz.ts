// Runs the fuzz over a lock that hands itself to cancelled waiters, and
// prints the failures as JSON. fuzz_test.ts runs this in a child process:
// the fuzz gives up on a run that wedges past its real-time limit, and a
// kernel given up on that way still holds what it opened (the loopback pair
// it steps aside with); in a process of its own it goes away with it.

import { _futureWait } from "@curio/curio/traps";
import { fuzz } from "./_fuzz.ts";

/** Waiters as plain promise resolvers: a cancelled waiter stays listed and
 * release() hands the lock to it, so the lock is lost for good. */
class LeakyLock {
  held = false;
  waiters: Array<() => void> = [];
  async acquire(): Promise<void> {
    if (this.held) await _futureWait(new Promise<void>((r) => this.waiters.push(r)));
    this.held = true;
  }
  async release(): Promise<void> {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.held = false;
  }
  locked(): boolean {
    return this.held;
  }
}

const { failures } = await fuzz(1, 50, { makeLock: () => new LeakyLock(), realLimitMs: 2000 });
console.log(JSON.stringify(failures));
Deno.exit(0); // do not wait for kernels the fuzz gave up on
