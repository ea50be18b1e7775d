// A cancel and a deadline arriving in every order at every blocking point of
// a task's cleanup (issue 14): the cancellation is never lost, and an
// expired deadline is never left unenforced.
//
// The victim runs, under MockClock:
//
//   timeoutAfter(D, async () => {
//     try { await sleep(2) }                       // the body: t = 0 to 2
//     finally { cleanup: 3 x await sleep(1) }      // t = 2 to 5 (if not struck)
//   })
//
// with the cleanup either plain or inside an inner `ignoreAfter(100, ...)`
// block. A canceller calls `victim.cancel()` at time C. D and C each take
// every half second from 0.5 to 6 (plus "never"); when they coincide, both
// orders are run (the canceller's timer armed before or after the victim's
// deadline). Checked for each of the 2 x 2 x 13 x 13 runs:
// - a cancel that found the victim blocked, or after which the victim
//   blocked again, ends it cancelled: never with a TaskTimeout, never
//   normally. (A cancel landing at the very instant the victim's wait ended
//   finds a committed wake; if the victim then ends without blocking again,
//   it never sees the cancel: curio's rule too);
// - without a cancel, a deadline at or before the victim's natural end ends
//   it with TaskTimeout: its block never returns after its deadline;
// - otherwise it ends normally at t = 5;
// - the cleanup was entered, and the victim ended no later than its last
//   strike plus the cleanup's length (nobody hung).

import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  ignoreAfter,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

const TIMES = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, Infinity];
const NATURAL_END = 5;

interface Outcome {
  ended: number;
  error: unknown;
  cleanupEntered: boolean;
  cancelLanded: boolean;
  /** The victim's state when the cancel landed. */
  stateAtCancel: string;
}

async function strike(
  deadline: number,
  cancelAt: number,
  cancelFirst: boolean,
  innerBlock: boolean,
): Promise<Outcome> {
  const out: Outcome = {
    ended: -1,
    error: undefined,
    cleanupEntered: false,
    cancelLanded: false,
    stateAtCancel: "",
  };
  await run(async () => {
    const spawned: { victim?: Task } = {}; // the canceller may start first
    const canceller = async () => {
      if (cancelAt === Infinity) return;
      await sleep(cancelAt);
      const victim = spawned.victim;
      if (victim !== undefined && !victim.terminated) {
        out.cancelLanded = true;
        out.stateAtCancel = victim.state;
        await victim.cancel();
      }
    };
    const cleanup = async () => {
      out.cleanupEntered = true;
      for (let i = 0; i < 3; i++) await sleep(1);
    };
    const body = async () => {
      try {
        await sleep(2);
      } finally {
        if (innerBlock) await ignoreAfter(100, cleanup);
        else await cleanup();
      }
    };
    const first = cancelFirst ? await spawn(canceller) : undefined;
    const victim = await spawn(async () => {
      try {
        await (deadline === Infinity ? body() : timeoutAfter(deadline, body));
      } finally {
        out.ended = await clock();
      }
    });
    spawned.victim = victim;
    const second = cancelFirst ? undefined : await spawn(canceller);
    await victim.wait();
    out.error = victim.exception;
    await (first ?? second)!.join();
  }, { clock: new MockClock({ autojump: 0 }), logErrors: false });
  return out;
}

Deno.test("sweep: a cancel and a deadline at every point of a blocking cleanup, in both orders", async () => {
  const problems: string[] = [];
  let runs = 0;
  for (const innerBlock of [false, true]) {
    for (const deadline of TIMES) {
      for (const cancelAt of TIMES) {
        for (const cancelFirst of cancelAt === deadline ? [true, false] : [true]) {
          runs++;
          const o = await strike(deadline, cancelAt, cancelFirst, innerBlock);
          const what = `D=${deadline} C=${cancelAt}${
            cancelAt === deadline
              ? (cancelFirst ? " (cancel armed first)" : " (deadline armed first)")
              : ""
          }${innerBlock ? " cleanup in an inner block" : ""}`;
          const name = o.error === undefined ? "normal end" : (o.error as Error).constructor.name;
          if (!o.cleanupEntered) problems.push(`${what}: the cleanup never ran`);
          if (o.cancelLanded) {
            const seen = o.stateAtCancel !== "READY" || o.ended > cancelAt;
            if (seen && (!(o.error instanceof CancelledError) || o.error instanceof TaskTimeout)) {
              problems.push(
                `${what}: the cancel (victim ${o.stateAtCancel}) was lost (${name} at t=${o.ended})`,
              );
            }
          } else if (deadline <= NATURAL_END) {
            if (!(o.error instanceof TaskTimeout)) {
              problems.push(`${what}: the deadline went unenforced (${name} at t=${o.ended})`);
            }
          } else if (o.error !== undefined || o.ended !== NATURAL_END) {
            problems.push(`${what}: expected a normal end at t=5, got ${name} at t=${o.ended}`);
          }
          const lastStrike = Math.min(deadline, cancelAt, NATURAL_END);
          if (o.ended > Math.max(lastStrike, 2) + 3) {
            problems.push(`${what}: ended only at t=${o.ended}`);
          }
        }
      }
    }
  }
  assert.equal(runs, 2 * (13 * 13 + 13));
  assert.deepEqual(problems, [], `${problems.length} of ${runs} runs went wrong`);
});
