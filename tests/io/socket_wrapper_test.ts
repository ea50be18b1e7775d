import assert from "node:assert/strict";
import {
  CancelledError,
  ignoreAfter,
  MockClock,
  ResourceBusy,
  run,
  sleep,
  Socket,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import {
  AF_INET,
  AF_UNIX,
  IPPROTO_TCP,
  SHUT_RD,
  SHUT_WR,
  SO_BROADCAST,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  socket,
  socketpair,
  SOL_SOCKET,
  TCP_NODELAY,
} from "@curio/curio/socket";
import { _readWait, _writeWait } from "@curio/curio/traps";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A connected pair through a real listener: [curio side, raw Deno side]. */
async function tcpPair(): Promise<[Socket, Deno.Conn]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [conn, raw] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return [new Socket(conn), raw];
}

async function readAllRaw(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

Deno.test("Socket.recv() returns data, then an empty array at EOF", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await raw.write(enc("hello"));
    raw.close();
    assert.equal(dec(await sock.recv(3)), "hel");
    assert.equal(dec(await sock.recv(100)), "lo");
    assert.equal((await sock.recv(100)).length, 0);
    assert.equal((await sock.recv(100)).length, 0);
  });
});

Deno.test("Socket.recv() waits in READ_WAIT and is cancellable", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    const t = await spawn(() => sock.recv(10));
    await sleep(0);
    assert.equal(t.state, "READ_WAIT");
    assert.equal(await t.cancel(), true);
    assert(t.exception instanceof CancelledError);
    raw.close();
  });
});

Deno.test("Socket.recv() cancelled by a timeout leaves the late bytes for the next recv()", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await assert.rejects(timeoutAfter(1, () => sock.recv(100)), TaskTimeout);
    await raw.write(enc("late"));
    raw.close();
    assert.equal(dec(await sock.recv(100)), "late");
  }, virtual());
});

Deno.test("Socket.recv() fuzz: random tiny timeouts never lose or reorder a byte", async () => {
  const total = 120_000;
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    const sender = (async () => {
      const data = new Uint8Array(total);
      for (let i = 0; i < total; i++) data[i] = i % 251;
      let at = 0;
      while (at < total) {
        const n = Math.min(total - at, 1 + Math.floor(Math.random() * 3000));
        await raw.write(data.subarray(at, at + n));
        at += n;
        if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, 0));
      }
      raw.close();
    })();
    let expect = 0;
    let timeouts = 0;
    while (true) {
      const got = await ignoreAfter(
        Math.random() * 0.002,
        () => sock.recv(1 + Math.floor(Math.random() * 5000)),
      );
      if (got === undefined) {
        timeouts++;
        continue;
      }
      if (got.length === 0) break;
      for (const b of got) assert.equal(b, expect++ % 251);
    }
    await sender;
    assert.equal(expect, total);
    assert(timeouts > 0, "the fuzz must actually cancel some reads");
  });
});

Deno.test("Socket.recv() by a second waiting task raises ResourceBusy; the first still gets the data", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    const first = await spawn(() => sock.recv(10));
    await sleep(0);
    await assert.rejects(
      sock.recv(10),
      (e) => e instanceof ResourceBusy && /already waiting to read this socket/.test(e.message),
    );
    await raw.write(enc("x"));
    assert.equal(dec(await first.join()), "x");
    raw.close();
  });
});

Deno.test("Socket.recvInto() fills a buffer", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await raw.write(enc("abcdef"));
    const buf = new Uint8Array(4);
    let n = await sock.recvInto(buf);
    while (n < 4) n += await sock.recvInto(buf.subarray(n));
    assert.equal(dec(buf), "abcd");
    const small = new Uint8Array(10);
    assert.equal(await sock.recvInto(small, 1), 1);
    assert.equal(dec(small.subarray(0, 1)), "e");
    raw.close();
  });
});

Deno.test("Socket.sendall() sends everything; the peer reads it all", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    const data = new Uint8Array(3_000_000).map((_, i) => i % 256);
    const reading = readAllRaw(raw);
    await sock.sendall(data);
    await sock.close();
    const got = await reading;
    raw.close();
    assert.equal(got.length, data.length);
    assert.deepEqual(got.subarray(0, 1000), data.subarray(0, 1000));
  });
});

Deno.test("Socket.sendall() cancelled midway sets bytesSent; it matches what the peer receives", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    const data = new Uint8Array(64 * 1024 * 1024); // far more than the socket buffers hold
    const err = await timeoutAfter(0.05, () => sock.sendall(data)).catch((e) => e) as
      & TaskTimeout
      & { bytesSent: number };
    assert(err instanceof TaskTimeout);
    assert.equal(typeof err.bytesSent, "number");
    assert(err.bytesSent < data.length);
    const reading = readAllRaw(raw);
    await sock.sendall(new Uint8Array(0)); // waits for the write Deno still had
    await sock.shutdown(SHUT_WR);
    const got = await reading;
    assert.equal(got.length, err.bytesSent, "bytesSent is exactly what went out");
    await sock.close();
    raw.close();
  });
});

Deno.test("Socket.sendall() by a second waiting task raises ResourceBusy", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    const big = await spawn(() => sock.sendall(new Uint8Array(32 * 1024 * 1024)));
    while (big.state !== "WRITE_WAIT") await sleep(0);
    await assert.rejects(
      sock.sendall(enc("x")),
      (e) => e instanceof ResourceBusy && /already waiting to write/.test(e.message),
    );
    await big.cancel();
    raw.close();
  });
});

Deno.test("Socket.accept() cancelled leaves the connection for the next accept()", async () => {
  await run(async () => {
    await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    const [, port] = server.getsockname() as [string, number];
    const acceptor = await spawn(() => server.accept());
    await sleep(0);
    assert.equal(acceptor.state, "READ_WAIT");
    await acceptor.cancel();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const [client, addr] = await server.accept();
    assert.deepEqual(addr, [conn.localAddr.hostname, conn.localAddr.port]);
    await client.close();
    conn.close();
  });
});

Deno.test("Socket.accept() fuzz: connections survive random timeouts, each accepted once", async () => {
  await run(async () => {
    await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    const [, port] = server.getsockname() as [string, number];
    const n = 30;
    const conns: Deno.Conn[] = [];
    const connecting = (async () => {
      for (let i = 0; i < n; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        await c.write(new Uint8Array([i]));
        conns.push(c);
        if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const seen: number[] = [];
    while (seen.length < n) {
      const got = await ignoreAfter(Math.random() * 0.001, () => server.accept());
      if (got === undefined) continue;
      const [client] = got;
      seen.push((await client.recv(1))[0]!);
      await client.close();
    }
    await connecting;
    for (const c of conns) c.close();
    assert.deepEqual(seen.sort((a, b) => a - b), [...Array(n).keys()]);
  });
});

Deno.test("Socket.close() closes connections accepted but never claimed", async () => {
  await run(async () => {
    const server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    const [, port] = server.getsockname() as [string, number];
    await ignoreAfter(0.001, () => server.accept()); // leaves an accept in flight
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await sleep(0.01);
    await server.close();
    // The server side was closed: the client sees EOF (the sanitizer checks no leak).
    assert.equal(await conn.read(new Uint8Array(1)), null);
    conn.close();
  });
});

Deno.test("Socket.connect() to a closed port throws ConnectionRefused; connectEx() returns 111", async () => {
  await run(async () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = l.addr.port;
    l.close();
    await using a = socket();
    await assert.rejects(a.connect(["127.0.0.1", port]), Deno.errors.ConnectionRefused);
    await using b = socket();
    assert.equal(await b.connectEx(["127.0.0.1", port]), 111);
  });
});

Deno.test("Socket.connect() rejects bad addresses with TypeError/RangeError", async () => {
  await run(async () => {
    await using s = socket();
    await assert.rejects(s.connect("not a tuple" as never), TypeError);
    await assert.rejects(s.connect(["127.0.0.1", 70000]), RangeError);
    await using u = socket(AF_UNIX);
    await assert.rejects(u.connect(["x", 1] as never), TypeError);
    assert.equal(await u.connectEx("/nonexistent/curio.sock"), 2);
  });
});

Deno.test("Socket over Unix sockets: bind, listen, accept, echo", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await run(async () => {
      const path = `${dir}/s.sock`;
      await using server = socket(AF_UNIX);
      server.bind(path);
      server.listen();
      assert.equal(server.getsockname(), path);
      await using client = socket(AF_UNIX);
      await client.connect(path);
      const [conn] = await server.accept();
      await using _c = conn;
      await client.sendall(enc("unix"));
      assert.equal(dec(await conn.recv(10)), "unix");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Socket over UDP: sendto/recvfrom, connect/send/recv, truncation", async () => {
  await run(async () => {
    await using a = socket(AF_INET, SOCK_DGRAM);
    await using b = socket(AF_INET, SOCK_DGRAM);
    a.bind(["127.0.0.1", 0]);
    b.bind(["127.0.0.1", 0]);
    const aAddr = a.getsockname() as [string, number];
    await b.sendto(enc("datagram"), aAddr);
    const [data, from] = await a.recvfrom(4);
    assert.equal(dec(data), "data", "truncated to maxsize");
    assert.deepEqual(from, b.getsockname());
    await b.connect(aAddr);
    await b.send(enc("via send"));
    assert.equal(dec(await a.recv(100)), "via send");
    await assert.rejects(b.recvmsg(10, 16), /ancillary data/);
  });
});

Deno.test("Socket.recvfrom() on UDP cancelled by a timeout keeps the datagram", async () => {
  await run(async () => {
    await using a = socket(AF_INET, SOCK_DGRAM);
    a.bind(["127.0.0.1", 0]);
    await using b = socket(AF_INET, SOCK_DGRAM);
    await assert.rejects(timeoutAfter(1, () => a.recvfrom(100)), TaskTimeout);
    await b.sendto(enc("kept"), a.getsockname() as [string, number]);
    assert.equal(dec((await a.recvfrom(100))[0]), "kept");
  }, virtual());
});

Deno.test("socketpair() gives two connected sockets", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using _a = a;
    await using _b = b;
    await a.sendall(enc("ping"));
    assert.equal(dec(await b.recv(10)), "ping");
    await b.sendall(enc("pong"));
    assert.equal(dec(await a.recv(10)), "pong");
    assert.deepEqual(a.getpeername(), b.getsockname());
  });
});

Deno.test("Socket.shutdown(SHUT_WR) half-closes: the peer sees EOF and can still answer", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await sock.sendall(enc("request"));
    await sock.shutdown(SHUT_WR);
    assert.equal(dec(await readAllRaw(raw)), "request");
    await raw.write(enc("reply"));
    raw.close();
    assert.equal(dec(await sock.asStream().readall()), "reply");
  });
});

Deno.test("Socket.shutdown(SHUT_RD) makes later reads return EOF", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await sock.shutdown(SHUT_RD);
    assert.equal((await sock.recv(10)).length, 0);
    raw.close();
  });
});

Deno.test("Socket write to a connection the peer reset raises a Deno error on that task", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    raw.close();
    const err = await (async () => {
      for (let i = 0; i < 100; i++) {
        await sock.sendall(new Uint8Array(65536));
        await sleep(0.001);
      }
    })().catch((e) => e);
    assert(
      err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset,
      `expected BrokenPipe or ConnectionReset, got ${err}`,
    );
  });
});

Deno.test("Socket methods after close() throw BadResource; close() twice is harmless", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await sock.close();
    await sock.close();
    await assert.rejects(
      sock.recv(1),
      (e) => e instanceof Deno.errors.BadResource && /closed/.test(e.message),
    );
    await assert.rejects(sock.sendall(enc("x")), Deno.errors.BadResource);
    raw.close();
  });
});

Deno.test("Socket close() while a recv() waits ends that recv with EOF or an error, never a hang", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    const reader = await spawn(() => sock.recv(10));
    await sleep(0);
    await sock.close();
    await reader.wait();
    assert(reader.terminated);
    raw.close();
  });
});

Deno.test("Socket ancillary data and bad sizes are refused clearly", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using _a = a;
    await using _b = b;
    await assert.rejects(
      a.sendmsg([enc("x")], [[1, 1, new Uint8Array(4)]]),
      /Deno has no API for ancillary data/,
    );
    await assert.rejects(a.recvmsgInto([new Uint8Array(1)], 10), /ancillary data/);
    await assert.rejects(a.recv(-1), RangeError);
  });
});

Deno.test("Socket works with _readWait and _writeWait", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    const waiter = await spawn(() => _readWait(sock));
    await sleep(0);
    assert.equal(waiter.state, "READ_WAIT");
    await raw.write(enc("r"));
    await waiter.join();
    assert.equal(dec(await sock.recv(1)), "r");
    await _writeWait(sock);
    raw.close();
  });
});

Deno.test("Socket.makefile() streams share the socket's buffer", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await raw.write(enc("first line\nsecond"));
    assert.equal(dec(await sock.recv(6)), "first ");
    const r = sock.makefile("rb");
    assert.equal(dec(await r.readline()), "line\n");
    await r.close(); // does not close the socket
    assert.equal(sock.closed, false);
    const w = sock.makefile("wb");
    await w.write(enc("back"));
    raw.close();
    assert.throws(() => sock.makefile("r+" as never), RangeError);
  });
});

Deno.test("Socket constructor rejects non-socket objects with a TypeError", () => {
  assert.throws(() => new Socket({} as never), TypeError);
  assert.throws(() => new Socket(null as never), TypeError);
});

const hasPython = await new Deno.Command("python3", { args: ["-c", ""] }).output().then(
  (r) => r.success,
  () => false,
);

Deno.test({
  name: "Socket.recv() after the peer reset the connection raises ConnectionReset on that task",
  // Deno itself never sends a reset; a Python peer with SO_LINGER 0 does.
  ignore: !hasPython,
  fn: async () => {
    await run(async () => {
      await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
      const [, port] = server.getsockname() as [string, number];
      const peer = new Deno.Command("python3", {
        args: [
          "-c",
          `import socket, struct, time
s = socket.create_connection(("127.0.0.1", ${port}))
s.sendall(b"last words")
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()`,
        ],
      }).output();
      const [conn] = await server.accept();
      await using _c = conn;
      assert.equal(dec(await conn.recv(100)), "last words");
      await assert.rejects(conn.recv(100), Deno.errors.ConnectionReset);
      // Afterwards the socket reads as ended, and the kernel is fine.
      assert.equal((await conn.recv(10)).length, 0);
      assert((await peer).success);
    });
  },
});

Deno.test("Socket.connect() cancelled by a timeout closes the late connection (nothing leaks)", async () => {
  await run(async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using s = socket();
    // With autojump 0 the deadline passes while Deno is still connecting.
    await assert.rejects(
      timeoutAfter(1, () => s.connect(["127.0.0.1", listener.addr.port])),
      TaskTimeout,
    );
    const conn = await listener.accept();
    // The connection Deno made after the cancel was closed by the Socket.
    assert.equal(await conn.read(new Uint8Array(1)), null);
    conn.close();
  }, virtual());
});

Deno.test("Socket.send() cancelled midway sets bytesSent too", async () => {
  await run(async () => {
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    // Fill the socket buffers so the next send must wait.
    const filler = await spawn(() => sock.sendall(new Uint8Array(64 * 1024 * 1024)));
    while (filler.state !== "WRITE_WAIT") await sleep(0);
    await filler.cancel();
    const err = (filler.exception ?? {}) as { bytesSent?: number };
    assert.equal(typeof err.bytesSent, "number");
    const sendErr = await timeoutAfter(0.01, () => sock.send(new Uint8Array(1024))).catch((e) => e);
    assert(sendErr instanceof TaskTimeout);
    assert.equal((sendErr as { bytesSent?: number }).bytesSent, 0);
    raw.close();
  });
});

Deno.test("Socket.recvfrom() on UDP by a second waiting task raises ResourceBusy", async () => {
  await run(async () => {
    await using a = socket(AF_INET, SOCK_DGRAM);
    a.bind(["127.0.0.1", 0]);
    const first = await spawn(() => a.recvfrom(10));
    await sleep(0);
    await assert.rejects(a.recvfrom(10), ResourceBusy);
    await using b = socket(AF_INET, SOCK_DGRAM);
    await b.sendto(enc("1"), a.getsockname() as [string, number]);
    assert.equal(dec((await first.join())[0]), "1");
  });
});

Deno.test("Socket.recv() on a listening socket and accept() on a connection are refused clearly", async () => {
  await run(async () => {
    await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    await assert.rejects(
      server.recv(1),
      (e) => e instanceof Deno.errors.NotConnected && /use accept/.test(e.message),
    );
    const [sock, raw] = await tcpPair();
    await using _s = sock;
    await assert.rejects(
      sock.accept(),
      (e) => e instanceof TypeError && /not listening/.test(e.message),
    );
    raw.close();
  });
});

// --- socket options ---------------------------------------------------------

Deno.test("Socket.setsockopt(SO_REUSEADDR) then bind() reuses a port whose last connection is in TIME_WAIT", async () => {
  await run(async () => {
    // The side that closes first keeps the port in TIME_WAIT: here, the server.
    const first = socket();
    first.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    first.bind(["127.0.0.1", 0]);
    first.listen(5);
    const address = first.getsockname() as [string, number];
    const client = await Deno.connect({ hostname: address[0], port: address[1] });
    const [conn] = await first.accept();
    await conn.close();
    await first.close();
    client.close();
    const again = socket();
    again.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    again.bind(address); // EADDRINUSE without SO_REUSEADDR
    assert.deepEqual(again.getsockname(), address);
    assert.equal(again.getsockopt(SOL_SOCKET, SO_REUSEADDR), 1);
    await again.close();
  });
});

Deno.test("Socket.setsockopt(SO_REUSEPORT) lets two listeners bind one port; without it the second gets AddrInUse", async () => {
  await run(async () => {
    const a = socket();
    a.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    a.bind(["127.0.0.1", 0]);
    const address = a.getsockname() as [string, number];
    const b = socket();
    b.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    b.bind(address);
    assert.equal(b.getsockopt(SOL_SOCKET, SO_REUSEPORT), 1);
    const c = socket();
    assert.throws(() => c.bind(address), Deno.errors.AddrInUse);
    assert.throws(
      () => a.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1),
      /Cannot set SO_REUSEPORT: the socket is already bound .*before bind\(\)/,
    );
    for (const s of [a, b, c]) await s.close();
  });
});

Deno.test("Socket.setsockopt(TCP_NODELAY, SO_KEEPALIVE) calls Deno's setNoDelay/setKeepAlive, at once or at connect", async () => {
  await run(async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const probe = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const proto = Object.getPrototypeOf(probe) as Deno.TcpConn;
    probe.close();
    (await listener.accept()).close();
    const calls: string[] = [];
    const { setNoDelay, setKeepAlive } = proto;
    proto.setNoDelay = function (this: Deno.TcpConn, on?: boolean) {
      calls.push(`noDelay ${on}`);
      return setNoDelay.call(this, on);
    };
    proto.setKeepAlive = function (this: Deno.TcpConn, on?: boolean) {
      calls.push(`keepAlive ${on}`);
      return setKeepAlive.call(this, on);
    };
    try {
      const s = socket();
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      assert.deepEqual(calls, [], "nothing to apply it to before connect()");
      await s.connect(["127.0.0.1", listener.addr.port]);
      assert.deepEqual(calls, ["noDelay true"]);
      s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, true);
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 0);
      assert.deepEqual(calls, ["noDelay true", "keepAlive true", "noDelay false"]);
      assert.equal(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 1);
      assert.equal(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
      await s.close();
      (await listener.accept()).close();
    } finally {
      proto.setNoDelay = setNoDelay;
      proto.setKeepAlive = setKeepAlive;
    }
  });
});

Deno.test("Socket.accept() applies the listener's TCP_NODELAY and SO_KEEPALIVE to the new connection", async () => {
  await run(async () => {
    const server = socket();
    server.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    server.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    server.bind(["127.0.0.1", 0]);
    server.listen();
    const [host, port] = server.getsockname() as [string, number];
    const raw = await Deno.connect({ hostname: host, port });
    const [conn] = await server.accept();
    assert.equal(conn.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
    assert.equal(conn.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 1);
    const plain = new Socket(raw);
    assert.equal(plain.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0, "nothing set: Deno's default");
    await conn.close();
    await plain.close();
    await server.close();
  });
});

Deno.test("Socket.setsockopt() on UDP: SO_REUSEADDR applies at bind(); SO_BROADCAST is always on", async () => {
  await run(async () => {
    const a = socket(AF_INET, SOCK_DGRAM);
    a.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    a.bind(["127.0.0.1", 0]);
    const b = socket(AF_INET, SOCK_DGRAM);
    b.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    b.bind(a.getsockname() as [string, number]); // EADDRINUSE without it
    assert.equal(a.getsockopt(SOL_SOCKET, SO_BROADCAST), 1);
    assert.equal(a.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    assert.throws(() => a.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), /already bound/);
    assert.throws(() => a.setsockopt(SOL_SOCKET, SO_BROADCAST, 0), /always allow broadcast/);
    assert.throws(() => a.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1), /TCP_NODELAY: .*only for TCP/);
    await a.close();
    await b.close();
  });
});

Deno.test("Socket.setsockopt()/getsockopt() name the option Deno cannot handle, and reject bad values", async () => {
  const s = socket();
  assert.throws(
    () => s.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20),
    { name: "Error", message: "Cannot set SO_RCVBUF: Deno has no API for socket buffer sizes" },
  );
  assert.throws(() => s.getsockopt(SOL_SOCKET, SO_SNDBUF), /Cannot get SO_SNDBUF: Deno has no API/);
  assert.throws(
    () => s.setsockopt(SOL_SOCKET, 99, 1),
    { message: "Cannot set option 99 at level SOL_SOCKET: Deno has no API for it" },
  );
  assert.throws(() => s.setsockopt(SOL_SOCKET, SO_TYPE, 1), /can only be read/);
  assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 0), /always reuse the address/);
  assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1.5), TypeError);
  assert.throws(
    () => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4) as unknown as number),
    /raw option bytes/,
  );
  assert.throws(() => s.getsockopt(SOL_SOCKET, SO_REUSEADDR, 4), /as bytes/);
  const u = socket(AF_UNIX);
  assert.throws(() => u.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1), /only for TCP/);
  await s.close();
  assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), Deno.errors.BadResource);
});

// --- errors that name what failed ------------------------------------------

Deno.test("Socket.connect() errors name the address and keep Deno's class, code and cause", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close(); // nothing listens there now
  const dir = await Deno.makeTempDir();
  try {
    await run(async () => {
      await using s = socket();
      const err = await s.connect(["127.0.0.1", port]).catch((e) => e);
      assert(
        err instanceof Deno.errors.ConnectionRefused,
        `expected ConnectionRefused, got ${err}`,
      );
      assert(err.message.startsWith(`Cannot connect to 127.0.0.1:${port}: `), err.message);
      assert.equal(err.name, "ConnectionRefused");
      assert.equal((err as { code?: string }).code, "ECONNREFUSED");
      assert(err.cause instanceof Deno.errors.ConnectionRefused, "Deno's own error is the cause");
      assert.equal(await s.connectEx(["127.0.0.1", port]), 111, "connectEx still sees the errno");
      await using u = socket(AF_UNIX);
      const missing = `${dir}/none.sock`;
      await assert.rejects(
        u.connect(missing),
        (e) =>
          e instanceof Deno.errors.NotFound &&
          e.message.startsWith(`Cannot connect to ${missing}: `),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Socket.bind() to an address in use names it and keeps AddrInUse", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const s = socket();
  assert.throws(
    () => s.bind(["127.0.0.1", taken.addr.port]),
    (e) =>
      e instanceof Deno.errors.AddrInUse &&
      e.message.startsWith(`Cannot bind to 127.0.0.1:${taken.addr.port}: `),
  );
  assert.throws(() => s.bind(["127.0.0.1", 70000]), {
    name: "RangeError",
    message: /^Cannot bind: port/,
  });
});

Deno.test("Unix sockets need --allow-net=unix:PATH besides read and write (README's table)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/unix.ts`;
    const mod = new URL("../../io/socket.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { AF_UNIX, socket } from "${mod}";
const s = socket(AF_UNIX);
s.bind(Deno.args[0]!);
await s.close();
console.log("bound");
`,
    );
    const path = `${dir}/s.sock`;
    const attempt = async (flags: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", ...flags, script, path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.success ? out.stdout : out.stderr);
    };
    const rw = [`--allow-read=${dir}`, `--allow-write=${dir}`];
    assert.match(await attempt(rw), /--allow-net/);
    assert.equal(await attempt([...rw, `--allow-net=unix:${path}`]), "bound\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
