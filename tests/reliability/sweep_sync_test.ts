// Cancellation sweep over the sync primitives: every wait of Lock,
// Semaphore, BoundedSemaphore, Condition, Event, Queue (get, put, join; FIFO,
// priority and LIFO), and TaskGroup, struck with a cancel and with a timeout.

import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  Semaphore,
  sleep,
  type Task,
  TaskGroup,
} from "@curio/curio";
import { assertVictimEnd, type Scenario, sweep } from "./_sweep.ts";
import { assertSameItems, lockScenario, semaphoreScenario } from "./_scenarios.ts";

Deno.test("sweep: Lock.acquire() struck at every point", async () => {
  await sweep("Lock", lockScenario(() => new Lock(), (lock: Lock) => !lock.locked()));
});

Deno.test("sweep: Condition used as a lock struck at every point", async () => {
  await sweep(
    "Condition as lock",
    lockScenario(() => new Condition(), (c: Condition) => !c.locked()),
  );
});

Deno.test("sweep: Semaphore(2).acquire() struck at every point", async () => {
  await sweep("Semaphore", semaphoreScenario(() => new Semaphore(2), 2));
});

Deno.test("sweep: BoundedSemaphore(2).acquire() struck at every point", async () => {
  await sweep("BoundedSemaphore", semaphoreScenario(() => new BoundedSemaphore(2), 2));
});

const condition: Scenario = async (ctx) => {
  const cond = new Condition();
  const items: number[] = [];
  const produced: number[] = [];
  const consumed: number[] = [];
  let done = false;
  let inside = 0;
  let maxInside = 0;
  const consumer = (name: string) => async () => {
    for (;;) {
      await ctx.step(`${name} acquire`, () => cond.acquire());
      const g = ctx.enter(`${name} holds`);
      try {
        inside++;
        maxInside = Math.max(maxInside, inside);
        inside--;
        await ctx.step(`${name} waitFor`, () => cond.waitFor(() => items.length > 0 || done));
        inside++;
        maxInside = Math.max(maxInside, inside);
        if (items.length === 0) return;
        consumed.push(items.shift()!);
      } finally {
        if (inside > 0) inside--;
        await cond.release();
        ctx.leave(g);
      }
    }
  };
  const c1 = await ctx.spawn("c1", consumer("c1"));
  await ctx.spawnVictim("victim", consumer("victim"));
  const producer = await ctx.spawn("producer", async () => {
    for (let i = 0; i < 4; i++) {
      await ctx.step(`producer acquire ${i}`, () => cond.acquire());
      try {
        items.push(i);
        produced.push(i);
        await ctx.step(`producer notify ${i}`, () => cond.notify());
      } finally {
        await cond.release();
      }
      await ctx.step(`producer sleep ${i}`, () => sleep(1));
    }
    await cond.acquire();
    done = true;
    await cond.notifyAll();
    await cond.release();
  });
  await producer.join();
  await c1.join();
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    assert.equal(maxInside, 1, "two tasks held the condition's lock at once");
    assert(!cond.locked(), "the condition's lock is still held");
    assertSameItems([...consumed, ...items], produced, "Condition");
  };
};

Deno.test("sweep: Condition.wait()/waitFor() struck at every point", async () => {
  await sweep("Condition", condition);
});

const event: Scenario = async (ctx) => {
  const evt = new Event();
  const woke: string[] = [];
  const waiter = (name: string) => async () => {
    const g = ctx.enter(name);
    try {
      await ctx.step(`${name} wait`, () => evt.wait());
      woke.push(name);
      await ctx.step(`${name} after`, () => sleep(1));
    } finally {
      ctx.leave(g);
    }
  };
  const w1 = await ctx.spawn("w1", waiter("w1"));
  await ctx.spawnVictim("victim", waiter("victim"));
  const w2 = await ctx.spawn("w2", waiter("w2"));
  await ctx.step("main sleep", () => sleep(2));
  await evt.set();
  await w1.join();
  await w2.join();
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    assert(evt.isSet());
    assert(woke.includes("w1") && woke.includes("w2"), `not every waiter woke: ${woke}`);
  };
};

Deno.test("sweep: Event.wait() struck at every point", async () => {
  await sweep("Event", event);
});

type AnyQueue = Queue<number | null>;

/** Two consumers (one the victim) drain a bounded queue fed by a producer. */
function queueGetScenario(make: () => AnyQueue): Scenario {
  return async (ctx) => {
    const q = make();
    const put: Array<number | null> = [];
    const got: Array<number | null> = [];
    const consumer = (name: string) => async () => {
      const g = ctx.enter(name);
      try {
        for (;;) {
          const item = await ctx.step(`${name} get`, () => q.get());
          got.push(item);
          await q.taskDone();
          if (item === null) return;
          await ctx.step(`${name} work`, () => sleep(0.5));
        }
      } finally {
        ctx.leave(g);
      }
    };
    const c1 = await ctx.spawn("c1", consumer("c1"));
    await ctx.spawnVictim("victim", consumer("victim"));
    const producer = await ctx.spawn("producer", async () => {
      for (const item of [1, 2, 3, 4, 5, null, null]) {
        await ctx.step(`producer put ${item}`, () => q.put(item));
        put.push(item);
      }
    });
    await c1.join();
    await producer.join();
    await ctx.victim!.wait();
    const left: Array<number | null> = [];
    while (!q.empty()) left.push(await q.get());
    return () => {
      assertVictimEnd(ctx);
      assertSameItems([...got, ...left], put, "Queue.get");
      assert.equal(got.filter((x) => x === null).length >= 1, true);
    };
  };
}

Deno.test("sweep: Queue(1).get() struck at every point", async () => {
  await sweep("Queue.get", queueGetScenario(() => new Queue(1)));
});

Deno.test("sweep: PriorityQueue(2).get() struck at every point", async () => {
  await sweep(
    "PriorityQueue.get",
    queueGetScenario(() => new PriorityQueue<number | null>(2) as unknown as AnyQueue),
  );
});

Deno.test("sweep: LifoQueue(2).get() struck at every point", async () => {
  await sweep(
    "LifoQueue.get",
    queueGetScenario(() => new LifoQueue<number | null>(2) as unknown as AnyQueue),
  );
});

/** Two producers (one the victim) fill a queue of 1; what put() returned is what arrives. */
const queuePut: Scenario = async (ctx) => {
  const q = new Queue<number | null>(1);
  const delivered: number[] = [];
  const got: number[] = [];
  const producer = (name: string, base: number) => async () => {
    const g = ctx.enter(name);
    try {
      for (let i = 0; i < 3; i++) {
        await ctx.step(`${name} put ${base + i}`, () => q.put(base + i));
        delivered.push(base + i);
      }
    } finally {
      ctx.leave(g);
    }
  };
  const consumer = await ctx.spawn("consumer", async () => {
    for (;;) {
      const item = await ctx.step("consumer get", () => q.get());
      if (item === null) return;
      got.push(item);
      await ctx.step("consumer work", () => sleep(1));
    }
  });
  const p1 = await ctx.spawn("p1", producer("p1", 10));
  await ctx.spawnVictim("victim", producer("victim", 20));
  await p1.join();
  await ctx.victim!.wait();
  await q.put(null);
  await consumer.join();
  return () => {
    assertVictimEnd(ctx);
    assertSameItems(got, delivered, "Queue.put");
    assert(q.empty());
  };
};

Deno.test("sweep: Queue(1).put() struck at every point", async () => {
  await sweep("Queue.put", queuePut);
});

const queueJoin: Scenario = async (ctx) => {
  const q = new Queue<number>();
  for (let i = 0; i < 3; i++) await q.put(i);
  let joinedAt = -1;
  let doneCount = 0;
  const worker = await ctx.spawn("worker", async () => {
    for (let i = 0; i < 3; i++) {
      await ctx.step("worker get", () => q.get());
      await ctx.step("worker work", () => sleep(1));
      doneCount++;
      await q.taskDone();
    }
  });
  await ctx.spawnVictim("joiner", async () => {
    const g = ctx.enter("joiner");
    try {
      await ctx.step("joiner join", () => q.join());
      joinedAt = doneCount;
      await ctx.step("joiner after", () => sleep(1));
    } finally {
      ctx.leave(g);
    }
  });
  const other = await ctx.spawn("other joiner", () => ctx.step("other join", () => q.join()));
  await worker.join();
  await other.join();
  await ctx.victim!.wait();
  await q.join(); // the count is right: this returns at once
  return () => {
    assertVictimEnd(ctx);
    if (joinedAt !== -1) assert.equal(joinedAt, 3, "join() returned before every item was done");
  };
};

Deno.test("sweep: Queue.join() struck at every point", async () => {
  await sweep("Queue.join", queueJoin);
});

const taskGroup: Scenario = async (ctx) => {
  const members: Task[] = [];
  let membersDoneBeforeParentGoesOn = true;
  await ctx.spawnVictim("parent", async () => {
    const g = ctx.enter("parent");
    try {
      await TaskGroup.scope(async (group) => {
        for (let i = 0; i < 3; i++) {
          members.push(
            await group.spawn(async () => {
              const m = ctx.enter(`member ${i}`);
              try {
                await ctx.step(`member ${i} sleep`, () => sleep(1 + i));
                await ctx.step(`member ${i} sleep again`, () => sleep(1));
                return i;
              } finally {
                ctx.leave(m);
              }
            }, { name: `member ${i}` }),
          );
        }
        await ctx.step("parent sleep in scope", () => sleep(1.5));
      });
    } finally {
      if (members.some((m) => !m.terminated)) membersDoneBeforeParentGoesOn = false;
      ctx.leave(g);
    }
  });
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    assert(membersDoneBeforeParentGoesOn, "a member outlived its group's scope");
    if (ctx.victim!.exception === undefined) {
      assert.deepEqual(members.map((m) => m.result), [0, 1, 2]);
    }
  };
};

Deno.test("sweep: TaskGroup.scope() struck at every point", async () => {
  await sweep("TaskGroup", taskGroup);
});

const taskGroupMember: Scenario = async (ctx) => {
  // The victim is a member: cancelled by someone else, it does not fail the group.
  let joined = false;
  const parent = await ctx.spawn("parent", async () => {
    const group = new TaskGroup();
    await group.spawn(() => ctx.step("m0 sleep", () => sleep(3)));
    await group.spawn(async () => {
      const victimReady = await ctx.spawnVictim("member", async () => {
        const g = ctx.enter("member");
        try {
          await ctx.step("member sleep", () => sleep(1));
          await ctx.step("member sleep again", () => sleep(1));
        } finally {
          ctx.leave(g);
        }
      });
      await victimReady.wait();
    });
    await ctx.step("parent join", () => group.join());
    joined = true;
  });
  await parent.join();
  return () => {
    assertVictimEnd(ctx);
    assert(joined);
  };
};

Deno.test("sweep: a TaskGroup whose member is cancelled by someone else", async () => {
  await sweep("TaskGroup member", taskGroupMember);
});

/** A parent joins a group under `await using` with the given wait mode. */
function taskGroupWait(wait: "any" | "object" | "none"): Scenario {
  return async (ctx) => {
    const members: Task[] = [];
    let outlived = false;
    let winner: unknown = "unset";
    await ctx.spawnVictim("parent", async () => {
      const g = ctx.enter("parent");
      try {
        {
          await using group = new TaskGroup({ wait });
          for (let i = 0; i < 3; i++) {
            members.push(
              await group.spawn(async () => {
                const m = ctx.enter(`member ${i}`);
                try {
                  await ctx.step(`member ${i} sleep`, () => sleep(1 + i));
                  return i === 0 && wait === "object" ? undefined : i;
                } finally {
                  ctx.leave(m);
                }
              }),
            );
          }
          await ctx.step("parent join", () => group.join());
          // "none" has no winner: its `result` throws CurioError (API.md, Task groups).
          winner = wait === "none" ? group.completed : group.result;
        }
      } finally {
        if (members.some((m) => !m.terminated)) outlived = true;
        ctx.leave(g);
      }
    });
    await ctx.victim!.wait();
    return () => {
      assertVictimEnd(ctx);
      assert(!outlived, "a member outlived its group");
      if (ctx.victim!.exception === undefined) {
        assert.equal(winner, wait === "any" ? 0 : wait === "object" ? 1 : null);
      }
    };
  };
}

for (const wait of ["any", "object", "none"] as const) {
  Deno.test(`sweep: TaskGroup({ wait: "${wait}" }) under await using, struck at every point`, async () => {
    await sweep(`TaskGroup ${wait}`, taskGroupWait(wait));
  });
}
