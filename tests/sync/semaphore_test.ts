import assert from "node:assert/strict";
import { BoundedSemaphore, clock, CurioError, run, Semaphore, sleep, spawn } from "@curio/curio";
import { until, virtual } from "./_util.ts";

Deno.test("Semaphore(2): the manual's ten workers run two at a time", async () => {
  const trace: string[] = [];
  await run(async () => {
    const sema = new Semaphore(2);
    for (let n = 0; n < 10; n++) {
      await spawn(async () => {
        await using _ = await sema.acquire();
        trace.push(`${await clock()}: worker ${n}`);
        await sleep(5);
      });
    }
  }, virtual());
  assert.deepEqual(trace, [
    "0: worker 0",
    "0: worker 1",
    "5: worker 2",
    "5: worker 3",
    "10: worker 4",
    "10: worker 5",
    "15: worker 6",
    "15: worker 7",
    "20: worker 8",
    "20: worker 9",
  ]);
});

Deno.test("Semaphore.acquire() waits in SEMA_ACQUIRE and gets the permit by hand-off", async () => {
  await run(async () => {
    const sema = new Semaphore(1);
    assert.equal(await sema.acquire(), sema);
    assert.equal(sema.value, 0);
    assert.equal(sema.locked(), true);
    const t = await spawn(() => sema.acquire());
    await until(() => t.state === "SEMA_ACQUIRE");
    await sema.release();
    assert.equal(sema.value, 0, "the permit went straight to the waiter");
    await t.join();
    await sema.release();
    assert.equal(sema.value, 1);
    assert.equal(sema.locked(), false);
  });
});

Deno.test("Semaphore(0) blocks until released; release() beyond the start is allowed", async () => {
  await run(async () => {
    const sema = new Semaphore(0);
    await sema.release();
    await sema.release();
    assert.equal(sema.value, 2);
  });
});

Deno.test("Semaphore rejects a bad initial value", () => {
  assert.throws(() => new Semaphore(-1), RangeError);
  assert.throws(() => new Semaphore(1.5), RangeError);
  assert.throws(() => new Semaphore("2" as never), TypeError);
  assert.throws(() => new BoundedSemaphore(-1), RangeError);
  assert.equal(new Semaphore().value, 1);
});

Deno.test("BoundedSemaphore.release() past the initial value throws, count unchanged", async () => {
  await run(async () => {
    const sema = new BoundedSemaphore(2);
    await sema.acquire();
    await sema.release();
    const err = await sema.release().catch((e) => e);
    assert(err instanceof Error);
    assert.match(
      err.message,
      /^Cannot release semaphore: its count would exceed its initial value 2/,
    );
    assert.equal(sema.value, 2);
    assert(sema instanceof Semaphore);
  });
});

Deno.test("Semaphore.acquire() outside a task rejects with CurioError", async () => {
  await assert.rejects(new Semaphore(1).acquire(), CurioError);
});
