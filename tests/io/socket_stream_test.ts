import assert from "node:assert/strict";
import { ignoreAfter, MockClock, run, SocketStream, TaskTimeout, timeoutAfter } from "@curio/curio";
import { socketpair } from "@curio/curio/socket";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("SocketStream.readline() fuzz: random timeouts never lose or split lines", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using sa = a.asStream();
    await using sb = b.asStream();
    const n = 3000;
    await a.sendall(enc("!")); // a round trip: the pair is connected after it
    assert.equal(dec(await b.recv(1)), "!");
    const writing = (async () => {
      // Plain Deno writes outside the kernel, in odd-sized pieces.
      const raw = a.blocking() as Deno.Conn;
      const text = enc(
        Array.from({ length: n }, (_, i) => `line ${i} ${"x".repeat(i % 37)}\n`).join(""),
      );
      let at = 0;
      while (at < text.length) {
        const k = Math.min(text.length - at, 1 + Math.floor(Math.random() * 700));
        at += await raw.write(text.subarray(at, at + k));
        if (Math.random() < 0.2) await new Promise((r) => setTimeout(r, 0));
      }
      await raw.closeWrite();
    })();
    let i = 0;
    let timeouts = 0;
    while (true) {
      const line = await ignoreAfter(Math.random() * 0.001, () => sb.readline());
      if (line === undefined) {
        timeouts++;
        continue;
      }
      if (line.length === 0) break;
      assert.equal(dec(line), `line ${i} ${"x".repeat(i % 37)}\n`);
      i++;
    }
    await writing;
    assert.equal(i, n);
    assert(timeouts > 0, "the fuzz must actually cancel some reads");
    void sa;
  });
});

Deno.test("SocketStream.readall() cancelled keeps the bytes; recv() on the socket sees them", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using _a = a;
    const sb = new SocketStream(b);
    await a.sendall(enc("partial"));
    await assert.rejects(timeoutAfter(1, () => sb.readall()), TaskTimeout);
    // The socket and its stream share one buffer.
    assert.equal(dec(await b.recv(100)), "partial");
    await sb.close();
    assert.equal(b.closed, true, "closing the stream closes the socket");
  }, { clock: new MockClock({ autojump: 0 }) });
});

Deno.test("SocketStream.readable and .writable adapt to Web Streams", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using sa = a.asStream();
    await using sb = b.asStream();
    await sa.write(enc("buffered first|"));
    assert.equal(dec(await sb.read(9)), "buffered ");
    const sending = new Blob(["piped through"]).stream().pipeTo(sa.writable);
    const text = await new Response(sb.readable).text();
    await sending;
    assert.equal(text, "first|piped through");
  });
});

Deno.test("SocketStream line iteration over a socket", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using sa = a.asStream();
    await using sb = b.asStream();
    await sa.writelines([enc("a\n"), enc("b\n"), enc("c")]);
    await a.shutdown();
    const lines: string[] = [];
    for await (const line of sb) lines.push(dec(line));
    assert.deepEqual(lines, ["a\n", "b\n", "c"]);
  });
});
