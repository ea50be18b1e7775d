import assert from "node:assert/strict";
import { abide, Lock, run, runInThread, SharedLock, sleep, spawn } from "@curio/curio";

Deno.test("abide() calls an async function with its arguments", async () => {
  const out = await run(() => abide(async (a: number, b: number) => a + b, 2, 3));
  assert.equal(out, 5);
});

Deno.test("abide() runs a synchronous function in a worker thread", async () => {
  const inWorker = await run(() =>
    abide(() => typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope)
  );
  assert.equal(inWorker, "function");
});

Deno.test("abide() returns curio's own Lock (and any async context) as is", async () => {
  const trace: string[] = [];
  await run(async () => {
    const lck = new Lock();
    assert.equal(abide(lck), lck);
    const ctx = { [Symbol.asyncDispose]: () => Promise.resolve() };
    assert.equal(abide(ctx), ctx);
    // The manual: a child written for any lock works with curio's Lock too.
    const child = async (lock: Lock) => {
      await using _ = await abide(lock).acquire();
      trace.push("Child has the lock");
    };
    {
      await using _ = await lck.acquire();
      trace.push("Parent has the lock");
      await spawn(() => child(lck));
      await sleep(0.01);
    }
  });
  assert.deepEqual(trace, ["Parent has the lock", "Child has the lock"]);
});

Deno.test("abide() adapts a SharedLock and rejects anything else with TypeError", async () => {
  const lock = new SharedLock();
  const a = abide(lock);
  assert.equal(abide(lock), a, "one adapter per lock");
  assert.throws(
    () => abide(42 as never),
    (e: unknown) => e instanceof TypeError && /^Cannot abide: expected a function/.test(e.message),
  );
  assert.throws(() => abide({ acquire() {} } as never), TypeError);
  await run(() => runInThread(() => 1)); // keeps the abide->runInThread path warm
});

async function runExample(name: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(`../../examples/${name}`, import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test("abide() example: a thread and a task share a lock (examples/abide_lock.ts)", async () => {
  assert.equal(await runExample("abide_lock.ts"), "Parent has the lock\nChild has the lock\n");
});

Deno.test("abide() example: a thread produces into a queue a task consumes (examples/abide_queue.ts)", async () => {
  const lines = (await runExample("abide_queue.ts")).trimEnd().split("\n");
  assert.deepEqual(lines, [
    ...Array.from({ length: 10 }, (_, n) => `Consumer got ${n}`),
    "Producer done",
    "Consumer done",
  ]);
});
