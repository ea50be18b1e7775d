import assert from "node:assert/strict";
import {
  CancelledError,
  currentTask,
  MockClock,
  run,
  sleep,
  spawn,
  timeoutAfter,
} from "@curio/curio";
import {
  CalledProcessError,
  checkOutput,
  CompletedProcess,
  DEVNULL,
  PIPE,
  Popen,
  run as runCommand,
  STDOUT,
  TimeoutExpired,
} from "@curio/curio/subprocess";

const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

/** Whether a process with this pid exists (a zombie counts: it is not reaped). */
function exists(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("Popen streams a child's output line by line while it runs (manual example)", async () => {
  const seen: Array<[string, number | null]> = [];
  await run(async () => {
    await using p = new Popen(
      ["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.05; done"],
      { stdout: PIPE },
    );
    for await (const line of p.stdout!) seen.push([text(line), p.returncode]);
    assert.equal(await p.wait(), 0);
  });
  assert.deepEqual(seen.map(([line]) => line), ["line 1\n", "line 2\n", "line 3\n"]);
  assert.equal(seen[0]![1], null, "the first line must arrive while the child still runs");
});

Deno.test("Popen.communicate() feeds input and collects stdout and stderr", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "tr a-z A-Z; echo warn >&2; exit 4"], {
      stdin: PIPE,
      stdout: PIPE,
      stderr: PIPE,
    });
    const [out, err] = await p.communicate(bytes("hello\nworld\n"));
    assert.equal(text(out), "HELLO\nWORLD\n");
    assert.equal(text(err), "warn\n");
    assert.equal(p.returncode, 4);
  });
});

Deno.test("Popen.communicate() of a big output does not deadlock on a full pipe", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"], {
      stdout: PIPE,
      stderr: PIPE,
    });
    const [out, err] = await p.communicate();
    assert.equal(out!.length, 300000);
    assert.equal(err!.length, 200000);
  });
});

Deno.test("Popen.communicate() ignores a child that exits without reading its input", async () => {
  await run(async () => {
    const p = new Popen(["true"], { stdin: PIPE, stdout: PIPE });
    const [out] = await p.communicate(new Uint8Array(1 << 20));
    assert.equal(out!.length, 0);
    assert.equal(p.returncode, 0);
  });
});

Deno.test("Popen.communicate() with input but no stdin pipe throws TypeError", async () => {
  await run(async () => {
    await using p = new Popen(["true"]);
    await assert.rejects(p.communicate(bytes("x")), TypeError);
  });
});

Deno.test("Popen.wait() blocks in PROCESS_WAIT; cancelling it kills the child, pid gone", async () => {
  let pid = 0;
  await run(async () => {
    const p = new Popen(["sleep", "30"]);
    pid = p.pid;
    const waiter = await spawn(() => p.wait());
    assert.equal(waiter.state, "PROCESS_WAIT");
    await waiter.cancel();
    assert(waiter.exception instanceof CancelledError);
    assert.equal(p.returncode, -15, "SIGTERM first");
  });
  assert.equal(exists(pid), false);
});

Deno.test("Popen.wait(timeout) raises TimeoutExpired after killing the child", async () => {
  await run(async () => {
    const p = new Popen(["sleep", "30"]);
    const err = await p.wait(0.2).catch((e) => e);
    assert(err instanceof TimeoutExpired);
    assert.equal(err.timeout, 0.2);
    assert.deepEqual(err.cmd, ["sleep", "30"]);
    assert.equal(err.message, "Command 'sleep 30' timed out after 0.2 seconds");
    assert.equal(p.returncode, -15);
    assert.equal(exists(p.pid), false);
  }, virtual());
});

Deno.test("a child that ignores SIGTERM gets SIGKILL after the grace period", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], { stdout: PIPE });
    assert.equal(text(await p.stdout!.readline()), "ready\n");
    await assert.rejects(timeoutAfter(0.05, () => p.wait()));
    assert.equal(p.returncode, -9);
    assert.equal(exists(p.pid), false);
    await p.stdout!.close();
  });
});

Deno.test("timeoutAfter() around communicate() kills the child and keeps nothing running", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "echo partial; exec sleep 30"], { stdout: PIPE });
    const err = await timeoutAfter(0.2, () => p.communicate()).catch((e) => e);
    assert.equal(err.name, "TaskTimeout");
    assert.notEqual(p.returncode, null);
    assert.equal(exists(p.pid), false);
    assert.equal(p.stdout!.closed, true, "nothing is left open");
  });
});

Deno.test("communicate() cancelled before it blocks still ends a child whose own child holds the pipes", async () => {
  // The cancel is pending when communicate() starts, so only its first trap
  // sees it; `cat` (the shell's child) keeps stdout open and waits on stdin.
  let p: Popen | undefined;
  await run(async () => {
    const victim = await spawn(async () => {
      p = new Popen(["sh", "-c", "cat; sleep 0.02"], { stdin: PIPE, stdout: PIPE });
      const self = await currentTask();
      void spawn(() => self.cancel());
      await p.communicate(bytes("data"));
    });
    await timeoutAfter(20, () => victim.wait());
    assert(victim.exception instanceof CancelledError);
  });
  assert.equal(p!.returncode, -15);
  assert.equal(exists(p!.pid), false);
  assert.equal(p!.stdin!.closed && p!.stdout!.closed, true);
});

Deno.test("run() returns a CompletedProcess; captures only PIPEs", async () => {
  await run(async () => {
    const done = await runCommand(["sh", "-c", "echo out; echo err >&2"], {
      stdout: PIPE,
      stderr: DEVNULL,
    });
    assert(done instanceof CompletedProcess);
    assert.deepEqual(done.args, ["sh", "-c", "echo out; echo err >&2"]);
    assert.equal(done.returncode, 0);
    assert.equal(text(done.stdout), "out\n");
    assert.equal(done.stderr, null);
  });
});

Deno.test("run() with shell: true runs a shell command line", async () => {
  await run(async () => {
    const done = await runCommand("echo $((6 * 7)) | tr 4 X", { shell: true, stdout: PIPE });
    assert.equal(text(done.stdout), "X2\n");
  });
});

Deno.test("run() with check: true raises CalledProcessError with returncode, cmd, output, stderr", async () => {
  await run(async () => {
    const err = await runCommand("echo o; echo e >&2; exit 3", {
      shell: true,
      check: true,
      stdout: PIPE,
      stderr: PIPE,
    }).catch((e) => e);
    assert(err instanceof CalledProcessError);
    assert.equal(err.returncode, 3);
    assert.equal(err.cmd, "echo o; echo e >&2; exit 3");
    assert.equal(text(err.output), "o\n");
    assert.equal(text(err.stderr), "e\n");
    assert.equal(
      err.message,
      "Command 'echo o; echo e >&2; exit 3' returned non-zero exit status 3",
    );
    // Without check, the same status is just reported.
    const done = await runCommand(["false"]);
    assert.equal(done.returncode, 1);
    assert.throws(() => done.checkReturncode(), CalledProcessError);
  });
});

Deno.test("run() with timeout raises TimeoutExpired and leaves no process behind", async () => {
  const file = await Deno.makeTempFile();
  try {
    await run(async () => {
      const err = await runCommand(["sh", "-c", `echo $$ > ${file}; exec sleep 30`], {
        timeout: 0.5,
      }).catch((e) => e);
      assert(err instanceof TimeoutExpired);
      assert.equal(err.timeout, 0.5);
    });
    const pid = Number(await Deno.readTextFile(file));
    assert(pid > 0);
    assert.equal(exists(pid), false);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("run() cancelled from outside kills the child", async () => {
  const pids: number[] = [];
  await run(async () => {
    const task = await spawn(async () => {
      const p = new Popen(["sleep", "30"]);
      pids.push(p.pid);
      try {
        return await p.communicate();
      } finally {
        assert.notEqual(p.returncode, null);
      }
    });
    await sleep(0.05);
    await task.cancel();
  });
  assert.equal(pids.length, 1);
  assert.equal(exists(pids[0]!), false);
});

Deno.test("checkOutput() returns stdout, and raises CalledProcessError with it on failure", async () => {
  await run(async () => {
    assert.equal(text(await checkOutput(["echo", "hi"])), "hi\n");
    const err = await checkOutput(["sh", "-c", "echo half; exit 2"]).catch((e) => e);
    assert(err instanceof CalledProcessError);
    assert.equal(err.returncode, 2);
    assert.equal(text(err.output), "half\n");
    assert.equal(text(err.stdout), "half\n");
  });
});

Deno.test("checkOutput() feeds input and honours cwd and env (env replaces the environment)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await run(async () => {
      const out = await checkOutput(["sh", "-c", 'cat; pwd; echo "$FOO/${HOME:-nohome}"'], {
        input: bytes("in\n"),
        cwd: dir,
        env: { FOO: "bar" },
      });
      assert.equal(text(out), `in\n${await Deno.realPath(dir)}\nbar/nohome\n`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stderr: STDOUT with shell: true merges in exact order", async () => {
  await run(async () => {
    const out = await checkOutput("echo a; echo b >&2; echo c; echo d >&2", {
      shell: true,
      stderr: STDOUT,
    });
    assert.equal(text(out), "a\nb\nc\nd\n");
  });
});

Deno.test("stderr: STDOUT with an argument list interleaves both streams into stdout", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c"], {
      stdout: PIPE,
      stderr: STDOUT,
    });
    assert.equal(p.stderr, null);
    const [out, err] = await p.communicate();
    assert.equal(text(out), "a\nb\nc\n", "writes apart in time keep their order");
    assert.equal(err, null, "stderr went to stdout: it was not piped");
  });
});

Deno.test("Popen of a missing program throws NotFound naming it, at once", async () => {
  assert.throws(
    () => new Popen(["no-such-program-xyz", "arg"]),
    (e: unknown) =>
      e instanceof Deno.errors.NotFound &&
      e.message === 'Cannot run "no-such-program-xyz arg": command "no-such-program-xyz" not found',
  );
  await run(async () => {
    await assert.rejects(runCommand("no-such-program-xyz"), Deno.errors.NotFound);
  });
  assert.throws(
    () => new Popen(["true"], { cwd: "/no/such/dir/xyz" }),
    (e: unknown) => e instanceof Deno.errors.NotFound && /"\/no\/such\/dir\/xyz"/.test(e.message),
  );
});

Deno.test("Popen rejects bad args and redirections with TypeError", () => {
  assert.throws(() => new Popen([]), TypeError);
  assert.throws(() => new Popen([1 as unknown as string]), TypeError);
  assert.throws(() => new Popen(["true"], { stdout: STDOUT }), TypeError);
  assert.throws(
    () => new Popen(["true"], { stdout: Deno.stdout as never }),
    (e: unknown) => e instanceof TypeError && /cannot hand a file or descriptor/.test(e.message),
  );
});

Deno.test("Popen.kill(), terminate() and sendSignal() give negative return codes", async () => {
  await run(async () => {
    const a = new Popen(["sleep", "30"]);
    const b = new Popen(["sleep", "30"]);
    const c = new Popen(["sleep", "30"]);
    a.kill();
    b.terminate();
    c.sendSignal("SIGINT");
    assert.deepEqual([await a.wait(), await b.wait(), await c.wait()], [-9, -15, -2]);
    a.kill(); // already gone: nothing happens
    assert.equal(a.returncode, -9);
  });
});

Deno.test("a Popen nobody waits for is still reaped (no zombie)", async () => {
  const p = new Popen(["true"]);
  for (let i = 0; i < 400 && p.returncode === null; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(p.poll(), 0);
  assert.equal(exists(p.pid), false, "an exited child must not linger as a zombie");
});

Deno.test("await using Popen closes the pipes and waits for the child", async () => {
  let p: Popen | undefined;
  await run(async () => {
    await using child = new Popen(["cat"], { stdin: PIPE, stdout: PIPE });
    p = child;
    await child.stdin!.write(bytes("ping\n"));
    assert.equal(text(await child.stdout!.readline()), "ping\n");
  });
  assert.equal(p!.returncode, 0, "cat ends when its stdin is closed");
  assert.equal(p!.stdin!.closed, true);
  assert.equal(p!.stdout!.closed, true);
});

Deno.test("Popen.wait() outside a task rejects; the child is still reaped", async () => {
  const p = new Popen(["true"]);
  await assert.rejects(p.wait(), /not inside a task/);
  await run(() => p.wait());
  assert.equal(p.returncode, 0);
});

Deno.test("await using Popen in a cancelled task terminates the child instead of waiting", async () => {
  let p: Popen | undefined;
  await run(async () => {
    const task = await spawn(async () => {
      await using child = new Popen(["sh", "-c", "echo started; exec sleep 30"], {
        stdout: PIPE,
      });
      p = child;
      for await (const _line of child.stdout!) {
        // waits here for more output until cancelled
      }
    });
    while (p === undefined) await sleep(0.01);
    await sleep(0.05);
    await task.cancel();
  });
  assert.equal(p!.returncode, -15);
  assert.equal(exists(p!.pid), false);
});

Deno.test("Popen.wait(null) waits without a timeout", async () => {
  await run(async () => {
    const p = new Popen(["true"]);
    assert.equal(await p.wait(null as unknown as undefined), 0);
  });
});

Deno.test("Popen without --allow-run fails with Deno's permission error naming the flag", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const module = new URL("../../io/subprocess.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Popen } from ${JSON.stringify(module)};
try { new Popen(["true"]); console.log("spawned"); }
catch (e) { console.log(e instanceof Deno.errors.NotCapable, (e as Error).message); }`,
    );
    await run(async () => {
      const out = await checkOutput([Deno.execPath(), "run", "--no-prompt", script], {
        env: { ...Deno.env.toObject(), NO_COLOR: "1" },
      });
      assert.match(text(out), /^true .*--allow-run/);
    });
  } finally {
    await Deno.remove(script);
  }
});

Deno.test("stderr: STDOUT with an inherited stdout sends both to this process's stdout", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const module = new URL("../../io/subprocess.ts", import.meta.url).href;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Popen, STDOUT } from ${JSON.stringify(module)};
import { run } from ${JSON.stringify(mod)};
await run(async () => {
  await using p = new Popen(["sh", "-c", "echo out; sleep 0.05; echo err >&2"], { stderr: STDOUT });
  await p.wait();
});`,
    );
    await run(async () => {
      const done = await runCommand([Deno.execPath(), "run", "--allow-run", script], {
        stdout: PIPE,
        stderr: PIPE,
        env: { ...Deno.env.toObject(), NO_COLOR: "1" },
      });
      assert.equal(done.returncode, 0, text(done.stderr));
      assert.equal(text(done.stdout), "out\nerr\n");
      assert.equal(text(done.stderr), "");
    });
  } finally {
    await Deno.remove(script);
  }
});

Deno.test("Popen.communicate() returns null for a stream that was not piped, as run() does", async () => {
  await run(async () => {
    const p = new Popen(["sh", "-c", "echo out; echo err >&2"], { stdout: PIPE, stderr: DEVNULL });
    const [out, err] = await p.communicate();
    assert.equal(text(out), "out\n");
    assert.equal(err, null, "stderr was not piped");
    const done = await runCommand(["sh", "-c", "echo out; echo err >&2"], {
      stdout: PIPE,
      stderr: DEVNULL,
    });
    assert.equal(done.stderr, null, "run() says the same");
    const q = new Popen(["true"]);
    assert.deepEqual(await q.communicate(), [null, null]);
  });
});

Deno.test("CalledProcessError and TimeoutExpired use Python's wording: the command, then what went wrong", () => {
  assert.equal(
    new CalledProcessError(3, ["sh", "-c", "exit 3"]).message,
    `Command 'sh -c "exit 3"' returned non-zero exit status 3`,
  );
  assert.equal(
    new CalledProcessError(-9, ["sleep", "5"]).message,
    "Command 'sleep 5' died with signal 9 (SIGKILL)",
  );
  assert.equal(
    new CalledProcessError(-40, "spin").message,
    "Command 'spin' died with signal 40",
  );
  assert.equal(
    new TimeoutExpired(["sleep", "5"], 0.5).message,
    "Command 'sleep 5' timed out after 0.5 seconds",
  );
});
