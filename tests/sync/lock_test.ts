import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  Lock,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
} from "@curio/curio";
import { until, virtual } from "./_util.ts";

Deno.test("Lock: the manual's parent/child example runs in order", async () => {
  const trace: string[] = [];
  await run(async () => {
    const lck = new Lock();
    {
      await using _ = await lck.acquire();
      trace.push("parent has the lock");
      await spawn(async () => {
        trace.push("child wants the lock");
        await using _ = await lck.acquire();
        trace.push("child has the lock");
      });
      await sleep(5);
      trace.push("parent releases");
    }
  }, virtual());
  assert.deepEqual(trace, [
    "parent has the lock",
    "child wants the lock",
    "parent releases",
    "child has the lock",
  ]);
});

Deno.test("Lock.acquire() serves waiters in FIFO order with direct hand-off", async () => {
  const order: number[] = [];
  await run(async () => {
    const lck = new Lock();
    await lck.acquire();
    const tasks: Task[] = [];
    for (let i = 0; i < 5; i++) {
      tasks.push(
        await spawn(async () => {
          await lck.acquire();
          order.push(i);
          await sleep(0);
          await lck.release();
        }),
      );
    }
    await until(() => tasks.every((t) => t.state === "LOCK_ACQUIRE"));
    await lck.release();
    // A newcomer must not barge in: the lock went straight to the first waiter.
    assert.equal(lck.locked(), true);
    const late = await spawn(async () => {
      await lck.acquire();
      order.push(99);
      await lck.release();
    });
    for (const t of tasks) await t.join();
    await late.join();
  });
  assert.deepEqual(order, [0, 1, 2, 3, 4, 99]);
});

Deno.test("Lock.acquire() resolves to the lock; locked() tracks it", async () => {
  await run(async () => {
    const lck = new Lock();
    assert.equal(lck.locked(), false);
    assert.equal(await lck.acquire(), lck);
    assert.equal(lck.locked(), true);
    await lck.release();
    assert.equal(lck.locked(), false);
  });
});

Deno.test("Lock.release() when not held throws and changes nothing", async () => {
  await run(async () => {
    const lck = new Lock();
    const err = await lck.release().catch((e) => e);
    assert(err instanceof Error);
    assert.equal(err.message, "Cannot release lock: it is not held; release only after acquire()");
    assert.equal(lck.locked(), false);
    await lck.acquire();
    await lck.release();
  });
});

Deno.test("Lock.acquire() of a free lock is not a cancellation point", async () => {
  const clock = new MockClock({ autojump: 0 });
  const trace: string[] = [];
  await run(async () => {
    const lck = new Lock();
    const t = await spawn(async () => {
      await sleep(1);
      await using _ = await lck.acquire(); // free: completes although a cancel is pending
      trace.push(`holding: ${lck.locked()}`);
      await sleep(0); // the pending cancel lands here; the lock is released on the way out
      trace.push("not reached");
    });
    await until(() => t.state === "TIME_SLEEP");
    clock.jump(1); // wakes t; the cancel below arrives before it resumes
    await t.cancel();
    assert(t.exception instanceof CancelledError);
    assert.equal(lck.locked(), false);
  }, { clock });
  assert.deepEqual(trace, ["holding: true"]);
});

Deno.test("Lock.acquire() of a held lock is a cancellation point that leaves no trace", async () => {
  await run(async () => {
    const lck = new Lock();
    await lck.acquire();
    const t = await spawn(() => lck.acquire());
    await until(() => t.state === "LOCK_ACQUIRE");
    await t.cancel();
    await lck.release();
    assert.equal(lck.locked(), false, "the lock must not be handed to the cancelled waiter");
  });
});

Deno.test("Lock.acquire() outside a task rejects with CurioError", async () => {
  await assert.rejects(new Lock().acquire(), CurioError);
});

Deno.test("Lock works with `await using` when the block throws", async () => {
  await run(async () => {
    const lck = new Lock();
    await assert.rejects(async () => {
      await using _ = await lck.acquire();
      throw new RangeError("inside");
    }, RangeError);
    assert.equal(lck.locked(), false);
  });
});
