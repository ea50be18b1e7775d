// The scheduling rules of API.md "Scheduling: who runs next", each pinned
// down by an exact order of events. Where a rule differs from curio 0.4 (the
// manual's kernel, which switched to a woken task at once) the test says so;
// curio 1.x and trio agree with these rules.

import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  clock,
  currentTask,
  Event,
  Kernel,
  Lock,
  MockClock,
  Queue,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

/** An async helper that takes several microtask hops and never blocks. */
async function busy(trace: string[], what: string): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
  await (async () => {
    await null;
  })();
  trace.push(what);
}

Deno.test("rule 1: awaits that do not block let no other task run in between", async () => {
  const trace: string[] = [];
  await run(async () => {
    const lock = new Lock();
    const q = new Queue<number>(5);
    const ev = new Event();
    // Two tasks ready to run (each woken from sleep(0)) while main holds the kernel.
    for (const name of ["a", "b"]) {
      await spawn(async () => {
        await sleep(0);
        trace.push(`${name} runs`);
      });
    }
    await busy(trace, "main: async helper");
    await currentTask();
    await clock();
    await lock.acquire();
    await lock.release();
    await q.put(1);
    await q.get();
    await ev.set();
    await spawn(async () => trace.push("child's first cycle"));
    trace.push("main blocks");
    await sleep(0);
    trace.push("main again");
  }, virtual());
  assert.deepEqual(trace, [
    "main: async helper",
    "child's first cycle",
    "main blocks",
    "a runs",
    "b runs",
    "main again",
  ]);
});

Deno.test("rule 2: the producer carries on until it blocks; the consumer then takes every item", async () => {
  // The issue's own example. curio 0.4 switched to the woken consumer at once
  // (got 0, producer continues, ...); here, as in curio 1.x, waking never switches.
  const trace: string[] = [];
  await run(async () => {
    const q = new Queue<number | null>();
    const consumer = await spawn(async () => {
      for (let x = await q.get(); x !== null; x = await q.get()) trace.push(`got ${x}`);
    });
    for (let i = 0; i < 4; i++) await q.put(i);
    await q.put(null);
    trace.push("producer continues");
    await consumer.join();
  }, virtual());
  assert.deepEqual(trace, ["producer continues", "got 0", "got 1", "got 2", "got 3"]);
});

Deno.test("rule 2: Event.set(), Lock.release() and a hand-off never switch to the woken task", async () => {
  const trace: string[] = [];
  await run(async () => {
    const ev = new Event();
    const lock = new Lock();
    await lock.acquire();
    await spawn(async () => {
      await ev.wait();
      trace.push("event waiter woke");
    });
    await spawn(async () => {
      await lock.acquire();
      trace.push("lock waiter has the lock");
      await lock.release();
    });
    await ev.set();
    trace.push("setter carries on");
    await lock.release();
    trace.push("releaser carries on");
    assert.equal(lock.locked(), true, "the lock was handed to the waiter, not freed");
    await sleep(0);
    trace.push("main after sleep(0)");
  }, virtual());
  assert.deepEqual(trace, [
    "setter carries on",
    "releaser carries on",
    "event waiter woke",
    "lock waiter has the lock",
    "main after sleep(0)",
  ]);
});

Deno.test("rule 3: ready tasks run first in, first out, whatever woke them", async () => {
  const trace: string[] = [];
  await run(async () => {
    const ev = new Event();
    const q = new Queue<string>();
    await spawn(async () => trace.push(`q waiter got ${await q.get()}`));
    await spawn(async () => {
      await ev.wait();
      trace.push("event waiter");
    });
    await spawn(async () => {
      await sleep(0);
      trace.push("sleep(0) task");
    });
    // Woken in this order: the sleep(0) task (already queued), the event
    // waiter, then the queue waiter.
    await ev.set();
    await q.put("x");
    await sleep(0);
    trace.push("main");
  }, virtual());
  assert.deepEqual(trace, ["sleep(0) task", "event waiter", "q waiter got x", "main"]);
});

Deno.test("rule 4: spawn runs the child's whole first cycle, then the parent, ahead of the ready queue", async () => {
  const trace: string[] = [];
  await run(async () => {
    await spawn(async () => {
      await sleep(0);
      trace.push("ready task");
    });
    const child = await spawn(async () => {
      trace.push("child starts");
      await busy(trace, "child: async helper");
      const grandchild = await spawn(async () => {
        trace.push("grandchild starts");
        await sleep(0);
        trace.push("grandchild resumes");
      });
      trace.push("child after spawn");
      await grandchild.join();
      trace.push("child resumes");
    });
    trace.push("parent after spawn");
    await child.join();
  }, virtual());
  assert.deepEqual(trace, [
    "child starts",
    "child: async helper",
    "grandchild starts",
    "child after spawn",
    "parent after spawn",
    "ready task",
    "grandchild resumes",
    "child resumes",
  ]);
});

Deno.test("rule 4: a child that finishes in its first cycle lets the parent resume first", async () => {
  const trace: string[] = [];
  await run(async () => {
    await spawn(async () => {
      await sleep(0);
      trace.push("ready task");
    });
    const child = await spawn(async () => {
      await busy(trace, "child done");
      return 7;
    });
    trace.push(`parent sees terminated=${child.terminated}`);
    await sleep(0);
  }, virtual());
  assert.deepEqual(trace, ["child done", "parent sees terminated=true", "ready task"]);
});

Deno.test("rule 4: a plain function that returns a value (or throws) ends its task inside spawn()", async () => {
  const trace: string[] = [];
  await run(async () => {
    await spawn(async () => {
      await sleep(0);
      trace.push("ready task");
    });
    const value = await spawn(() => {
      trace.push("sync child runs");
      return 42;
    });
    trace.push(`parent: terminated=${value.terminated}`);
    assert.equal(
      await value.join(),
      42,
      "the value a plain function returned is the task's result",
    );
    const thrown = await spawn(() => {
      throw new RangeError("boom");
    }, { name: "thrower" });
    trace.push(`parent: thrower terminated=${thrown.terminated}`);
    await assert.rejects(thrown.join(), (error: Error) => error.cause instanceof RangeError);
    await sleep(0);
  }, { ...virtual(), logErrors: false });
  assert.deepEqual(trace, [
    "sync child runs",
    "parent: terminated=true",
    "parent: thrower terminated=true",
    "ready task",
  ]);
});

Deno.test("rule 5: a task awaiting a foreign promise loses the kernel; the others go on", async () => {
  const trace: string[] = [];
  await run(async () => {
    const outside = await spawn(async () => {
      trace.push("outside awaits a plain timer");
      await new Promise((resolve) => setTimeout(resolve, 20));
      trace.push("outside resumes");
      await sleep(0);
      trace.push("outside blocked again, back in the queue");
    });
    const worker = await spawn(async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(0);
        trace.push(`worker ${i}`);
      }
    });
    await worker.join();
    assert.equal(outside.state, "FOREIGN_WAIT", "the kernel noticed the foreign wait");
    await outside.join();
  });
  assert.deepEqual(trace, [
    "outside awaits a plain timer",
    "worker 0",
    "worker 1",
    "worker 2",
    "outside resumes",
    "outside blocked again, back in the queue",
  ]);
});

Deno.test("rule 5: a holder awaiting a foreign promise in a spawned child's first cycle does not freeze the parent", async () => {
  await run(async () => {
    const child = await spawn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return "done";
    });
    assert.equal(child.terminated, false, "spawn returned while the child awaited the outside");
    assert.equal(await child.join(), "done");
  });
});

Deno.test("a child whose first cycle waits its turn still sees its parent's AsyncLocalStorage values", async () => {
  // A parent resumed by a foreign promise runs outside the kernel: while
  // another task holds the kernel, its child's first cycle waits in the ready
  // queue and runs later, started by whichever task then blocks. The child's
  // context is made at the spawn, from the parent's, as for a child started
  // at once: it never sees the context of the task that happened to run it.
  const user = new AsyncLocalStorage<string>();
  const trace: string[] = [];
  let letGo!: () => void;
  const foreign = new Promise<void>((resolve) => letGo = resolve);
  await run(async () => {
    const parent = await spawn(() =>
      user.run("parent's value", async () => {
        await foreign;
        const child = await spawn(() => {
          trace.push(`child sees ${user.getStore()}`);
        });
        trace.push("parent resumes after the child's first cycle");
        await child.join();
      })
    );
    const other = await spawn(() =>
      user.run("other's value", async () => {
        letGo(); // the parent resumes (outside the kernel) while this task holds it
        await busy(trace, "other still holds the kernel");
        await sleep(0); // blocks: the queued first cycle runs, from this task's context
        trace.push("other resumes");
      })
    );
    await parent.join();
    await other.join();
  });
  assert.deepEqual(trace, [
    "other still holds the kernel",
    "child sees parent's value",
    "parent resumes after the child's first cycle",
    "other resumes",
  ]);
});

Deno.test("a child started at once sees its parent's AsyncLocalStorage values; the parent keeps its own", async () => {
  const user = new AsyncLocalStorage<string>();
  const seen: Array<string | undefined> = [];
  await run(() =>
    user.run("parent's value", async () => {
      const child = await spawn(async () => {
        seen.push(user.getStore());
        await user.run("child's value", () => sleep(0));
        seen.push(user.getStore());
      });
      seen.push(user.getStore());
      await child.join();
      seen.push(user.getStore());
    })
  );
  assert.deepEqual(seen, ["parent's value", "parent's value", "parent's value", "parent's value"]);
});

Deno.test("a deadline that passed during synchronous code is raised at the next sleep(0)", async () => {
  // Real time: the task spins past its deadline without blocking. The host
  // timer cannot fire during the spin; the kernel looks at the clock when
  // the task blocks in sleep(0) and raises the timeout right there.
  const after: string[] = [];
  await run(async () => {
    await assert.rejects(
      timeoutAfter(0.01, async () => {
        const end = performance.now() + 30;
        while (performance.now() < end) { /* spin past the deadline */ }
        await sleep(0);
        after.push("sleep(0) returned");
      }),
      TaskTimeout,
    );
  });
  assert.deepEqual(after, [], "the block did not run on past its deadline");
});

Deno.test("rule 7: the same program gives the same order of events on every run", async () => {
  async function program(trace: string[]): Promise<void> {
    const q = new Queue<number>(2);
    const lock = new Lock();
    const tasks = [];
    for (let i = 0; i < 6; i++) {
      tasks.push(
        await spawn(async () => {
          for (let j = 0; j < 5; j++) {
            await lock.acquire();
            trace.push(`${i} lock`);
            await sleep(i % 2 === 0 ? 0 : 0.5);
            await lock.release();
            await q.put(i * 10 + j);
            trace.push(`${i} put`);
          }
        }),
      );
    }
    for (let k = 0; k < 30; k++) trace.push(`got ${await q.get()}`);
    for (const t of tasks) await t.join();
  }
  const first: string[] = [];
  await run(() => program(first), virtual());
  for (let n = 0; n < 5; n++) {
    const again: string[] = [];
    await run(() => program(again), virtual());
    assert.deepEqual(again, first, `run ${n + 2} differs from the first`);
  }
});

/** Runs a small program of four tasks under `seed`; returns its trace. */
async function seededProgram(seed: number): Promise<string[]> {
  const trace: string[] = [];
  await run(async () => {
    const tasks = [];
    for (const name of ["a", "b", "c", "d"]) {
      tasks.push(
        await spawn(async () => {
          for (let i = 0; i < 3; i++) {
            await sleep(0);
            trace.push(`${name}${i}`);
          }
        }),
      );
    }
    for (const t of tasks) await t.join();
  }, { schedule: { seed }, ...virtual() });
  return trace;
}

Deno.test("rule 7: a seeded schedule replays exactly, and other seeds explore other orders", async () => {
  const orders = new Set<string>();
  for (let seed = 1; seed <= 20; seed++) {
    const trace = await seededProgram(seed);
    assert.deepEqual(await seededProgram(seed), trace, `seed ${seed} did not replay`);
    orders.add(trace.join(" "));
    for (const name of ["a", "b", "c", "d"]) {
      const mine = trace.filter((e) => e.startsWith(name));
      assert.deepEqual(
        mine,
        [`${name}0`, `${name}1`, `${name}2`],
        "each task's own steps stay in order",
      );
    }
  }
  assert(orders.size >= 10, `20 seeds gave only ${orders.size} distinct orders`);
});

Deno.test("rule 7: under a seeded schedule rules 1, 2 and 4 still hold", async () => {
  for (let seed = 0; seed < 50; seed++) {
    const trace: string[] = [];
    await run(async () => {
      for (const name of ["x", "y"]) {
        await spawn(async () => {
          await sleep(0);
          trace.push(`${name} runs`);
        });
      }
      const child = await spawn(async () => {
        trace.push("child first cycle");
        await busy(trace, "child helper");
        await sleep(0);
      });
      trace.push("parent after spawn"); // rule 4: before any ready task
      const ev = new Event();
      await ev.set();
      await busy(trace, "parent helper"); // rule 1: nobody in between
      trace.push("parent blocks");
      await child.join();
    }, { schedule: { seed }, ...virtual() });
    assert.deepEqual(
      trace.slice(0, 5),
      ["child first cycle", "child helper", "parent after spawn", "parent helper", "parent blocks"],
      `seed ${seed}`,
    );
  }
});

Deno.test("KernelOptions.schedule must be { seed: integer }", () => {
  assert.throws(() => new Kernel({ schedule: { seed: 1.5 } }), TypeError);
  assert.throws(
    () => new Kernel({ schedule: {} as never }),
    /schedule must be \{ seed: integer \}/,
  );
  assert.throws(() => new Kernel({ schedule: 3 as never }), TypeError);
  new Kernel({ schedule: { seed: 42 } });
});

Deno.test("rule 3: hundreds of ready tasks run first in, first out, cycle after cycle (the ready queue wraps and grows)", async () => {
  const order: string[] = [];
  await run(async () => {
    const tasks = [];
    for (let i = 0; i < 300; i++) {
      tasks.push(
        await spawn(async () => {
          for (let cycle = 0; cycle < 3; cycle++) {
            await sleep(0);
            order.push(`${cycle}:${i}`);
          }
        }),
      );
    }
    for (const t of tasks) await t.join();
  }, virtual());
  const expected: string[] = [];
  for (let cycle = 0; cycle < 3; cycle++) {
    for (let i = 0; i < 300; i++) expected.push(`${cycle}:${i}`);
  }
  assert.deepEqual(order, expected, "ready tasks did not run in the order they became ready");
});
