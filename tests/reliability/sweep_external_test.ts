// Cancellation sweep over work outside the kernel: child processes
// (Popen pipes, communicate, wait, subprocess.run) and worker threads
// (runInThread). Struck at every point, nothing is left running: the child
// is gone (not even a zombie) and the worker pool still serves the next
// call. Real processes and threads, so these run under an autojump and do not
// require a replay to match the clean run point for point.

import assert from "node:assert/strict";
import { runInThread, timeoutAfter } from "@curio/curio";
import { PIPE, Popen, run as runProcess } from "@curio/curio/subprocess";
import { assertVictimEnd, type Scenario, sweep, type SweepOptions } from "./_sweep.ts";

const EXTERNAL: SweepOptions = { autojump: 0.5, nondeterministic: true, realLimitMs: 30_000 };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Whether process `pid` still exists (running or a zombie nobody reaped). */
function alive(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The state is the field after the parenthesised command name.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

const pipes: Scenario = async (ctx) => {
  const pids: number[] = [];
  let output = "";
  await ctx.spawnVictim("parent", async () => {
    const g = ctx.enter("parent");
    try {
      await using p = new Popen(["sh", "-c", "read x; echo got $x; sleep 0.02; echo bye"], {
        stdin: PIPE,
        stdout: PIPE,
      });
      pids.push(p.pid);
      ctx.onWedge.push(() => Deno.kill(p.pid, "SIGKILL"));
      await ctx.step("write", () => p.stdin!.write(enc.encode("hello\n")));
      await ctx.step("close stdin", () => p.stdin!.close());
      output += dec.decode(await ctx.step("readline", () => p.stdout!.readline()));
      output += dec.decode(await ctx.step("readall", () => p.stdout!.readall()));
      assert.equal(await ctx.step("wait", () => p.wait()), 0);
    } finally {
      ctx.leave(g);
    }
  });
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    for (const pid of pids) {
      assert.equal(alive(pid), undefined, `child ${pid} is still there (state ${alive(pid)})`);
    }
    if (ctx.victim!.exception === undefined) assert.equal(output, "got hello\nbye\n");
  };
};

Deno.test("sweep external: a Popen with pipes, struck at every point, leaves no child behind", async () => {
  await sweep("Popen pipes", pipes, EXTERNAL);
});

const communicate: Scenario = async (ctx) => {
  const pids: number[] = [];
  await ctx.spawnVictim("parent", async () => {
    const g = ctx.enter("parent");
    try {
      const p = new Popen(["sh", "-c", "cat; sleep 0.02"], { stdin: PIPE, stdout: PIPE });
      pids.push(p.pid);
      ctx.onWedge.push(() => Deno.kill(p.pid, "SIGKILL"));
      const [out] = await ctx.step("communicate", () => p.communicate(enc.encode("data")));
      assert.equal(dec.decode(out!), "data");
      const done = await ctx.step(
        "run",
        () => runProcess(["sh", "-c", "sleep 0.02; echo ok"], { stdout: PIPE }),
      );
      assert.equal(dec.decode(done.stdout!), "ok\n");
    } finally {
      ctx.leave(g);
    }
  });
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    for (const pid of pids) {
      assert.equal(alive(pid), undefined, `child ${pid} is still there (state ${alive(pid)})`);
    }
  };
};

Deno.test("sweep external: communicate() and subprocess.run() struck at every point kill and reap", async () => {
  await sweep("communicate/run", communicate, EXTERNAL);
});

const threads: Scenario = async (ctx) => {
  const results: number[] = [];
  await ctx.spawnVictim("caller", async () => {
    const g = ctx.enter("caller");
    try {
      for (let i = 0; i < 3; i++) {
        results.push(
          await ctx.step(`runInThread ${i}`, () =>
            runInThread((n: number) => {
              const until = Date.now() + 10;
              while (Date.now() < until) { /* busy */ }
              return n * 2;
            }, i)),
        );
      }
    } finally {
      ctx.leave(g);
    }
  });
  await ctx.victim!.wait();
  // The pool is not wedged by a call cancelled at any point.
  const next = await timeoutAfter(20, () => runInThread((x: number) => x + 1, 41));
  return () => {
    assertVictimEnd(ctx);
    assert.equal(next, 42);
    assert.deepEqual(results, [0, 2, 4].slice(0, results.length));
  };
};

Deno.test("sweep external: runInThread() struck at every point never wedges the pool", async () => {
  await sweep("runInThread", threads, EXTERNAL);
});
