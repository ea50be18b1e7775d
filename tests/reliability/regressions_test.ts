// Regression tests for bugs the sweep and the fuzz found. Each names the
// scenario that found it.

import assert from "node:assert/strict";
import {
  clock,
  currentTask,
  FileStream,
  MockClock,
  run,
  sleep,
  spawn,
  timeoutAfter,
} from "@curio/curio";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";

/** Runs `main` under MockClock autojump, failing (not hanging) if it wedges. */
async function within<T>(ms: number, main: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`wedged: no progress within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(main, { clock: new MockClock({ autojump: 0 }) }), wedged]);
  } finally {
    clearTimeout(timer);
  }
}

// Found by the "Promise.all" sweep: MockClock's autojump looked for idleness
// only when a task blocked anew, so a task still blocked in a second trap
// after its first one fired left virtual time frozen forever.
Deno.test("MockClock autojump: Promise.all of two sleeps does not wedge", async () => {
  const now = await within(3000, async () => {
    await Promise.all([sleep(1), sleep(2)]);
    return await clock();
  });
  assert.equal(now, 2);
});

Deno.test("MockClock autojump: a task woken in one trap and asleep in another goes on", async () => {
  const now = await within(3000, async () => {
    const q = new KernelQueue();
    await spawn(async () => {
      await sleep(1);
      await _rescheduleTasks(q, 1, "item");
    });
    const [item] = await Promise.all([_waitOnQueue(q, "W"), sleep(5)]);
    assert.equal(item, "item");
    return await clock();
  });
  assert.equal(now, 5);
});

// Found by the "Socket.sendall" io sweep: a cancelled sendall reported
// bytesSent 0 while the peer received ~3.9 MB. io/_writer.ts,
// Writer.writeAll(), catch block: the bytes of the raw write in flight at the
// cancel are added later only `if (pending !== undefined && pending === mine)`
// with `pending = this.#inflight`. But start() clears #inflight as soon as the
// raw write resolves, and the cancelled task reaches its catch only when the
// kernel resumes it, a few microtasks (or an event-loop turn) after the
// interrupt. A raw write that completes in between is never counted.
// Suggested fix: track whether `mine`'s result was awaited (`counted = false`
// before `done += await _futureWait(mine)`, `true` after) and in the catch add
// `mine`'s bytes when it settles whenever `!counted`, whatever #inflight is.
Deno.test("FileStream.write() cancelled while its raw write completes still counts those bytes", async () => {
  const clock = new MockClock(); // no autojump: time moves only when we jump
  const outcome = await run(async () => {
    let finishWrite!: (n: number) => void;
    let rawWrite!: Promise<number>;
    const stream = new FileStream({
      write: (p: Uint8Array) =>
        (rawWrite = new Promise<number>((r) => finishWrite = r)).then(() => p.length),
    });
    const writer = await spawn(async () => {
      try {
        await timeoutAfter(1, () => stream.write(new Uint8Array(10)));
        return "written";
      } catch (e) {
        await stream.flush();
        return (e as { bytesWritten?: number }).bytesWritten;
      }
    });
    while (writer.state !== "WRITE_WAIT") await sleep(0);
    // Registered after the Writer's own callback: runs once the raw write has
    // resolved and before the writer's trap is woken.
    void rawWrite.then(() => clock.jump(1));
    finishWrite(10);
    return await writer.join();
  }, { clock });
  assert.equal(outcome, 10, "the 10 bytes the raw write took were not counted in bytesWritten");
});

// Found by the "communicate/run" external sweep: a cancel that arrives while
// the task is running (not blocked) was delivered to the first trap only. An
// operation made of several traps started together (Popen.communicate feeds
// stdin and drains stdout under Promise.allSettled) then had one branch
// cancelled and the others blocked as if nothing happened, and a second
// cancel is a no-op: the task hung until the child exited by itself. The
// pending cancel must reach every trap started in the same synchronous run.
Deno.test("a pending cancel reaches every trap started together (Promise.allSettled)", async () => {
  const outcome = await within(3000, async () => {
    let settled: string[] = [];
    let settledAt = -1;
    const t = await spawn(async () => {
      const me = await currentTask();
      void spawn(() => me.cancel()); // lands now: we are running, not blocked
      settled = (await Promise.allSettled([sleep(1), sleep(1000)])).map((r) => r.status);
      settledAt = await clock();
      await sleep(5); // delivered once: later waits block normally
    });
    await t.wait();
    return { settled, settledAt, end: await clock() };
  });
  assert.deepEqual(outcome.settled, ["rejected", "rejected"]);
  assert.equal(outcome.settledAt, 0, "the second sleep was not cancelled");
  assert.equal(outcome.end, 5, "a wait after the cancel was handled did not block");
});
