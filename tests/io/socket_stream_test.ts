import assert from "node:assert/strict";
import {
  CancelledError,
  ignoreAfter,
  MockClock,
  run,
  sleep,
  type Socket,
  SocketStream,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { AF_UNIX, SHUT_WR, socket, socketpair } from "@curio/curio/socket";
import { createDefaultContext } from "@curio/curio/ssl";
import { hasOpenssl, makeCert } from "./_tls_certs.ts";

const opensslMissing = !(await hasOpenssl());

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("SocketStream.readline() fuzz: random timeouts never lose or split lines", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using sa = a.asStream();
    await using sb = b.asStream();
    const n = 4000; // about 110 KB of lines
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

Deno.test("SocketStream.readline() cancelled at each scheduling point in turn: every line arrives once", async () => {
  for (let k = 0; k < 40; k++) {
    await run(async () => {
      const [a, b] = socketpair();
      await using sa = a.asStream();
      await using sb = b.asStream();
      const lines = Array.from({ length: 30 }, (_, i) => `${k}:${i}\n`);
      const got: string[] = [];
      // The writer trickles lines while the first reader runs.
      const writer = await spawn(async () => {
        for (const line of lines) {
          await sa.write(enc(line));
          await sleep(0);
        }
        await a.shutdown();
      });
      const victim = await spawn(async () => {
        for await (const line of sb) got.push(dec(line));
      });
      for (let i = 0; i < k; i++) await sleep(0);
      await victim.cancel();
      // A second reader picks up exactly where the first one stopped.
      for await (const line of sb) got.push(dec(line));
      await writer.join();
      assert.deepEqual(got, lines, `cancel after ${k} yields`);
    });
  }
});

Deno.test("Socket.accept() cancelled at each scheduling point in turn: every connection is accepted once", async () => {
  for (let k = 0; k < 20; k++) {
    await run(async () => {
      const { tcpServerSocket } = await import("@curio/curio");
      await using server = tcpServerSocket("127.0.0.1", 0);
      const [, port] = server.getsockname() as [string, number];
      const conns = await Promise.all(
        Array.from({ length: 5 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      );
      let accepted = 0;
      const victim = await spawn(async () => {
        while (true) {
          const [c] = await server.accept();
          accepted++;
          await c.close();
        }
      });
      for (let i = 0; i < k; i++) await sleep(0);
      await victim.cancel();
      while (accepted < 5) {
        const [c] = await server.accept();
        accepted++;
        await c.close();
      }
      assert.equal(accepted, 5);
      for (const c of conns) c.close();
    });
  }
});

// --- exact bytesWritten on cancelled and timed-out writes -------------------

interface Pair {
  sock: Socket;
  peer: Deno.Conn;
  done(): Promise<void>;
}

async function tcpPair(): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sock = socket();
  const [, peer] = await Promise.all([
    sock.connect(["127.0.0.1", listener.addr.port]),
    listener.accept(),
  ]);
  listener.close();
  return { sock, peer, done: async () => {} };
}

async function unixPair(): Promise<Pair> {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
  const sock = socket(AF_UNIX);
  const [, peer] = await Promise.all([sock.connect(`${dir}/s.sock`), listener.accept()]);
  listener.close();
  return { sock, peer, done: () => Deno.remove(dir, { recursive: true }) };
}

async function tlsPair(): Promise<Pair> {
  const { dir, cert, key, ca } = await makeCert();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(cert),
    key: await Deno.readTextFile(key),
  });
  const plain = socket();
  const ctx = createDefaultContext();
  ctx.loadVerifyLocations(ca);
  const [sock, peer] = await Promise.all([
    plain.connect(["127.0.0.1", listener.addr.port]).then(() =>
      ctx.wrapSocket(plain, { serverHostname: "localhost" })
    ),
    listener.accept().then(async (c) => {
      await c.handshake();
      return c;
    }),
  ]);
  listener.close();
  return { sock, peer, done: () => Deno.remove(dir, { recursive: true }) };
}

async function countAll(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(1 << 16);
  let total = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return total;
    total += n;
  }
}

const transports: Array<[string, () => Promise<Pair>]> = [
  ["TCP", tcpPair],
  ["Unix", unixPair],
  ...(opensslMissing ? [] : [["TLS", tlsPair] as [string, () => Promise<Pair>]]),
];

for (const [transport, makePair] of transports) {
  for (const op of ["write", "writelines"] as const) {
    for (const how of ["cancelled", "timed out"] as const) {
      Deno.test(`SocketStream.${op}() ${how} over ${transport}: bytesWritten is what the peer received`, async () => {
        await run(async () => {
          const pair = await makePair();
          try {
            const stream = pair.sock.asStream();
            // Far more than the socket buffers hold: the peer does not read yet.
            const big = new Uint8Array(24 << 20);
            const call = async (): Promise<void> => {
              if (op === "write") await stream.write(big);
              else await stream.writelines([new Uint8Array(1000), big, new Uint8Array(10)]);
            };
            let err: unknown;
            if (how === "cancelled") {
              const task = await spawn(call);
              while (task.state !== "WRITE_WAIT") await sleep(0);
              await sleep(0.02); // let some of it go out
              await task.cancel();
              err = task.exception;
              assert(err instanceof CancelledError, `expected CancelledError, got ${err}`);
            } else {
              err = await timeoutAfter(0.05, call).catch((e) => e);
              assert(err instanceof TaskTimeout, `expected TaskTimeout, got ${err}`);
            }
            const counts = err as { bytesWritten?: number; bytesSent?: number };
            assert.equal(counts.bytesSent, undefined, "a stream's write says bytesWritten");
            const reading = countAll(pair.peer);
            await stream.flush(); // the count is final once the in-flight write is done
            assert.equal(typeof counts.bytesWritten, "number");
            const total = op === "write" ? big.length : big.length + 1010;
            assert(counts.bytesWritten! < total, "the write was cut short");
            await pair.sock.shutdown(SHUT_WR);
            assert.equal(await reading, counts.bytesWritten, "bytesWritten counts every byte sent");
            await stream.close();
          } finally {
            pair.peer.close();
            await pair.done();
          }
        });
      });
    }
  }
}

Deno.test("SocketStream.blocking() throws while bytes are buffered, and hands out the connection once they are read", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using sa = a.asStream();
    await using sb = b.asStream();
    await sa.write(enc("one\ntwo\n"));
    assert.equal(dec(await sb.readline()), "one\n"); // "two\n" stays in the buffer
    assert.throws(
      () => sb.blocking(),
      { message: /^Cannot hand out the wrapped object: 4 bytes are still buffered in this stream/ },
    );
    assert.equal(dec(await sb.readline()), "two\n");
    const raw = sb.blocking() as Deno.Conn;
    assert.equal(typeof raw.read, "function", "the socket's Deno.Conn");
    await sa.write(enc("raw"));
    const buf = new Uint8Array(10);
    assert.equal(dec(buf.subarray(0, (await raw.read(buf))!)), "raw");
  });
});

Deno.test("Socket.makefile('rb').blocking() throws while bytes are buffered or a read is in flight", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using _a = a;
    await using _b = b;
    const r = b.makefile("rb");
    await a.sendall(enc("abc"));
    assert.equal(dec(await r.read(1)), "a");
    assert.throws(() => r.blocking(), /2 bytes are still buffered/);
    assert.equal(dec(await r.read()), "bc");
    // A read cancelled by a timeout leaves Deno's read running: its bytes
    // will land in the stream, so the raw connection is not handed out yet.
    await ignoreAfter(0.01, () => r.read());
    assert.throws(() => r.blocking(), /still in flight/);
    await a.sendall(enc("d"));
    assert.equal(dec(await r.read()), "d");
    assert.equal(r.blocking(), b.blocking());
  });
});
