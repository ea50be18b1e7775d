import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  currentTask,
  MockClock,
  Queue,
  run,
  sleep,
  spawn,
  type Task,
  timeoutAfter,
} from "@curio/curio";
import { until, virtual } from "./_util.ts";

Deno.test("Queue: the manual's producer/consumer with join()", async () => {
  const trace: string[] = [];
  await run(async () => {
    const q = new Queue<number>();
    const producer = await spawn(async () => {
      for (let n = 0; n < 3; n++) await q.put(n);
      await q.join();
      trace.push("producer done");
    });
    const consumer = await spawn(async () => {
      for (;;) {
        const item = await q.get();
        trace.push(`consumer got ${item}`);
        await sleep(1);
        await q.taskDone();
      }
    });
    await producer.join();
    await consumer.cancel();
  }, virtual());
  assert.deepEqual(trace, ["consumer got 0", "consumer got 1", "consumer got 2", "producer done"]);
});

Deno.test("Queue.get() waits in QUEUE_GET; getters are served in FIFO order", async () => {
  const got: string[] = [];
  await run(async () => {
    const q = new Queue<number>();
    const getters: Task[] = [];
    for (const name of ["a", "b", "c"]) {
      getters.push(await spawn(async () => got.push(`${name}${await q.get()}`)));
    }
    await until(() => getters.every((t) => t.state === "QUEUE_GET"));
    for (let i = 1; i <= 3; i++) await q.put(i);
    assert.equal(q.qsize(), 0, "items went straight to the waiting getters");
    for (const t of getters) await t.join();
  });
  assert.deepEqual(got, ["a1", "b2", "c3"]);
});

Deno.test("Queue.put() hands the item to a waiting getter; a later get() cannot barge in", async () => {
  await run(async () => {
    const q = new Queue<string>();
    const waiter = await spawn(() => q.get());
    await until(() => waiter.state === "QUEUE_GET");
    await q.put("for the waiter");
    await q.put("for whoever comes next");
    assert.equal(await q.get(), "for whoever comes next");
    assert.equal(await waiter.join(), "for the waiter");
  });
});

Deno.test("Queue(maxsize).put() blocks while full, in QUEUE_PUT, putters in FIFO order", async () => {
  await run(async () => {
    const q = new Queue<string>(2);
    await q.put("a");
    await q.put("b");
    assert.equal(q.full(), true);
    const p1 = await spawn(() => q.put("c"));
    const p2 = await spawn(() => q.put("d"));
    await until(() => p1.state === "QUEUE_PUT" && p2.state === "QUEUE_PUT");
    assert.equal(q.qsize(), 2);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await q.get());
    await p1.join();
    await p2.join();
    assert.deepEqual(got, ["a", "b", "c", "d"]);
    assert.equal(q.empty(), true);
    assert.equal(q.full(), false);
  });
});

Deno.test("Queue.join() waits in QUEUE_JOIN until every item is marked done", async () => {
  await run(async () => {
    const q = new Queue<number>();
    await q.join(); // nothing put: returns at once
    await q.put(1);
    await q.put(2);
    const joiner = await spawn(() => q.join());
    await until(() => joiner.state === "QUEUE_JOIN");
    await q.get();
    await q.taskDone();
    await sleep(0);
    assert.equal(joiner.state, "QUEUE_JOIN");
    await q.get();
    await q.taskDone();
    await joiner.join();
  });
});

Deno.test("Queue.taskDone() more times than items were put throws, count unchanged", async () => {
  await run(async () => {
    const q = new Queue<number>();
    const err = await q.taskDone().catch((e) => e);
    assert(err instanceof Error);
    assert.equal(
      err.message,
      "Cannot mark task done: taskDone() was called more times than items were put",
    );
    await q.put(1);
    await q.get();
    await q.taskDone();
    await assert.rejects(q.taskDone(), /more times than items were put/);
    await q.join();
  });
});

Deno.test("Queue rejects a bad maxsize", () => {
  assert.throws(() => new Queue(-1), RangeError);
  assert.throws(() => new Queue(1.5), RangeError);
  assert.throws(() => new Queue(NaN), RangeError);
  assert.throws(() => new Queue("3" as never), TypeError);
  assert.equal(new Queue().maxsize, 0);
  assert.equal(new Queue(0).full(), false);
});

Deno.test("Queue supports for await, leaving the loop with break", async () => {
  await run(async () => {
    const q = new Queue<number>();
    const producer = await spawn(async () => {
      for (let n = 1; n <= 3; n++) {
        await sleep(1);
        await q.put(n);
      }
      await q.put(0);
    });
    const seen: number[] = [];
    for await (const item of q) {
      if (item === 0) break;
      seen.push(item);
    }
    await producer.join();
    assert.deepEqual(seen, [1, 2, 3]);
  }, virtual());
});

Deno.test("Queue.put() works from a plain callback; get() outside a task rejects", async () => {
  const q = new Queue<string>();
  await q.put("outside");
  assert.equal(q.qsize(), 1);
  await assert.rejects(q.get(), CurioError);
  await run(async () => {
    assert.equal(await q.get(), "outside");
    const getter = await spawn(() => q.get());
    await until(() => getter.state === "QUEUE_GET");
    setTimeout(() => void q.put("from a timer"), 1);
    assert.equal(await getter.join(), "from a timer");
  });
  const full = new Queue<string>(1);
  await full.put("x");
  await assert.rejects(full.put("y"), CurioError);
  assert.equal(full.qsize(), 1);
});

Deno.test("Queue.get() of a non-empty queue is not a cancellation point", async () => {
  const clock = new MockClock({ autojump: 0 });
  const trace: string[] = [];
  await run(async () => {
    const q = new Queue<number>(1);
    await q.put(1);
    const t = await spawn(async () => {
      await sleep(1);
      trace.push(`got ${await q.get()}`); // a cancel is pending, but get() does not block
      await q.put(2); // room again: does not block either
      trace.push("put 2");
      await sleep(0); // the pending cancel lands here
      trace.push("not reached");
    });
    await until(() => t.state === "TIME_SLEEP");
    clock.jump(1);
    await t.cancel();
    assert(t.exception instanceof CancelledError);
    assert.equal(q.qsize(), 1);
  }, { clock });
  assert.deepEqual(trace, ["got 1", "put 2"]);
});

Deno.test("Queue keeps FIFO order across many items (storage compaction)", async () => {
  await run(async () => {
    const q = new Queue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1500; i++) await q.put(next++);
      for (let i = 0; i < 1200; i++) assert.equal(await q.get(), expected++);
    }
    while (!q.empty()) assert.equal(await q.get(), expected++);
    assert.equal(expected, next);
  });
});

Deno.test("Queue(1): two get()s in one cycle leave no putter blocked while the queue has room", async () => {
  // Two putters wait on a full Queue(1); two getters take in the same cycle.
  // The first get frees a slot for putter 1, whose item then goes straight to
  // the second getter: the slot is free again and putter 2 must get it.
  const trace: string[] = [];
  await run(async () => {
    const q = new Queue<string>(1);
    await q.put("x");
    const p1 = await spawn(async () => {
      await q.put("p1");
      trace.push("p1 put");
    });
    const p2 = await spawn(async () => {
      await q.put("p2");
      trace.push("p2 put");
    });
    const g1 = await spawn(async () => trace.push(`g1 got ${await q.get()}`));
    const g2 = await spawn(async () => trace.push(`g2 got ${await q.get()}`));
    await p1.join();
    await g1.join();
    await g2.join();
    await joinWithin(10, p2);
    assert.equal(q.qsize(), 1, "putter 2's item is in the queue");
    assert.equal(await q.get(), "p2");
  }, virtual());
  assert.deepEqual(trace, ["g1 got x", "p1 put", "g2 got p1", "p2 put"]);
});

/** Joins `task`, failing the test (instead of hanging) if it is still blocked after `seconds`. */
async function joinWithin(seconds: number, task: Task): Promise<void> {
  await timeoutAfter(seconds, () => task.join()).catch((error) => {
    throw new Error(
      `task ${task.name} is still blocked (${task.state}) though the queue has room`,
      {
        cause: error,
      },
    );
  });
}

Deno.test("Queue keeps FIFO order while its store wraps around and grows (puts and gets interleaved unevenly)", async () => {
  const got: number[] = [];
  await run(async () => {
    const q = new Queue<number>();
    let next = 0;
    // Rounds of 1..40 puts then a few gets: the store's ring wraps many
    // times and doubles several times with items still in it.
    for (let round = 1; round <= 40; round++) {
      for (let i = 0; i < round; i++) await q.put(next++);
      for (let i = 0; i < Math.floor(round / 3); i++) got.push(await q.get());
    }
    while (!q.empty()) got.push(await q.get());
  });
  assert.equal(got.length, 820, "every item put came out");
  got.forEach((value, i) =>
    assert.equal(value, i, `item ${i} came out as ${value}: FIFO order lost`)
  );
});

Deno.test("Queue(1): one task's two blocked put()s under Promise.all both go in, in order, each as its wake comes", async () => {
  // The first woken put is not the task's last wait, so its item goes in
  // while the putter does not hold the kernel; neither item may be lost,
  // doubled or reordered, and the slot accounting must end at an empty queue.
  const got: string[] = [];
  await run(async () => {
    const q = new Queue<string>(1);
    await q.put("a");
    const putter = await spawn(() => Promise.all([q.put("b"), q.put("c")]));
    assert.equal(putter.state, "QUEUE_PUT", "both puts should block on the full queue");
    for (let i = 0; i < 3; i++) {
      got.push(
        await timeoutAfter(10, () => q.get()).catch((error) => {
          throw new Error(`item ${i + 1} of 3 never arrived (got ${got.join(", ")})`, {
            cause: error,
          });
        }),
      );
    }
    await joinWithin(10, putter);
    assert.equal(q.qsize(), 0, "every item should have been taken");
    assert.ok(q.empty() && !q.full());
  }, virtual());
  assert.deepEqual(got, ["a", "b", "c"]);
});

Deno.test("Queue(1): the getter that one of a Promise.all's puts hands its item to runs alone until it blocks (rule 1)", async () => {
  const trace: string[] = [];
  await run(async () => {
    const q = new Queue<string>(1);
    await q.put("a");
    const putter = await spawn(async () => {
      await Promise.all([q.put("b"), q.put("c")]);
      trace.push("putter resumed");
    });
    trace.push(`got ${await q.get()}`);
    trace.push(`got ${await q.get()}`); // blocks; the first put hands "b" over
    for (let i = 1; i <= 3; i++) {
      trace.push(`getter ${i}`);
      await currentTask(); // does not block: the getter keeps the kernel
    }
    trace.push(`got ${await q.get()}`); // blocks until the second put runs
    await putter.join();
  });
  assert.deepEqual(trace, [
    "got a",
    "got b",
    "getter 1",
    "getter 2",
    "getter 3",
    "putter resumed",
    "got c",
  ]);
});
