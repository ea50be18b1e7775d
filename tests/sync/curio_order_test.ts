// Exact event orders of every primitive's hand-off, under API.md's
// "Scheduling: who runs next" rules:
//   1. one task runs until it blocks (a free lock, a set event, a non-empty
//      queue, a put with room do not block; sleep(0) always does);
//   2. waking never switches: the woken task goes to the back of the ready
//      queue and the waker carries on;
//   3. ready tasks run first in, first out;
//   4. spawn runs the child's first cycle at once, then the parent resumes
//      ahead of the ready queue.
//
// The scenarios are those of curio's own tests (tests/test_sync.py and
// tests/test_queue.py of dabeaz/curio), written again in this API. Each
// expected list is worked out from the rules above. Where curio expects a
// different order, the comment says what it expects and which rule makes ours
// differ. Two curio test suites are cited:
// - "curio 1.x": spawn() only queues the child (it runs when the parent
//   blocks) and a waker carries on (as our rule 2);
// - "curio 0.x" (the suite of the `spawn(coro())` era): spawn() ran the child
//   first (as our rule 4) and a released Lock/Semaphore switched to the task
//   it woke.
//
// Sleeps use binary fractions (0.25, 0.5, ...) or one pending timer at a
// time, so virtual deadlines never tie by rounding.

import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  CancelledError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  run,
  Semaphore,
  sleep,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { virtual } from "./_util.ts";

type Entry = string | boolean | number | null | [string, number | null];

/** Runs `main` under a virtual clock and returns what it traced. */
async function traceOf(main: (trace: Entry[]) => Promise<void>): Promise<Entry[]> {
  const trace: Entry[] = [];
  await run(() => main(trace), virtual());
  return trace;
}

async function joinAll(tasks: Task[]): Promise<void> {
  for (const t of tasks) await t.join();
}

// ---------------------------------------------------------------------------
// Event

Deno.test("Event: set() wakes the waiter, the setter carries on until it finishes", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const waiter = await spawn(async () => {
      trace.push("wait_start", evt.isSet());
      await evt.wait();
      trace.push("wait_done", evt.isSet());
      evt.clear();
      trace.push(evt.isSet());
    });
    const setter = await spawn(async () => {
      trace.push("sleep");
      await sleep(1);
      trace.push("event_set");
      await evt.set();
      trace.push("setter carries on");
    });
    await joinAll([waiter, setter]);
  });
  // curio 1.x and 0.x expect the same list without "setter carries on"
  // (their setter has nothing after set()).
  assert.deepEqual(trace, [
    "wait_start",
    false,
    "sleep",
    "event_set",
    "setter carries on",
    "wait_done",
    true,
    false,
  ]);
});

Deno.test("Event: wait() on a set event does not block (a task woken later still runs after)", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const waiter = await spawn(async () => {
      trace.push("sleep");
      await sleep(1);
      trace.push("wait_start");
      await evt.wait();
      trace.push("wait_done");
    });
    const setter = await spawn(async () => {
      trace.push("event_set");
      await evt.set();
    });
    // Wakes at the same instant as the waiter, after it (its timer is later):
    // if wait() blocked, this would run between wait_start and wait_done.
    const bystander = await spawn(async () => {
      await sleep(1);
      trace.push("bystander");
    });
    await joinAll([waiter, setter, bystander]);
  });
  // curio 1.x and 0.x: sleep, event_set, wait_start, wait_done (no bystander).
  assert.deepEqual(trace, ["sleep", "event_set", "wait_start", "wait_done", "bystander"]);
});

Deno.test("Event: set() wakes every waiter in the order they waited, after the setter blocks", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const tasks: Task[] = [];
    for (const name of ["w1", "w2", "w3"]) {
      tasks.push(
        await spawn(async () => {
          trace.push(`${name} waits`);
          await evt.wait();
          trace.push(`${name} woke`);
        }),
      );
    }
    await evt.set();
    trace.push("setter carries on");
    await sleep(0); // the setter blocks: the woken run first, then it (rule 3)
    trace.push("setter back");
    await joinAll(tasks);
  });
  assert.deepEqual(trace, [
    "w1 waits",
    "w2 waits",
    "w3 waits",
    "setter carries on",
    "w1 woke",
    "w2 woke",
    "w3 woke",
    "setter back",
  ]);
});

Deno.test("Event: a cancelled waiter handles the cancel before cancel() returns", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const task = await spawn(async () => {
      trace.push("event_wait");
      try {
        await evt.wait();
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        trace.push("event_cancel");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("cancel_start");
    await task.cancel();
    trace.push("cancel_done");
  });
  // curio 1.x: sleep, event_wait, cancel_start, event_cancel, cancel_done:
  // its spawn() queues the child; ours runs its first cycle at once (rule 4).
  // curio 0.x: as ours.
  assert.deepEqual(trace, ["event_wait", "sleep", "cancel_start", "event_cancel", "cancel_done"]);
});

Deno.test("Event: a wait() under timeoutAfter() times out while the spawner sleeps on", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const task = await spawn(async () => {
      trace.push("event_wait");
      try {
        await timeoutAfter(0.5, () => evt.wait());
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("event_timeout");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("sleep_done");
    await task.join();
  });
  // curio 1.x: sleep, event_wait, event_timeout, sleep_done (rule 4 differs).
  assert.deepEqual(trace, ["event_wait", "sleep", "event_timeout", "sleep_done"]);
});

Deno.test("Event: a wait() that got its event leaves the timeout block; the old deadline never fires", async () => {
  const trace = await traceOf(async (trace) => {
    const evt = new Event();
    const task = await spawn(async () => {
      trace.push("event_wait");
      try {
        await timeoutAfter(1, () => evt.wait());
        trace.push("got event");
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("event_timeout");
      }
      evt.clear();
      try {
        await evt.wait(); // blocks past the old deadline (t = 1)
        trace.push("got event");
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("bad timeout");
      }
    });
    trace.push("sleep");
    await sleep(0.25);
    trace.push("event_set");
    await evt.set();
    await sleep(1);
    trace.push("event_set");
    await evt.set();
    await task.join();
  });
  // curio 1.x: sleep, event_wait, event_set, got event, event_set, got event
  // (rule 4 differs).
  assert.deepEqual(trace, [
    "event_wait",
    "sleep",
    "event_set",
    "got event",
    "event_set",
    "got event",
  ]);
});

// ---------------------------------------------------------------------------
// Lock

Deno.test("Lock: workers take the lock in turn; the releaser carries on before the next holder runs", async () => {
  const trace = await traceOf(async (trace) => {
    const lck = new Lock();
    const worker = async (label: string) => {
      trace.push(`${label} wait`, lck.locked());
      {
        await using _ = await lck.acquire();
        trace.push(`${label} acquire`);
        await sleep(0.25);
      }
      trace.push(`${label} release`);
    };
    const tasks: Task[] = [];
    for (const label of ["work1", "work2", "work3"]) tasks.push(await spawn(() => worker(label)));
    await joinAll(tasks);
  });
  // curio 1.x expects exactly this. curio 0.x switched to the woken task at
  // release: "work2 acquire" before "work1 release" (rule 2: no switch).
  assert.deepEqual(trace, [
    "work1 wait",
    false,
    "work1 acquire",
    "work2 wait",
    true,
    "work3 wait",
    true,
    "work1 release",
    "work2 acquire",
    "work2 release",
    "work3 acquire",
    "work3 release",
  ]);
});

Deno.test("Lock: a released lock goes to the first waiter; the releaser carries on until it blocks", async () => {
  const trace = await traceOf(async (trace) => {
    const lck = new Lock();
    await lck.acquire();
    const waiter = await spawn(async () => {
      trace.push("waiter waits");
      await lck.acquire();
      trace.push("waiter has the lock");
      await lck.release();
      trace.push("waiter released");
    });
    await lck.release();
    trace.push("releaser carries on", lck.locked());
    // Acquiring again blocks: the lock already belongs to the waiter.
    await lck.acquire();
    trace.push("releaser has it again");
    await lck.release();
    await waiter.join();
  });
  assert.deepEqual(trace, [
    "waiter waits",
    "releaser carries on",
    true,
    "waiter has the lock",
    "waiter released",
    "releaser has it again",
  ]);
});

Deno.test("Lock: a waiter cancelled in acquire() handles it before cancel() returns, and leaves no trace", async () => {
  const trace = await traceOf(async (trace) => {
    const lck = new Lock();
    {
      await using _ = await lck.acquire();
      const task = await spawn(async () => {
        trace.push("lock_wait");
        try {
          await using _ = await lck.acquire();
          trace.push("never here");
        } catch (e) {
          if (!(e instanceof CancelledError)) throw e;
          trace.push("lock_cancel");
        }
      });
      trace.push("sleep");
      await sleep(1);
      trace.push("cancel_start");
      await task.cancel();
      trace.push("cancel_done");
    }
    trace.push(lck.locked()); // released to nobody: the cancelled waiter is gone
  });
  // curio 1.x: sleep, lock_wait, cancel_start, lock_cancel, cancel_done (rule 4).
  assert.deepEqual(trace, [
    "lock_wait",
    "sleep",
    "cancel_start",
    "lock_cancel",
    "cancel_done",
    false,
  ]);
});

Deno.test("Lock: acquire() under timeoutAfter() times out while the holder sleeps on", async () => {
  const trace = await traceOf(async (trace) => {
    const lck = new Lock();
    await using _ = await lck.acquire();
    const w = await spawn(async () => {
      trace.push("lock_wait");
      try {
        await timeoutAfter(0.5, () => lck.acquire());
        trace.push("never here");
        await lck.release();
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("lock_timeout");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("sleep_done");
    await w.join();
  });
  // curio 1.x: sleep, lock_wait, lock_timeout, sleep_done (rule 4).
  assert.deepEqual(trace, ["lock_wait", "sleep", "lock_timeout", "sleep_done"]);
});

Deno.test("Lock: a waiter woken by release() is not overtaken by a newcomer that acquires before it runs", async () => {
  const trace = await traceOf(async (trace) => {
    const lck = new Lock();
    await lck.acquire();
    const first = await spawn(async () => {
      await lck.acquire();
      trace.push("first has the lock");
      await lck.release();
    });
    await lck.release(); // first is woken: it owns the lock, but has not run yet
    const newcomer = await spawn(async () => {
      trace.push("newcomer tries");
      await lck.acquire();
      trace.push("newcomer has the lock");
      await lck.release();
    });
    trace.push("parent resumes");
    await joinAll([first, newcomer]);
  });
  assert.deepEqual(trace, [
    "newcomer tries",
    "parent resumes",
    "first has the lock",
    "newcomer has the lock",
  ]);
});

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

Deno.test("Semaphore(1): workers take it in turn; the releaser carries on before the next holder runs", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new Semaphore();
    const worker = async (label: string) => {
      trace.push(`${label} wait`, sema.locked());
      {
        await using _ = await sema.acquire();
        trace.push(sema.value, `${label} acquire`);
        await sleep(0.25);
      }
      trace.push(`${label} release`);
    };
    const tasks: Task[] = [];
    for (const label of ["work1", "work2", "work3"]) tasks.push(await spawn(() => worker(label)));
    await joinAll(tasks);
  });
  // curio 1.x expects exactly this (without the values, which it asserts are
  // 0). curio 0.x: "work2 acquire" before "work1 release" (rule 2).
  assert.deepEqual(trace, [
    "work1 wait",
    false,
    0,
    "work1 acquire",
    "work2 wait",
    true,
    "work3 wait",
    true,
    "work1 release",
    0,
    "work2 acquire",
    "work2 release",
    0,
    "work3 acquire",
    "work3 release",
  ]);
});

Deno.test("Semaphore(2): two workers enter at once; a release hands the permit to the third", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new Semaphore(2);
    const worker = async (label: string, seconds: number) => {
      trace.push(`${label} wait`, sema.locked());
      {
        await using _ = await sema.acquire();
        trace.push(`${label} acquire`);
        await sleep(seconds);
      }
      trace.push(`${label} release`);
    };
    const tasks = [
      await spawn(() => worker("work1", 0.25)),
      await spawn(() => worker("work2", 0.375)),
      await spawn(() => worker("work3", 0.375)),
    ];
    await joinAll(tasks);
  });
  // curio 1.x expects exactly this. curio 0.x: "work3 acquire" before
  // "work1 release" (rule 2).
  assert.deepEqual(trace, [
    "work1 wait",
    false,
    "work1 acquire",
    "work2 wait",
    false,
    "work2 acquire",
    "work3 wait",
    true,
    "work1 release",
    "work3 acquire",
    "work2 release",
    "work3 release",
  ]);
});

Deno.test("Semaphore: a waiter cancelled in acquire() handles it before cancel() returns, and leaves no trace", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new Semaphore();
    {
      await using _ = await sema.acquire();
      const task = await spawn(async () => {
        trace.push("lock_wait");
        try {
          await using _ = await sema.acquire();
          trace.push("never here");
        } catch (e) {
          if (!(e instanceof CancelledError)) throw e;
          trace.push("lock_cancel");
        }
      });
      trace.push("sleep");
      await sleep(1);
      trace.push("cancel_start");
      await task.cancel();
      trace.push("cancel_done");
    }
    trace.push(sema.value); // the permit came back, not to the cancelled waiter
  });
  // curio 1.x: sleep, lock_wait, cancel_start, lock_cancel, cancel_done (rule 4).
  assert.deepEqual(trace, ["lock_wait", "sleep", "cancel_start", "lock_cancel", "cancel_done", 1]);
});

Deno.test("Semaphore: acquire() under timeoutAfter() times out while the holder sleeps on", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new Semaphore();
    await using _ = await sema.acquire();
    const w = await spawn(async () => {
      trace.push("lock_wait");
      try {
        await timeoutAfter(0.5, () => sema.acquire());
        trace.push("never here");
        await sema.release();
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("lock_timeout");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("sleep_done");
    await w.join();
  });
  // curio 1.x: sleep, lock_wait, lock_timeout, sleep_done (rule 4).
  assert.deepEqual(trace, ["lock_wait", "sleep", "lock_timeout", "sleep_done"]);
});

Deno.test("Semaphore: release() with waiters hands permits FIFO without raising the count", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new Semaphore(0);
    const tasks: Task[] = [];
    for (const name of ["a", "b", "c"]) {
      tasks.push(
        await spawn(async () => {
          await sema.acquire();
          trace.push(`${name} acquired`);
        }),
      );
    }
    await sema.release();
    await sema.release();
    trace.push("released twice", sema.value);
    await sleep(0);
    trace.push("releaser back", sema.value);
    await sema.release();
    await joinAll(tasks);
  });
  assert.deepEqual(trace, [
    "released twice",
    0,
    "a acquired",
    "b acquired",
    "releaser back",
    0,
    "c acquired",
  ]);
});

Deno.test("BoundedSemaphore: a release hands the permit to the waiter; one release too many throws", async () => {
  const trace = await traceOf(async (trace) => {
    const sema = new BoundedSemaphore(1);
    await sema.acquire();
    const waiter = await spawn(async () => {
      trace.push("waiter waits");
      await sema.acquire();
      trace.push("waiter acquired", sema.value);
      await sema.release();
      trace.push("waiter released", sema.value);
    });
    await sema.release(); // to the waiter: the count stays 0, no bound error
    trace.push("releaser carries on", sema.value);
    await waiter.join();
    try {
      await sema.release();
      trace.push("not here");
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      trace.push("value error", sema.value);
    }
  });
  // curio 1.x and 0.x test only the error: ["value error"].
  assert.deepEqual(trace, [
    "waiter waits",
    "releaser carries on",
    0,
    "waiter acquired",
    0,
    "waiter released",
    1,
    "value error",
    1,
  ]);
});

// ---------------------------------------------------------------------------
// Condition

Deno.test("Condition: producer/consumers alternate; each notify wakes the longest waiter", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition(new Lock());
    const q: Array<number | null> = [];
    const consumer = async (label: string) => {
      for (;;) {
        await using _ = await cond.acquire();
        if (q.length === 0) {
          trace.push(`${label} wait`);
          await cond.wait();
        }
        const item = q.shift()!;
        if (item === null) break;
        trace.push([label, item]);
      }
      trace.push(`${label} done`);
    };
    const producer = async (count: number, nconsumers: number) => {
      for (let n = 0; n < count; n++) {
        {
          await using _ = await cond.acquire();
          q.push(n);
          trace.push(["producing", n]);
          await cond.notify();
        }
        await sleep(0.125);
      }
      for (let n = 0; n < nconsumers; n++) {
        {
          await using _ = await cond.acquire();
          q.push(null);
          trace.push(["ending", n]);
          await cond.notify();
        }
        await sleep(0.125);
      }
    };
    const tasks = [
      await spawn(() => consumer("cons1")),
      await spawn(() => consumer("cons2")),
      await spawn(() => producer(4, 2)),
    ];
    await joinAll(tasks);
  });
  // curio 1.x and 0.x expect exactly this.
  assert.deepEqual(trace, [
    "cons1 wait",
    "cons2 wait",
    ["producing", 0],
    ["cons1", 0],
    "cons1 wait",
    ["producing", 1],
    ["cons2", 1],
    "cons2 wait",
    ["producing", 2],
    ["cons1", 2],
    "cons1 wait",
    ["producing", 3],
    ["cons2", 3],
    "cons2 wait",
    ["ending", 0],
    "cons1 done",
    ["ending", 1],
    "cons2 done",
  ]);
});

Deno.test("Condition: a waiter cancelled in wait() re-acquires the lock, then handles the cancel", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const task = await spawn(async () => {
      try {
        await using _ = await cond.acquire();
        trace.push("cond_wait");
        try {
          await cond.wait();
        } finally {
          trace.push(`lock held: ${cond.locked()}`);
        }
        trace.push("never here");
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        trace.push("worker_cancel");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("cancel_start");
    await task.cancel();
    trace.push("cancel_done", cond.locked());
  });
  // curio 1.x: sleep, cond_wait, cancel_start, worker_cancel, cancel_done (rule 4).
  assert.deepEqual(trace, [
    "cond_wait",
    "sleep",
    "cancel_start",
    "lock held: true",
    "worker_cancel",
    "cancel_done",
    false,
  ]);
});

Deno.test("Condition: wait() under timeoutAfter() times out while the spawner sleeps on", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const task = await spawn(async () => {
      try {
        await using _ = await cond.acquire();
        trace.push("cond_wait");
        await timeoutAfter(0.25, () => cond.wait());
        trace.push("never here");
      } catch (e) {
        if (!(e instanceof TaskTimeout)) throw e;
        trace.push("worker_timeout");
      }
    });
    trace.push("sleep");
    await sleep(1);
    trace.push("done");
    await task.join();
  });
  // curio 1.x: sleep, cond_wait, worker_timeout, done (rule 4).
  assert.deepEqual(trace, ["cond_wait", "sleep", "worker_timeout", "done"]);
});

Deno.test("Condition: notifyAll() wakes every waiter; the notifier carries on and they run after, in order", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const worker = async (label: string) => {
      await using _ = await cond.acquire();
      trace.push(`${label} cond_wait`);
      await cond.wait();
      trace.push(`${label} wait_done`);
    };
    const tasks = [
      await spawn(() => worker("w1")),
      await spawn(() => worker("w2")),
      await spawn(() => worker("w3")),
    ];
    trace.push("sleep");
    await sleep(1);
    {
      await using _ = await cond.acquire();
      trace.push("notify");
      await cond.notifyAll();
    }
    trace.push("done");
    await joinAll(tasks);
  });
  // curio 1.x: sleep, cond_wait x3, notify, done, wait_done x3 (rule 4 puts
  // the waits first here). curio 0.x: notify, wait_done, done, wait_done,
  // wait_done (it switched to the first woken task; rule 2 does not).
  assert.deepEqual(trace, [
    "w1 cond_wait",
    "w2 cond_wait",
    "w3 cond_wait",
    "sleep",
    "notify",
    "done",
    "w1 wait_done",
    "w2 wait_done",
    "w3 wait_done",
  ]);
});

Deno.test("Condition: a notified waiter runs only once the notifier releases the lock", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const waiter = await spawn(async () => {
      await using _ = await cond.acquire();
      trace.push("waiter waits");
      await cond.wait();
      trace.push("waiter woke", cond.locked());
    });
    await cond.acquire();
    await cond.notify();
    trace.push("notified");
    await sleep(0.5); // blocks holding the lock: the woken waiter queues for it
    trace.push("notifier releases", waiter.state);
    await cond.release();
    trace.push("notifier carries on");
    await waiter.join();
  });
  assert.deepEqual(trace, [
    "waiter waits",
    "notified",
    "notifier releases",
    "LOCK_ACQUIRE",
    "notifier carries on",
    "waiter woke",
    true,
  ]);
});

Deno.test("Condition: notify(n) wakes the n longest waiters in order; the rest keep waiting", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const tasks: Task[] = [];
    for (const name of ["a", "b", "c"]) {
      tasks.push(
        await spawn(async () => {
          await using _ = await cond.acquire();
          await cond.wait();
          trace.push(`${name} woke`);
        }),
      );
    }
    {
      await using _ = await cond.acquire();
      await cond.notify(2);
    }
    await sleep(0);
    trace.push("after two", tasks[2]!.state);
    {
      await using _ = await cond.acquire();
      await cond.notify();
    }
    await joinAll(tasks);
  });
  assert.deepEqual(trace, ["a woke", "b woke", "after two", "COND_WAIT", "c woke"]);
});

Deno.test("Condition: waitFor() re-checks its predicate at each notify; the first satisfied waiter wins", async () => {
  const trace = await traceOf(async (trace) => {
    const cond = new Condition();
    const q: number[] = [];
    const consumer = async (label: string) => {
      {
        await using _ = await cond.acquire();
        trace.push(`${label} waitfor`);
        await cond.waitFor(() => q.length > 2);
        trace.push([label, q.length]);
      }
      trace.push(`${label} done`);
    };
    const producer = async (count: number) => {
      for (let n = 0; n < count; n++) {
        {
          await using _ = await cond.acquire();
          q.push(n);
          trace.push(["producing", n]);
          await cond.notify();
        }
        await sleep(0.125);
      }
    };
    const tasks = [
      await spawn(() => consumer("cons1")),
      await spawn(() => consumer("cons2")),
      await spawn(() => producer(4)),
    ];
    await joinAll(tasks);
  });
  // curio 1.x and 0.x expect exactly this.
  assert.deepEqual(trace, [
    "cons1 waitfor",
    "cons2 waitfor",
    ["producing", 0],
    ["producing", 1],
    ["producing", 2],
    ["cons1", 3],
    "cons1 done",
    ["producing", 3],
    ["cons2", 4],
    "cons2 done",
  ]);
});

// ---------------------------------------------------------------------------
// Queue

/** curio's test consumer: get until null, taskDone() for each item. */
function consumerOf(q: Queue<number | null>, label: string, trace: Entry[], pause = 0) {
  return async () => {
    for (;;) {
      const item = await q.get();
      if (item === null) break;
      trace.push([label, item]);
      if (pause > 0) await sleep(pause);
      await q.taskDone();
    }
    await q.taskDone();
    trace.push(`${label} done`);
  };
}

Deno.test("Queue: each put() goes to the longest-waiting getter; join() returns after the last taskDone()", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number | null>();
    trace.push("producer_start");
    await spawn(consumerOf(q, "cons1", trace));
    await spawn(consumerOf(q, "cons2", trace));
    await sleep(0.125);
    for (let n = 0; n < 4; n++) {
      await q.put(n);
      await sleep(0.125);
    }
    for (let n = 0; n < 2; n++) await q.put(null);
    trace.push("producer_join");
    await q.join();
    trace.push("producer_done");
  });
  // curio 1.x expects exactly this. curio 0.x: cons1 done, cons2 done,
  // producer_join (it switched to each woken getter; rule 2 does not).
  assert.deepEqual(trace, [
    "producer_start",
    ["cons1", 0],
    ["cons2", 1],
    ["cons1", 2],
    ["cons2", 3],
    "producer_join",
    "cons1 done",
    "cons2 done",
    "producer_done",
  ]);
});

Deno.test("Queue: the producer fills an unbounded queue until it blocks, then the consumer drains it", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number | null>();
    trace.push("producer_start");
    await spawn(consumerOf(q, "cons1", trace));
    await sleep(0.125);
    for (let n = 0; n < 4; n++) await q.put(n);
    await q.put(null);
    trace.push("producer_join");
    await q.join();
    trace.push("producer_done");
  });
  // curio 1.x expects exactly this (issue 13: main used to print
  // cons1 0, 1, 2, then producer_join, then 3).
  assert.deepEqual(trace, [
    "producer_start",
    "producer_join",
    ["cons1", 0],
    ["cons1", 1],
    ["cons1", 2],
    ["cons1", 3],
    "cons1 done",
    "producer_done",
  ]);
});

Deno.test("Queue(2): a put() handed to a waiting getter takes no slot; a full queue blocks the producer", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number | null>(2);
    trace.push("producer_start");
    await spawn(consumerOf(q, "cons1", trace, 0.125));
    await sleep(0.125);
    for (let n = 0; n < 4; n++) {
      await q.put(n);
      trace.push(["produced", n]);
    }
    await q.put(null);
    trace.push("producer_join");
    await q.join();
    trace.push("producer_done");
  });
  // curio 1.x expects: producer_start, produced 0, produced 1, cons1 0,
  // produced 2, cons1 1, produced 3, cons1 2, producer_join, cons1 3,
  // cons1 done, producer_done. Its put() appends the item to the queue and
  // wakes the getter, who takes it when it runs, so item 0 holds a slot until
  // then and put(2) blocks. Ours hands item 0 straight to the waiting getter
  // (API.md: direct hand-off), so put(0..2) all fit and put(3) blocks.
  assert.deepEqual(trace, [
    "producer_start",
    ["produced", 0],
    ["produced", 1],
    ["produced", 2],
    ["cons1", 0],
    ["cons1", 1],
    ["produced", 3],
    ["cons1", 2],
    "producer_join",
    ["cons1", 3],
    "cons1 done",
    "producer_done",
  ]);
});

Deno.test("Queue: a getter cancelled in get() handles it before cancel() returns; a later put is not lost", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<string>();
    const task = await spawn(async () => {
      try {
        trace.push("consumer waiting");
        await q.get();
        trace.push("not here");
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        trace.push("consumer cancelled");
      }
    });
    await sleep(0.5);
    await task.cancel();
    trace.push("cancel returned");
    await q.put("kept");
    trace.push(q.qsize());
  });
  // curio 1.x and 0.x: consumer waiting, consumer cancelled.
  assert.deepEqual(trace, ["consumer waiting", "consumer cancelled", "cancel returned", 1]);
});

Deno.test("Queue(1): a putter cancelled in put() handles it before cancel() returns; its item is not queued", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number>(1);
    const task = await spawn(async () => {
      trace.push("producer_start");
      await q.put(0);
      try {
        await q.put(1);
        trace.push("not here");
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        trace.push("producer_cancel");
      }
    });
    await sleep(0.5);
    await task.cancel();
    trace.push("cancel returned", q.qsize(), await q.get(), q.qsize());
  });
  // curio 1.x and 0.x: producer_start, producer_cancel.
  assert.deepEqual(trace, ["producer_start", "producer_cancel", "cancel returned", 1, 0, 0]);
});

Deno.test("Queue: get() and a blocked put() under timeoutAfter() time out in order", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number>(1);
    try {
      trace.push("consumer waiting");
      await timeoutAfter(0.5, () => q.get());
      trace.push("not here");
    } catch (e) {
      if (!(e instanceof TaskTimeout)) throw e;
      trace.push("consumer timeout");
    }
    await q.put(0);
    try {
      trace.push("producer waiting");
      await timeoutAfter(0.5, () => q.put(1));
      trace.push("not here");
    } catch (e) {
      if (!(e instanceof TaskTimeout)) throw e;
      trace.push("producer timeout", q.qsize());
    }
  });
  // curio 1.x and 0.x: the same, as two tests.
  assert.deepEqual(trace, [
    "consumer waiting",
    "consumer timeout",
    "producer waiting",
    "producer timeout",
    1,
  ]);
});

Deno.test("Queue: put() called without await from plain code wakes getters the same way", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number | null>();
    const produceItem = (item: number | null): void => {
      void q.put(item); // unbounded: never blocks
    };
    trace.push("producer_start");
    await spawn(consumerOf(q, "cons1", trace));
    await spawn(consumerOf(q, "cons2", trace));
    await sleep(0.125);
    for (let n = 0; n < 4; n++) {
      produceItem(n);
      await sleep(0.125);
    }
    for (let n = 0; n < 2; n++) produceItem(null);
    trace.push("producer_join");
    await q.join();
    trace.push("producer_done");
  });
  // curio 1.x (test_queue_sync) expects exactly this.
  assert.deepEqual(trace, [
    "producer_start",
    ["cons1", 0],
    ["cons2", 1],
    ["cons1", 2],
    ["cons2", 3],
    "producer_join",
    "cons1 done",
    "cons2 done",
    "producer_done",
  ]);
});

Deno.test("Queue(1): two blocked putters are both woken as two get()s in one cycle make room", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<string>(1);
    await q.put("a");
    const putter = (item: string) => async () => {
      trace.push(`put ${item} waits`);
      await q.put(item);
      trace.push(`put ${item} done`);
    };
    const p1 = await spawn(putter("b"));
    const p2 = await spawn(putter("c"));
    // Two get()s without blocking in between: the first finds "a" and frees
    // the slot for p1; the second finds the queue empty (p1 has not run) and
    // waits. p1's item then goes to it, and p2 must get the room back.
    const [x, y] = await Promise.all([q.get(), q.get()]);
    trace.push(`got ${x} ${y}`, p1.state, p2.state);
    trace.push(`got ${await q.get()}`);
    await joinAll([p1, p2]);
    trace.push(q.qsize());
  });
  assert.deepEqual(trace, [
    "put b waits",
    "put c waits",
    "put b done", // p1 hands "b" to the waiting get() and wakes p2 (room again)
    "got a b",
    "TERMINATED",
    "READY", // p2 is woken but has not run: its item is not queued yet
    "put c done",
    "got c",
    0,
  ]);
});

Deno.test("Queue(1): get() from a full queue wakes the first blocked putter, who runs after the getter blocks", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number>(1);
    await q.put(0);
    const tasks: Task[] = [];
    for (const n of [1, 2]) {
      tasks.push(
        await spawn(async () => {
          trace.push(`put ${n} waits`);
          await q.put(n);
          trace.push(`put ${n} done`);
        }),
      );
    }
    trace.push(`got ${await q.get()}`, q.full());
    trace.push("getter carries on");
    await sleep(0);
    trace.push(`got ${await q.get()}`);
    trace.push(`got ${await q.get()}`);
    await joinAll(tasks);
  });
  assert.deepEqual(trace, [
    "put 1 waits",
    "put 2 waits",
    "got 0",
    true, // the freed slot is reserved for the woken putter
    "getter carries on",
    "put 1 done",
    "got 1", // wakes the second putter; the queue is empty until it runs
    "put 2 done", // its put goes straight to the blocked get(); it carries on
    "got 2",
  ]);
});

Deno.test("PriorityQueue: a consumer started after the puts gets the items smallest first", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new PriorityQueue<[number, number | null]>();
    for (const n of [4, 2, 1, 3]) await q.put([n, n]);
    await q.put([10, null]);
    await spawn(async () => {
      for (;;) {
        const [, item] = await q.get();
        if (item === null) break;
        trace.push(item);
        await q.taskDone();
        await sleep(0.25);
      }
      await q.taskDone();
      trace.push("consumer done");
    });
    trace.push("joining");
    await q.join();
    trace.push("joined");
  });
  // curio 1.x and 0.x check only the items: [1, 2, 3, 4].
  assert.deepEqual(trace, [1, "joining", 2, 3, 4, "consumer done", "joined"]);
});

Deno.test("LifoQueue: a consumer started after the puts gets the newest item first", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new LifoQueue<number | null>();
    await q.put(null);
    for (let n = 0; n < 4; n++) await q.put(n);
    await spawn(async () => {
      for (;;) {
        const item = await q.get();
        if (item === null) break;
        trace.push(item);
        await q.taskDone();
        await sleep(0.25);
      }
      await q.taskDone();
      trace.push("consumer done");
    });
    trace.push("joining");
    await q.join();
    trace.push("joined");
  });
  // curio 1.x and 0.x check only the items: [3, 2, 1, 0].
  assert.deepEqual(trace, [3, "joining", 2, 1, 0, "consumer done", "joined"]);
});

Deno.test("Queue: join() waiters all wake at the last taskDone(); the caller of taskDone() carries on", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new Queue<number>();
    await q.put(1);
    const joiners: Task[] = [];
    for (const name of ["j1", "j2"]) {
      joiners.push(
        await spawn(async () => {
          trace.push(`${name} joins`);
          await q.join();
          trace.push(`${name} joined`);
        }),
      );
    }
    await q.get();
    await q.taskDone();
    trace.push("taskDone carries on");
    await joinAll(joiners);
  });
  assert.deepEqual(trace, [
    "j1 joins",
    "j2 joins",
    "taskDone carries on",
    "j1 joined",
    "j2 joined",
  ]);
});

Deno.test("PriorityQueue: a woken getter takes the smallest item queued by the time it runs", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new PriorityQueue<number>();
    const consumer = await spawn(async () => {
      trace.push("consumer waits");
      for (let i = 0; i < 3; i++) trace.push(await q.get());
    });
    // The first put wakes the consumer; it runs only once main blocks (rule
    // 2), and by then 1 and 3 are queued too.
    await q.put(5);
    await q.put(1);
    await q.put(3);
    trace.push("producer carries on", q.qsize());
    await consumer.join();
  });
  // curio 1.x gets the same order (its put() stores the item and wakes the
  // getter, which takes the smallest when it runs).
  assert.deepEqual(trace, ["consumer waits", "producer carries on", 2, 1, 3, 5]);
});

Deno.test("LifoQueue: a woken getter takes the newest item queued by the time it runs", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new LifoQueue<number>();
    const consumer = await spawn(async () => {
      trace.push("consumer waits");
      for (let i = 0; i < 3; i++) trace.push(await q.get());
    });
    for (const n of [1, 2, 3]) await q.put(n);
    trace.push("producer carries on");
    await consumer.join();
  });
  assert.deepEqual(trace, ["consumer waits", "producer carries on", 3, 2, 1]);
});

Deno.test("PriorityQueue: an item kept for a woken getter cannot be taken by a get() that runs before it", async () => {
  const trace = await traceOf(async (trace) => {
    const q = new PriorityQueue<number>();
    const waiter = await spawn(async () => {
      trace.push(`waiter got ${await q.get()}`);
    });
    await q.put(5); // kept for the waiter, which has not run yet
    trace.push(q.qsize(), q.empty());
    const newcomer = await spawn(async () => {
      trace.push(`newcomer got ${await q.get()}`); // must wait: nothing is free
    });
    trace.push(newcomer.state);
    await q.put(1);
    await joinAll([waiter, newcomer]);
    trace.push(q.qsize());
  });
  // Both were woken before either ran; each takes the smallest left.
  assert.deepEqual(trace, [0, true, "QUEUE_GET", "waiter got 1", "newcomer got 5", 0]);
});
