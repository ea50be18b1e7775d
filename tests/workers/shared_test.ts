import assert from "node:assert/strict";
import {
  abide,
  AsyncSharedLock,
  CurioError,
  QueueEmpty,
  QueueFull,
  run,
  runInThread,
  SharedLock,
  SharedQueue,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

Deno.test("SharedLock: a thread holds it while a task waits in LOCK_ACQUIRE without blocking the kernel", async () => {
  const trace: string[] = [];
  const lock = new SharedLock();
  await run(async () => {
    let ticks = 0;
    const ticker = await spawn(async () => {
      for (;;) {
        await sleep(0.01);
        ticks++;
      }
    }, { daemon: true });
    const thread = await spawn(() =>
      runInThread((l: SharedLock) => {
        l.acquire();
        const until = Date.now() + 200;
        while (Date.now() < until) { /* hold it */ }
        l.release();
        return "thread released";
      }, lock)
    );
    while (!lock.locked()) await sleep(0.001);
    const child = await spawn(async () => {
      await using _ = await abide(lock).acquire();
      trace.push("task has the lock");
    });
    await sleep(0.05);
    trace.push(`task is ${child.state}`);
    await child.join();
    trace.push(await thread.join());
    assert(ticks >= 5, `the kernel kept running, ticker ticked ${ticks} times`);
    await ticker.cancel();
  });
  assert.deepEqual(trace, ["task is LOCK_ACQUIRE", "task has the lock", "thread released"]);
  assert.equal(lock.locked(), false);
});

Deno.test("SharedLock: a cancelled abide(lock).acquire() takes nothing", async () => {
  const lock = new SharedLock();
  lock.acquire();
  await run(async () => {
    await assert.rejects(timeoutAfter(0.05, () => abide(lock).acquire()), TaskTimeout);
    assert.equal(lock.locked(), true);
    lock.release();
    const alock = await abide(lock).acquire();
    assert(alock instanceof AsyncSharedLock);
    assert.equal(alock.lock, lock);
    await alock.release();
  });
  assert.equal(lock.locked(), false);
});

Deno.test("SharedLock: blocking acquire() with timeout, non-blocking, release errors", () => {
  const lock = new SharedLock();
  assert.equal(lock.acquire(false), true);
  assert.equal(lock.acquire(false), false);
  assert.equal(lock.acquire(true, 0.01), false);
  lock.release();
  assert.throws(() => lock.release(), /^Error: Cannot release shared lock: it is not held/);
  assert.throws(() => SharedLock.fromBuffer(new SharedArrayBuffer(8)), TypeError);
});

Deno.test("SharedLock: abide(lock).acquire() outside a task rejects with CurioError", async () => {
  await assert.rejects(abide(new SharedLock()).acquire(), CurioError);
});

Deno.test("SharedQueue: FIFO through a small ring that wraps around, any cloneable item", () => {
  const q = new SharedQueue<unknown>(0, { capacity: 64 });
  const make = (i: number): unknown =>
    i % 3 === 0 ? new Map([[i, "x"]]) : i % 3 === 1 ? { n: i } : `item ${"#".repeat(i % 7)}`;
  const got: unknown[] = [];
  q.put(make(0));
  for (let i = 1; i < 100; i++) {
    q.put(make(i));
    got.push(q.get(false));
  }
  got.push(q.get(false));
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => make(i)));
  assert.equal(q.qsize(), 0);
});

Deno.test("SharedQueue: full, empty, timeouts, capacity and clone errors", () => {
  const q = new SharedQueue<unknown>(2);
  q.put(1);
  q.put(2);
  assert.equal(q.full(), true);
  assert.throws(() => q.put(3, false), QueueFull);
  assert.throws(() => q.put(3, true, 0.01), QueueFull);
  assert.equal(q.get(), 1);
  assert.equal(q.get(), 2);
  assert.throws(() => q.get(false), QueueEmpty);
  assert.throws(() => q.get(true, 0.01), QueueEmpty);
  assert.throws(() => q.put(() => 1), (e: unknown) => (e as Error).name === "DataCloneError");
  const small = new SharedQueue<string>(0, { capacity: 16 });
  assert.throws(() => small.put("x".repeat(100)), RangeError);
  assert.throws(() => new SharedQueue(-1), RangeError);
  assert.throws(() => new SharedQueue(0, { capacity: 4 }), RangeError);
  q.taskDone();
  q.taskDone();
  assert.throws(() => q.taskDone(), /more times than items were put/);
});

Deno.test("SharedQueue: a task waiting in abide(q.get) is woken by an unref'd timer (kept alive)", async () => {
  // Nothing but the waiting task holds the event loop: without the kernel's
  // ref'd handle, Deno would exit run() with "promise never resolved".
  const q = new SharedQueue<string>();
  const got = await run(async () => {
    const timer = setTimeout(() => q.put("late"), 50);
    Deno.unrefTimer(timer);
    return await abide(q.get);
  });
  assert.equal(got, "late");
});

Deno.test("SharedQueue: abide(q.put) waits while full, abide(q.join) until all done", async () => {
  const q = new SharedQueue<number>(1);
  const trace: string[] = [];
  await run(async () => {
    await abide(q.put, 1);
    const putter = await spawn(async () => {
      await abide(q.put, 2);
      trace.push("put 2");
    });
    await sleep(0.02);
    trace.push(`putter is ${putter.state}`);
    const joiner = await spawn(async () => {
      await abide(q.join);
      trace.push("joined");
    });
    for (const _ of [1, 2]) {
      const item = await abide(q.get);
      trace.push(`got ${item}`);
      await sleep(0.02);
      await abide(q.taskDone);
    }
    await putter.join();
    await joiner.join();
    await assert.rejects(timeoutAfter(0.02, () => abide(q.get)), TaskTimeout);
  });
  assert.deepEqual(trace, ["putter is QUEUE_PUT", "got 1", "put 2", "got 2", "joined"]);
});

Deno.test("SharedQueue: rebuilt from its buffer in a plain Worker", async () => {
  const q = new SharedQueue<string>();
  const src = `
    import { SharedQueue } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
    self.onmessage = (e) => {
      const q = SharedQueue.fromBuffer(e.data);
      q.put("from a plain worker");
      self.postMessage("done");
    };`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, src);
  const worker = new Worker(new URL("file://" + file), { type: "module" });
  try {
    const got = await run(async () => {
      worker.postMessage(q.buffer);
      return await abide(q.get);
    });
    assert.equal(got, "from a plain worker");
  } finally {
    worker.terminate();
    await Deno.remove(file);
  }
});
