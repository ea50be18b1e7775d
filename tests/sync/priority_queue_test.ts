import assert from "node:assert/strict";
import { PriorityQueue, Queue, run, spawn } from "@curio/curio";
import { until } from "./_util.ts";

Deno.test("PriorityQueue.get() returns the smallest item first", async () => {
  await run(async () => {
    const q = new PriorityQueue<number>();
    for (const n of [5, 1, 4, 2, 3, 10, 0]) await q.put(n);
    const got = [];
    while (!q.empty()) got.push(await q.get());
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 10]);
    assert(q instanceof Queue);
  });
});

Deno.test("PriorityQueue orders [priority, item] tuples element by element, ties FIFO", async () => {
  await run(async () => {
    const q = new PriorityQueue<[number, string]>();
    await q.put([10, "ten"]);
    await q.put([2, "two-b"]);
    await q.put([9, "nine"]);
    await q.put([2, "two-a"]);
    const got = [];
    while (!q.empty()) got.push((await q.get())[1]);
    assert.deepEqual(got, ["two-a", "two-b", "nine", "ten"]);
  });
});

Deno.test("PriorityQueue keeps insertion order among items that compare equal", async () => {
  await run(async () => {
    const q = new PriorityQueue<{ p: number; name: string }>(0, {
      compare: (a, b) => a.p - b.p,
    });
    for (const name of ["a", "b", "c", "d"]) await q.put({ p: 1, name });
    await q.put({ p: 0, name: "urgent" });
    const got = [];
    while (!q.empty()) got.push((await q.get()).name);
    assert.deepEqual(got, ["urgent", "a", "b", "c", "d"]);
  });
});

Deno.test("PriorityQueue(maxsize) blocks put() while full and hands items to waiting getters", async () => {
  await run(async () => {
    const q = new PriorityQueue<number>(1);
    const getter = await spawn(() => q.get());
    await until(() => getter.state === "QUEUE_GET");
    await q.put(7);
    assert.equal(await getter.join(), 7);
    await q.put(3);
    const putter = await spawn(() => q.put(1));
    await until(() => putter.state === "QUEUE_PUT");
    assert.equal(await q.get(), 3);
    await putter.join();
    assert.equal(await q.get(), 1);
  });
});

Deno.test("PriorityQueue rejects a bad compare or maxsize", () => {
  assert.throws(() => new PriorityQueue(0, { compare: 3 as never }), TypeError);
  assert.throws(() => new PriorityQueue(-1), RangeError);
});
