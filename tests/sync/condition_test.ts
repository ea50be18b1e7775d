import assert from "node:assert/strict";
import {
  CancelledError,
  Condition,
  Lock,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { until, virtual } from "./_util.ts";

Deno.test("Condition: the manual's producer/consumer example", async () => {
  const trace: string[] = [];
  await run(async () => {
    const cond = new Condition();
    const items: number[] = [];
    const consumer = await spawn(async () => {
      for (;;) {
        let item: number;
        {
          await using _ = await cond.acquire();
          while (items.length === 0) await cond.wait();
          item = items.shift()!;
        }
        trace.push(`got ${item}`);
      }
    });
    await spawn(async () => {
      for (let n = 0; n < 3; n++) {
        {
          await using _ = await cond.acquire();
          items.push(n);
          trace.push(`put ${n}`);
          await cond.notify();
        }
        await sleep(1);
      }
      await consumer.cancel();
    });
  }, virtual());
  assert.deepEqual(trace, ["put 0", "got 0", "put 1", "got 1", "put 2", "got 2"]);
});

Deno.test("Condition.wait() releases the lock while waiting and holds it again after", async () => {
  await run(async () => {
    const cond = new Condition();
    const t = await spawn(async () => {
      await cond.acquire();
      await cond.wait();
      const held = cond.locked();
      await cond.release();
      return held;
    });
    await until(() => t.state === "COND_WAIT");
    assert.equal(cond.locked(), false);
    await cond.acquire();
    await cond.notify();
    await sleep(0);
    assert.equal(t.state, "LOCK_ACQUIRE", "notified, it waits for the lock");
    await cond.release();
    assert.equal(await t.join(), true);
  });
});

Deno.test("Condition.notify(n) wakes n waiters in FIFO order; notifyAll() the rest", async () => {
  const woke: number[] = [];
  await run(async () => {
    const cond = new Condition(new Lock());
    const tasks: Task[] = [];
    for (let i = 0; i < 5; i++) {
      tasks.push(
        await spawn(async () => {
          await using _ = await cond.acquire();
          await cond.wait();
          woke.push(i);
        }),
      );
    }
    await until(() => tasks.every((t) => t.state === "COND_WAIT"));
    {
      await using _ = await cond.acquire();
      await cond.notify(2);
    }
    await until(() => woke.length === 2);
    await sleep(1);
    assert.deepEqual(woke, [0, 1]);
    {
      await using _ = await cond.acquire();
      await cond.notifyAll();
    }
    for (const t of tasks) await t.join();
  }, virtual());
  assert.deepEqual(woke, [0, 1, 2, 3, 4]);
});

Deno.test("Condition.waitFor() checks the predicate first and returns its truthy value", async () => {
  await run(async () => {
    const cond = new Condition();
    await cond.acquire();
    let calls = 0;
    assert.equal(await cond.waitFor(() => ++calls && "ready"), "ready");
    assert.equal(calls, 1);
    await cond.release();

    let count = 0;
    const t = await spawn(async () => {
      await using _ = await cond.acquire();
      return await cond.waitFor(() => count >= 3 && count);
    });
    for (let i = 0; i < 3; i++) {
      await until(() => t.state === "COND_WAIT");
      await using _ = await cond.acquire();
      count++;
      await cond.notify();
    }
    assert.equal(await t.join(), 3);
  });
});

Deno.test("Condition.wait(), waitFor() and notify() without the lock throw", async () => {
  await run(async () => {
    const cond = new Condition();
    const message = "Cannot wait on condition: its lock is not held; acquire() it first";
    await assert.rejects(cond.wait(), { name: "Error", message });
    await assert.rejects(cond.waitFor(() => true), { name: "Error", message });
    await assert.rejects(cond.notify(), /^Error: Cannot notify condition: its lock is not held/);
    await assert.rejects(cond.notifyAll(), /its lock is not held/);
    await assert.rejects(cond.release(), /Cannot release lock/);
    assert.throws(() => new Condition({} as never), TypeError);
  });
});

Deno.test("Condition.wait() re-acquires the lock before throwing on cancel or timeout", async () => {
  await run(async () => {
    const cond = new Condition();
    const t = await spawn(async () => {
      await cond.acquire();
      try {
        await timeoutAfter(1, () => cond.wait());
      } catch (error) {
        assert(error instanceof TaskTimeout);
        return cond.locked();
      } finally {
        await cond.release();
      }
    });
    assert.equal(await t.join(), true);
    assert.equal(cond.locked(), false);

    // Cancelled while another task holds the lock: wait() throws only once it has the lock.
    const trace: string[] = [];
    const u = await spawn(async () => {
      await cond.acquire();
      try {
        await cond.wait();
      } catch (error) {
        trace.push(`cancelled, lock held: ${cond.locked()}`);
        await cond.release();
        throw error;
      }
    });
    await until(() => u.state === "COND_WAIT");
    await cond.acquire();
    const cancelling = u.cancel();
    await sleep(1);
    assert.equal(u.state, "LOCK_ACQUIRE");
    trace.push("main releases");
    await cond.release();
    await cancelling;
    assert(u.exception instanceof CancelledError);
    assert.deepEqual(trace, ["main releases", "cancelled, lock held: true"]);
  }, virtual());
});

Deno.test("Condition: a notified waiter cancelled while re-acquiring passes the notification on", async () => {
  const clock = new MockClock({ autojump: 0 });
  await run(async () => {
    const cond = new Condition();
    const waiter = (name: string) =>
      spawn(async () => {
        await cond.acquire();
        try {
          await cond.wait();
        } finally {
          await cond.release();
        }
        return name;
      });
    const w1 = await waiter("w1");
    const w2 = await waiter("w2");
    await until(() => w1.state === "COND_WAIT" && w2.state === "COND_WAIT");
    await cond.acquire();
    await cond.notify(1); // goes to w1
    await until(() => w1.state === "LOCK_ACQUIRE");
    const cancelling = w1.cancel();
    await cond.release();
    await cancelling;
    assert(w1.exception instanceof CancelledError);
    // w2 was never notified by us: it got w1's notification.
    assert.equal(await timeoutAfter(10, () => w2.join()), "w2");
  }, { clock });
});
