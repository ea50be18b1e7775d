import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  FileStream,
  ignoreAfter,
  MockClock,
  ResourceBusy,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { _readWait, _writeWait } from "@curio/curio/traps";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A ReadableStream fed by hand: push() a chunk, end() it. */
function manualReadable() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
  });
  return {
    stream,
    push: (s: string | Uint8Array) => ctl.enqueue(typeof s === "string" ? enc(s) : s),
    end: () => ctl.close(),
    fail: (e: unknown) => ctl.error(e),
  };
}

/** A WritableStream whose writes complete only when release() is called. */
function gatedWritable() {
  const written: Uint8Array[] = [];
  const gates: Array<() => void> = [];
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve) => {
        gates.push(() => {
          written.push(chunk.slice());
          resolve();
        });
      });
    },
  });
  return {
    stream,
    written,
    release: () => {
      for (const g of gates.splice(0)) g();
    },
    get waiting() {
      return gates.length;
    },
  };
}

async function withTempFile(text: string, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("FileStream.readline() and readlines() read a Deno.FsFile line by line", async () => {
  await withTempFile("alpha\nbeta\ngamma", async (path) => {
    await run(async () => {
      await using s = new FileStream(await Deno.open(path));
      assert.equal(dec(await s.readline()), "alpha\n");
      assert.deepEqual((await s.readlines()).map(dec), ["beta\n", "gamma"]);
      assert.equal((await s.readline()).length, 0);
    });
  });
});

Deno.test("FileStream.readall() returns a large file whole", async () => {
  const text = "0123456789".repeat(50_000);
  await withTempFile(text, async (path) => {
    await run(async () => {
      await using s = new FileStream(await Deno.open(path));
      assert.equal(dec(await s.read(3)), "012");
      assert.equal(dec(await s.readall()), text.slice(3));
      assert.equal((await s.read()).length, 0);
    });
  });
});

Deno.test("FileStream.write() and writelines() write a Deno.FsFile", async () => {
  await withTempFile("", async (path) => {
    await run(async () => {
      await using s = new FileStream(await Deno.open(path, { write: true, truncate: true }));
      assert.equal(await s.write(enc("one\n")), 4);
      await s.writelines([enc("two\n"), enc("three\n")]);
      await s.flush();
    });
    assert.equal(await Deno.readTextFile(path), "one\ntwo\nthree\n");
  });
});

Deno.test("FileStream.seek() and tell() account for read-ahead", async () => {
  await withTempFile("abcdefgh", async (path) => {
    await run(async () => {
      await using s = new FileStream(await Deno.open(path));
      assert.equal(dec(await s.read(3)), "abc");
      assert.equal(await s.tell(), 3);
      assert.equal(await s.seek(1, 1), 4);
      assert.equal(dec(await s.read(2)), "ef");
      assert.equal(await s.seek(-1, 2), 7);
      assert.equal(dec(await s.readall()), "h");
      assert.equal(await s.seek(0), 0);
      assert.equal(dec(await s.readall()), "abcdefgh");
    });
  });
});

Deno.test("FileStream.seek() on a Web Stream throws a TypeError", async () => {
  await run(async () => {
    await using s = new FileStream(new Blob(["x"]).stream());
    await assert.rejects(s.seek(0), (e) => e instanceof TypeError && /no seek\(\)/.test(e.message));
  });
});

Deno.test("FileStream async iteration yields lines over a ReadableStream", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    const feeder = await spawn(async () => {
      for (const part of ["he", "llo\nwor", "ld\n", "tail"]) {
        src.push(part);
        await sleep(0);
      }
      src.end();
    });
    const lines: string[] = [];
    for await (const line of s) lines.push(dec(line));
    await feeder.join();
    assert.deepEqual(lines, ["hello\n", "world\n", "tail"]);
  });
});

Deno.test("FileStream.readline() cancelled by a timeout keeps the partial line", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    src.push("par");
    await assert.rejects(timeoutAfter(1, () => s.readline()), TaskTimeout);
    src.push("tial\nnext\n");
    assert.equal(dec(await s.readline()), "partial\n");
    assert.equal(dec(await s.readline()), "next\n");
  }, virtual());
});

Deno.test("FileStream.read() cancelled while a pull is in flight loses nothing", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    const reader = await spawn(() => s.read());
    await sleep(0);
    assert.equal(reader.state, "READ_WAIT");
    await reader.cancel();
    src.push("late bytes");
    src.end();
    // The pull the cancelled task started delivers to the next read.
    assert.equal(dec(await s.readall()), "late bytes");
  });
});

Deno.test("FileStream.readall() cancelled midway keeps what it had gathered", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    src.push("first ");
    const result = await ignoreAfter(1, () => s.readall(), { timeoutResult: "timeout" });
    assert.equal(result, "timeout");
    src.push("second");
    src.end();
    assert.equal(dec(await s.readall()), "first second");
  }, virtual());
});

Deno.test("FileStream.read() by a second waiting task raises ResourceBusy; the first is unaffected", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    const first = await spawn(() => s.read());
    await sleep(0);
    await assert.rejects(
      s.read(),
      (e) => e instanceof ResourceBusy && /already waiting to read/.test(e.message),
    );
    src.push("data");
    assert.equal(dec(await first.join()), "data");
  });
});

Deno.test("FileStream.read() with buffered data is not a cancellation point", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    src.push("abcd");
    assert.equal(dec(await s.read(2)), "ab");
    // Buffered now: completes even though the deadline has already passed.
    const got: Uint8Array = await timeoutAfter(0, () => s.read(2));
    assert.equal(dec(got), "cd");
  }, virtual());
});

Deno.test("FileStream.write() cancelled midway sets bytesWritten, final after flush()", async () => {
  await run(async () => {
    const sink = gatedWritable();
    await using s = new FileStream(sink.stream);
    const err = await timeoutAfter(1, () => s.write(enc("12345"))).catch((e) => e) as
      & TaskTimeout
      & { bytesWritten: number };
    assert(err instanceof TaskTimeout);
    assert.equal(err.bytesWritten, 0, "nothing was confirmed when the timeout hit");
    const flusher = await spawn(() => s.flush());
    await sleep(0);
    assert.equal(flusher.state, "WRITE_WAIT");
    sink.release();
    await flusher.join();
    assert.equal(err.bytesWritten, 5, "the write Deno already had completed afterwards");
    assert.deepEqual(sink.written.map(dec), ["12345"]);
  }, virtual());
});

Deno.test("FileStream.writelines() cancelled midway counts earlier lines in bytesWritten", async () => {
  await run(async () => {
    const sink = gatedWritable();
    await using s = new FileStream(sink.stream);
    const t = await spawn(() => s.writelines([enc("ab"), enc("cde")]));
    await sleep(0);
    sink.release(); // first line done
    while (sink.waiting === 0) await sleep(0);
    await t.cancel();
    const err = t.exception as CancelledError & { bytesWritten: number };
    assert(err instanceof CancelledError);
    assert.equal(err.bytesWritten, 2);
    sink.release();
    await s.flush();
    assert.equal(err.bytesWritten, 5);
  });
});

Deno.test("FileStream.write() by a second waiting task raises ResourceBusy", async () => {
  await run(async () => {
    const sink = gatedWritable();
    await using s = new FileStream(sink.stream);
    const first = await spawn(() => s.write(enc("a")));
    await sleep(0);
    await assert.rejects(
      s.write(enc("b")),
      (e) => e instanceof ResourceBusy && /already waiting to write/.test(e.message),
    );
    sink.release();
    assert.equal(await first.join(), 1);
  });
});

Deno.test("FileStream works with _readWait and _writeWait", async () => {
  await run(async () => {
    const src = manualReadable();
    const sink = gatedWritable();
    await using r = new FileStream(src.stream);
    await using w = new FileStream(sink.stream);
    const waiter = await spawn(() => _readWait(r));
    await sleep(0);
    assert.equal(waiter.state, "READ_WAIT");
    src.push("x");
    await waiter.join();
    assert.equal(dec(await r.read()), "x");
    const writer = await spawn(() => w.write(enc("y")));
    await sleep(0);
    const ww = await spawn(() => _writeWait(w));
    await sleep(0);
    assert.equal(ww.state, "WRITE_WAIT");
    sink.release();
    await ww.join();
    await writer.join();
  });
});

Deno.test("FileStream reports a stream error once, then end of file", async () => {
  await run(async () => {
    const src = manualReadable();
    await using s = new FileStream(src.stream);
    src.push("ok");
    assert.equal(dec(await s.read()), "ok");
    src.fail(new RangeError("source broke"));
    await assert.rejects(s.read(), (e) => e instanceof RangeError && e.message === "source broke");
    assert.equal((await s.read()).length, 0);
  });
});

Deno.test("FileStream methods after close() throw a CurioError; close() twice is harmless", async () => {
  await run(async () => {
    const s = new FileStream(new Blob(["x"]).stream());
    await s.close();
    await s.close();
    await assert.rejects(
      s.read(),
      (e) => e instanceof CurioError && /stream is closed/.test(e.message),
    );
  });
});

Deno.test("FileStream rejects objects it cannot read or write with a TypeError", () => {
  assert.throws(() => new FileStream({} as never), TypeError);
  assert.throws(() => new FileStream(42 as never), TypeError);
});

Deno.test("FileStream on a read-only stream refuses write() with a TypeError", async () => {
  await run(async () => {
    await using s = new FileStream(new Blob([]).stream());
    await assert.rejects(
      s.write(enc("x")),
      (e) => e instanceof TypeError && /not writable/.test(e.message),
    );
  });
});

Deno.test("FileStream drives a child process over its Web Streams", async () => {
  await run(async () => {
    const child = new Deno.Command("cat", { stdin: "piped", stdout: "piped" }).spawn();
    const stdin = new FileStream(child.stdin);
    const stdout = new FileStream(child.stdout);
    try {
      await stdin.write(enc("line one\nline two\n"));
      assert.equal(dec(await stdout.readline()), "line one\n");
      await stdin.close();
      assert.equal(dec(await stdout.readall()), "line two\n");
    } finally {
      await stdin.close();
      await stdout.close();
      await child.status;
    }
  });
});

Deno.test("FileStream over a child's stdout closed early releases the pipe", async () => {
  await run(async () => {
    const child = new Deno.Command("sh", {
      args: ["-c", "echo first; sleep 0.2; echo second"],
      stdout: "piped",
    }).spawn();
    {
      await using out = new FileStream(child.stdout);
      assert.equal(dec(await out.readline()), "first\n");
    }
    await child.status;
  });
});

Deno.test("FileStream over a { readable, writable } pair (TransformStream)", async () => {
  await run(async () => {
    // A readable side with room for a chunk, so write() does not wait for a reader.
    const pipe = new TransformStream<Uint8Array, Uint8Array>({}, undefined, { highWaterMark: 4 });
    await using s = new FileStream(pipe);
    await s.write(enc("loop\n"));
    assert.equal(dec(await s.readline()), "loop\n");
  });
});

Deno.test("FileStream over Deno.stdin and Deno.stdout in a child process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/upper.ts`;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { FileStream, run } from ${JSON.stringify(mod)};
await run(async () => {
  const input = new FileStream(Deno.stdin);
  const output = new FileStream(Deno.stdout);
  for await (const line of input) {
    await output.write(new TextEncoder().encode(new TextDecoder().decode(line).toUpperCase()));
  }
  await output.flush();
});
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(enc("one\ntwo\n"));
    await writer.close();
    const { stdout, success } = await child.output();
    assert(success);
    assert.equal(dec(stdout), "ONE\nTWO\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
