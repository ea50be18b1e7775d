import assert from "node:assert/strict";
import { CancelledError, CurioError, Event, MockClock, run, sleep, spawn } from "@curio/curio";
import { until, virtual } from "./_util.ts";

Deno.test("Event.wait() wakes the manual's three waiters once set() is called", async () => {
  const trace: string[] = [];
  await run(async () => {
    const evt = new Event();
    for (const name of ["w1", "w2", "w3"]) {
      await spawn(async () => {
        trace.push(`${name} waiting`);
        await evt.wait();
        trace.push(`${name} running`);
      });
    }
    await sleep(5);
    trace.push("setting");
    await evt.set();
  }, virtual());
  assert.deepEqual(trace, [
    "w1 waiting",
    "w2 waiting",
    "w3 waiting",
    "setting",
    "w1 running",
    "w2 running",
    "w3 running",
  ]);
});

Deno.test("Event.wait() shows EVENT_WAIT and returns at once once set", async () => {
  await run(async () => {
    const evt = new Event();
    const t = await spawn(() => evt.wait());
    await until(() => t.state === "EVENT_WAIT");
    await evt.set();
    await t.join();
    await evt.wait(); // set: no waiting
    assert.equal(evt.isSet(), true);
  });
});

Deno.test("Event.clear() makes wait() block again", async () => {
  await run(async () => {
    const evt = new Event();
    await evt.set();
    evt.clear();
    assert.equal(evt.isSet(), false);
    const t = await spawn(() => evt.wait());
    await sleep(1);
    assert.equal(t.state, "EVENT_WAIT");
    await evt.set();
    await t.join();
  }, virtual());
});

Deno.test("Event.wait() on a set event is not a cancellation point", async () => {
  const clock = new MockClock({ autojump: 0 });
  const trace: string[] = [];
  await run(async () => {
    const evt = new Event();
    await evt.set();
    const t = await spawn(async () => {
      await sleep(1);
      await evt.wait(); // a cancel is pending here, but wait() does not block
      trace.push("past the wait");
      await sleep(0); // the pending cancel lands here
      trace.push("not reached");
    });
    await until(() => t.state === "TIME_SLEEP");
    clock.jump(1); // wakes t; the cancel below arrives before it resumes
    await t.cancel();
    assert(t.exception instanceof CancelledError);
  }, { clock });
  assert.deepEqual(trace, ["past the wait"]);
});

Deno.test("Event.set() works from a plain callback; wait() outside a task rejects", async () => {
  const evt = new Event();
  await assert.rejects(evt.wait(), CurioError);
  await run(async () => {
    const t = await spawn(() => evt.wait());
    await until(() => t.state === "EVENT_WAIT");
    queueMicrotask(() => void evt.set());
    await t.join();
  }, { clock: new MockClock({ autojump: 0 }) });
  await assert.rejects(evt.wait(), CurioError); // set, but still not inside a task
});

Deno.test("Event.wait() called while set returns even if clear() follows at once", async () => {
  await run(async () => {
    const evt = new Event();
    await evt.set();
    const waiting = evt.wait();
    evt.clear();
    assert.equal(await waiting, undefined);
  });
});
