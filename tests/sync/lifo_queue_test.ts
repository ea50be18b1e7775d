import assert from "node:assert/strict";
import { LifoQueue, Queue, run, spawn } from "@curio/curio";
import { until } from "./_util.ts";

Deno.test("LifoQueue.get() returns the most recent item first", async () => {
  await run(async () => {
    const q = new LifoQueue<string>();
    for (const s of ["a", "b", "c"]) await q.put(s);
    assert.equal(q.qsize(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ["c", "b", "a"]);
    assert(q instanceof Queue);
  });
});

Deno.test("LifoQueue(maxsize) blocks put() while full; join() and taskDone() work", async () => {
  await run(async () => {
    const q = new LifoQueue<number>(2);
    await q.put(1);
    await q.put(2);
    const putter = await spawn(() => q.put(3));
    await until(() => putter.state === "QUEUE_PUT");
    assert.equal(await q.get(), 2);
    await putter.join();
    assert.equal(await q.get(), 3);
    assert.equal(await q.get(), 1);
    for (let i = 0; i < 3; i++) await q.taskDone();
    await q.join();
    assert.throws(() => new LifoQueue(1.5), RangeError);
  });
});
