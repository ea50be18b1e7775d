// The cancellation sweep: for each primitive, a waiter is cancelled (or
// times out) at each moment it can be hit, and afterwards the counts are
// right and nobody hangs.
//
// Moments:
// - "while waiting": before anything is handed over;
// - "right after the hand-off": cancel requested in the same tick as the
//   wake-up, before the waiter's code resumes;
// - "a tick after the hand-off": the wake-up has been delivered to the
//   waiter's promise, its code has not run yet;
// - "timeout while waiting" and "timeout right after the hand-off" (the
//   waiter's deadline passes in the same tick it is woken).
// A waiter that got the lock/permit/item/slot holds it across a sleep (a
// cancellation point) and gives it back in `finally`; a second waiter must
// then be served.

import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  CancelledError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  MockClock,
  PriorityQueue,
  Queue,
  run,
  Semaphore,
  sleep,
  spawn,
  type Task,
  TaskError,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { until } from "./_util.ts";

interface Subject<C> {
  /** The wait state name of a blocked waiter. */
  state: string;
  /** Creates the primitive with nothing available to the waiters. */
  setup(): Promise<C>;
  /** What a waiter blocks in. */
  wait(ctx: C, who: string): Promise<unknown>;
  /** Makes one unit available (the first waiter gets it). */
  wake(ctx: C): Promise<unknown>;
  /** What a waiter that got a unit does when it is finished with it. */
  done(ctx: C, value: unknown): Promise<void>;
  /** Makes one more unit available when the first waiter consumed one. */
  refill?(ctx: C): Promise<unknown>;
  /** Checks the primitive's final state. */
  check(ctx: C, got: string[]): Promise<void>;
}

const lockSubject: Subject<Lock> = {
  state: "LOCK_ACQUIRE",
  async setup() {
    const lck = new Lock();
    await lck.acquire();
    return lck;
  },
  wait: (lck) => lck.acquire(),
  wake: (lck) => lck.release(),
  done: (lck) => lck.release(),
  async check(lck) {
    assert.equal(lck.locked(), false);
    await lck.acquire();
    await lck.release();
  },
};

function semaphoreSubject(make: () => Semaphore): Subject<Semaphore> {
  return {
    state: "SEMA_ACQUIRE",
    async setup() {
      const sema = make();
      await sema.acquire();
      return sema;
    },
    wait: (sema) => sema.acquire(),
    wake: (sema) => sema.release(),
    done: (sema) => sema.release(),
    async check(sema) {
      assert.equal(sema.value, 1);
      if (sema instanceof BoundedSemaphore) {
        await assert.rejects(sema.release(), /exceed its initial value/);
        assert.equal(sema.value, 1);
      }
    },
  };
}

const eventSubject: Subject<Event> = {
  state: "EVENT_WAIT",
  setup: async () => new Event(),
  wait: (evt) => evt.wait(),
  wake: (evt) => evt.set(),
  done: async () => {},
  async check(evt) {
    assert.equal(evt.isSet(), true);
  },
};

const conditionSubject: Subject<Condition> = {
  state: "COND_WAIT",
  setup: async () => new Condition(),
  async wait(cond) {
    await cond.acquire();
    try {
      await cond.wait();
    } catch (error) {
      assert.equal(cond.locked(), true, "wait() must re-acquire the lock before throwing");
      await cond.release();
      throw error;
    }
    assert.equal(cond.locked(), true);
  },
  async wake(cond) {
    await cond.acquire();
    await cond.notify();
    await sleep(0); // hold the lock a little: the notified waiter blocks re-acquiring it
    await cond.release();
  },
  async refill(cond) {
    await cond.acquire();
    await cond.notify();
    await cond.release();
  },
  done: (cond) => cond.release(),
  async check(cond) {
    assert.equal(cond.locked(), false);
  },
};

function getSubject(make: () => Queue<string>): Subject<Queue<string>> {
  return {
    state: "QUEUE_GET",
    setup: async () => make(),
    wait: (q) => q.get(),
    wake: (q) => q.put("item 1"),
    refill: (q) => q.put("item 2"),
    done: (q) => q.taskDone(),
    async check(q) {
      assert.equal(q.qsize(), 0);
      await timeoutAfter(1, () => q.join()); // every item handed out was marked done
    },
  };
}

const putSubject: Subject<Queue<string>> = {
  state: "QUEUE_PUT",
  async setup() {
    const q = new Queue<string>(1);
    await q.put("fill");
    return q;
  },
  wait: (q, who) => q.put(who),
  wake: (q) => q.get(),
  refill: (q) => q.get(),
  done: async () => {},
  async check(q) {
    assert.equal(q.qsize(), 1);
    assert.equal(await q.get(), "w2"); // w1's item (if it put one) went to wake/refill
    assert.equal(q.empty(), true);
  },
};

/**
 * Joins `task` within 100 s of virtual time; cancels it if that fails, so
 * that a hang shows up as a TaskTimeout instead of run() waiting forever.
 */
async function joinOrCancel(task: Task): Promise<void> {
  try {
    await timeoutAfter(100, () => task.join());
  } finally {
    await task.cancel();
  }
}

type Moment = "while waiting" | "right after the hand-off" | "a tick after the hand-off";
const moments: Moment[] = [
  "while waiting",
  "right after the hand-off",
  "a tick after the hand-off",
];

async function sweepCancel<C>(subject: Subject<C>, moment: Moment): Promise<void> {
  await run(async () => {
    const ctx = await subject.setup();
    const got: string[] = [];
    const w1 = await spawn(async () => {
      const value = await subject.wait(ctx, "w1");
      got.push("w1");
      try {
        await sleep(1); // the cancel lands here if the hand-off came first
      } finally {
        await subject.done(ctx, value);
      }
    });
    const w2 = await spawn(async () => {
      const value = await subject.wait(ctx, "w2");
      got.push("w2");
      await subject.done(ctx, value);
    });
    await until(() => w1.state === subject.state && w2.state === subject.state, "both waiting");
    let woken: Promise<unknown> = Promise.resolve();
    if (moment === "while waiting") {
      assert.equal(await w1.cancel(), true);
      woken = subject.wake(ctx);
    } else if (moment === "right after the hand-off") {
      woken = subject.wake(ctx);
      await w1.cancel();
    } else {
      await subject.wake(ctx);
      await w1.cancel();
    }
    await woken;
    const err = await w1.join().catch((e) => e);
    assert(err instanceof TaskError && err.cause instanceof CancelledError);
    if (moment === "while waiting") assert(!got.includes("w1"), "a cancelled waiter got a unit");
    if (got.includes("w1") && subject.refill) await subject.refill(ctx);
    await joinOrCancel(w2); // nobody hangs
    assert(got.includes("w2"));
    await subject.check(ctx, got);
  }, { clock: new MockClock({ autojump: 0 }), logErrors: false });
}

async function sweepTimeout<C>(subject: Subject<C>, atHandOff: boolean): Promise<void> {
  const clock = new MockClock({ autojump: 0 });
  await run(async () => {
    const ctx = await subject.setup();
    const got: string[] = [];
    const w1 = await spawn(async () => {
      const value = await timeoutAfter(5, () => subject.wait(ctx, "w1"));
      got.push("w1");
      try {
        await sleep(1);
      } finally {
        await subject.done(ctx, value);
      }
    });
    const w2 = await spawn(async () => {
      const value = await subject.wait(ctx, "w2");
      got.push("w2");
      await subject.done(ctx, value);
    });
    await until(() => w1.state === subject.state && w2.state === subject.state, "both waiting");
    if (atHandOff) {
      const woken = subject.wake(ctx);
      clock.jump(5); // w1's deadline passes in the very tick it was handed the unit
      await woken;
    } else {
      await sleep(10); // w1 times out while waiting
      assert.equal(w1.terminated, true);
      assert(!got.includes("w1"));
      await subject.wake(ctx);
    }
    const outcome = await w1.join().then(() => "ok", (e) => e);
    if (outcome !== "ok") {
      assert(outcome instanceof TaskError && outcome.cause instanceof TaskTimeout);
      assert(!got.includes("w1"), "a waiter that got a unit must not report a timeout");
    } else {
      assert(got.includes("w1"));
    }
    if (got.includes("w1") && subject.refill) await subject.refill(ctx);
    await joinOrCancel(w2);
    assert(got.includes("w2"));
    await subject.check(ctx, got);
  }, { clock, logErrors: false });
}

const subjects: Array<[string, Subject<never>]> = [
  ["Lock.acquire()", lockSubject as Subject<never>],
  ["Semaphore.acquire()", semaphoreSubject(() => new Semaphore(1)) as Subject<never>],
  ["BoundedSemaphore.acquire()", semaphoreSubject(() => new BoundedSemaphore(1)) as Subject<never>],
  ["Event.wait()", eventSubject as Subject<never>],
  ["Condition.wait()", conditionSubject as Subject<never>],
  ["Queue.get()", getSubject(() => new Queue<string>()) as Subject<never>],
  ["PriorityQueue.get()", getSubject(() => new PriorityQueue<string>()) as Subject<never>],
  ["LifoQueue.get()", getSubject(() => new LifoQueue<string>()) as Subject<never>],
  ["Queue.put()", putSubject as Subject<never>],
];

for (const [name, subject] of subjects) {
  Deno.test(`${name} survives a cancelled or timed-out waiter at every moment`, async (t) => {
    for (const moment of moments) {
      await t.step(`cancelled ${moment}`, () => sweepCancel(subject, moment));
    }
    await t.step("timeout while waiting", () => sweepTimeout(subject, false));
    await t.step("timeout right after the hand-off", () => sweepTimeout(subject, true));
  });
}

Deno.test("Queue.join() waiter cancelled or timed out leaves the queue joinable", async () => {
  await run(async () => {
    const q = new Queue<number>();
    await q.put(1);
    const j1 = await spawn(() => q.join());
    const j2 = await spawn(() => timeoutAfter(1, () => q.join()));
    const j3 = await spawn(() => q.join());
    await until(() => j3.state === "QUEUE_JOIN", "joiners waiting");
    await j1.cancel();
    await sleep(2);
    assert(j2.exception instanceof TaskTimeout);
    await q.get();
    await q.taskDone();
    await timeoutAfter(1, () => j3.join());
  }, { clock: new MockClock({ autojump: 0 }), logErrors: false });
});
