import assert from "node:assert/strict";
import { clock, MockClock, monotonicClock, run, sleep, spawn } from "@curio/curio";
import { MockClock as MockFromTesting } from "@curio/curio/testing";

Deno.test("MockClock starts at 0 and moves only by jump()", () => {
  const c = new MockClock();
  assert.equal(c.now(), 0);
  c.jump(1.25);
  c.jump(0);
  assert.equal(c.now(), 1.25);
  assert.equal(c.autojump, null);
});

Deno.test("MockClock is also exported from the testing entry point", () => {
  assert.equal(MockFromTesting, MockClock);
});

Deno.test("MockClock rejects bad input", () => {
  assert.throws(() => new MockClock({ autojump: -1 }), RangeError);
  assert.throws(() => new MockClock({ autojump: NaN }), RangeError);
  const c = new MockClock();
  assert.throws(() => c.jump(-1), RangeError);
  assert.throws(() => c.jump(NaN), RangeError);
  assert.equal(c.now(), 0, "a rejected jump leaves the time unchanged");
});

Deno.test("MockClock.jump() wakes exactly the tasks whose deadlines passed", async () => {
  const mock = new MockClock();
  await run(async () => {
    const woke: number[] = [];
    for (const s of [1, 2, 3]) {
      await spawn(async () => {
        await sleep(s);
        woke.push(s);
      });
    }
    mock.jump(2);
    await sleep(0);
    await sleep(0);
    assert.deepEqual(woke, [1, 2]);
    mock.jump(1);
    await sleep(0);
    await sleep(0);
    assert.deepEqual(woke, [1, 2, 3]);
  }, { clock: mock });
});

Deno.test("MockClock autojump runs a virtual hour deterministically", async () => {
  const order: string[] = [];
  await run(async () => {
    const a = await spawn(async () => {
      for (let i = 0; i < 60; i++) await sleep(60);
      order.push(`a@${await clock()}`);
    });
    const b = await spawn(async () => {
      await sleep(1800);
      order.push(`b@${await clock()}`);
    });
    await a.join();
    await b.join();
  }, { clock: new MockClock({ autojump: 0 }) });
  assert.deepEqual(order, ["b@1800", "a@3600"]);
});

Deno.test("MockClock autojump waits for its real-time threshold of idleness", async () => {
  await run(async () => {
    await sleep(10);
    assert.equal(await clock(), 10);
  }, { clock: new MockClock({ autojump: 0.01 }) });
});

Deno.test("the default clock is monotonic seconds", async () => {
  const a = monotonicClock.now();
  await run(async () => {
    const k = await clock();
    assert(k >= a);
    await sleep(0.005);
    assert((await clock()) >= k + 0.004);
  });
});

Deno.test("real clock: deadlines that come due while the kernel is busy all fire, never early, in deadline order", async () => {
  // A spinner keeps the kernel switching, so the deadlines are found due by
  // the kernel's own look at the clock rather than by the host timer.
  const woke: { deadline: number; at: number }[] = [];
  await run(async () => {
    let done = false;
    const spinner = await spawn(async () => {
      while (!done) await sleep(0);
    });
    const sleepers = [];
    for (let i = 0; i < 40; i++) {
      const seconds = 0.001 * (1 + (i % 8));
      sleepers.push(
        await spawn(async () => {
          const deadline = (await clock()) + seconds;
          await sleep(seconds);
          woke.push({ deadline, at: await clock() });
        }),
      );
    }
    for (const t of sleepers) await t.join();
    done = true;
    await spinner.join();
  });
  assert.equal(woke.length, 40, "every sleeper woke");
  for (const { deadline, at } of woke) {
    assert.ok(at >= deadline - 1e-9, `a sleeper woke ${deadline - at} s before its deadline`);
  }
  // The recorded deadline is read a hair before sleep() computes its own,
  // so only a gap larger than that slack would be a wrong order.
  for (let k = 1; k < woke.length; k++) {
    assert.ok(
      woke[k - 1]!.deadline <= woke[k]!.deadline + 0.0005,
      `sleeper ${k - 1} (deadline ${woke[k - 1]!.deadline}) woke before sleeper ${k} (deadline ${
        woke[k]!.deadline
      }): out of deadline order`,
    );
  }
});
