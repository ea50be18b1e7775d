import assert from "node:assert/strict";
import {
  openConnection,
  run,
  runServer,
  sleep,
  type Socket,
  spawn,
  tcpServerSocket,
} from "@curio/curio";
import {
  CERT_NONE,
  createDefaultContext,
  getServerCertificate,
  Purpose,
  SSLContext,
  wrapSocket,
} from "@curio/curio/ssl";
import { socket, socketpair } from "@curio/curio/socket";
import { hasOpenssl, makeCert, selfSigned } from "./_tls_certs.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const opensslMissing = !(await hasOpenssl());
if (opensslMissing) console.warn("ssl_test: openssl not found; skipping certificate tests");

async function echo(client: Socket): Promise<void> {
  while (true) {
    const data = await client.recv(65536);
    if (data.length === 0) break;
    await client.sendall(data);
  }
}

Deno.test({
  name: "SSL echo server: tcpServer with an SSLContext, openConnection with ssl",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        const clientCtx = createDefaultContext();
        clientCtx.loadVerifyLocations(ca);
        const sock = tcpServerSocket("127.0.0.1", 0);
        const [, port] = sock.getsockname() as [string, number];
        const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
        await using c = await openConnection("localhost", port, { ssl: clientCtx });
        await c.sendall(enc("secret"));
        assert.equal(dec(await c.recv(100)), "secret");
        await server.cancel();
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SSLContext ALPN: the server's choice is visible after the handshake",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        serverCtx.setAlpnProtocols(["h2", "http/1.1"]);
        const clientCtx = createDefaultContext();
        clientCtx.loadVerifyLocations(ca);
        clientCtx.setAlpnProtocols(["http/1.1"]);
        const sock = tcpServerSocket("127.0.0.1", 0);
        const [, port] = sock.getsockname() as [string, number];
        const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
        await using c = await openConnection("127.0.0.1", port, { ssl: clientCtx });
        assert.equal(c.selectedAlpnProtocol(), "http/1.1");
        await server.cancel();
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SSL client rejects an untrusted certificate with a clear error; the server keeps running",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        const sock = tcpServerSocket("127.0.0.1", 0);
        const [, port] = sock.getsockname() as [string, number];
        const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
        // No loadVerifyLocations: the self-signed certificate is not trusted.
        await assert.rejects(
          openConnection("localhost", port, { ssl: true }),
          (e) =>
            e instanceof Deno.errors.InvalidData &&
            /^Cannot verify the server's certificate for "localhost": it is not signed by a CA this context trusts/
              .test(e.message),
        );
        // A wrong host name is refused too.
        const ctx = createDefaultContext();
        ctx.loadVerifyLocations(ca);
        await assert.rejects(
          openConnection("127.0.0.1", port, { ssl: ctx, serverHostname: "example.com" }),
          (e) =>
            e instanceof Deno.errors.InvalidData &&
            /^Cannot verify the server's certificate for "example.com": it does not name "example.com"/
              .test(e.message),
        );
        // Still serving.
        await using ok = await openConnection("localhost", port, { ssl: ctx });
        await ok.sendall(enc("still up"));
        assert.equal(dec(await ok.recv(100)), "still up");
        await server.cancel();
      }, { logErrors: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SSLContext.wrapSocket() wraps a plain connected socket for the client side",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = new SSLContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        const plain = tcpServerSocket("127.0.0.1", 0);
        const listener = await serverCtx.wrapSocket(plain, { serverSide: true });
        await using _l = listener;
        const [, port] = listener.getsockname() as [string, number];
        const accepting = await spawn(async () => {
          const [conn] = await listener.accept();
          await using _c = conn;
          await conn.sendall(enc("hello tls"));
        });
        await using raw = socket();
        await raw.connect(["127.0.0.1", port]);
        const tls = await wrapSocket(raw, { cafile: ca, serverHostname: "localhost" });
        await using _t = tls;
        assert.equal(raw.closed, true, "the plain socket is handed over");
        assert.equal(dec(await tls.asStream().readall()), "hello tls");
        await accepting.join();
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("SSLContext.wrapSocket() refuses what Deno cannot do, with clear errors", async () => {
  await run(async () => {
    const [a, b] = socketpair();
    await using _a = a;
    await using _b = b;
    await a.sendall(new Uint8Array([0]));
    await b.recv(1); // connected now
    const server = new SSLContext(Purpose.CLIENT_AUTH);
    await assert.rejects(server.wrapSocket(a, { serverSide: true }), /no certificate/);
    const none = new SSLContext();
    none.verifyMode = CERT_NONE;
    await assert.rejects(none.wrapSocket(a), /Deno always verifies/);
  });
});

Deno.test("SSLContext.loadCertChain() reports missing files and keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = new SSLContext();
    assert.throws(() => ctx.loadCertChain(`${dir}/none.pem`), Deno.errors.NotFound);
    await Deno.writeTextFile(`${dir}/junk.pem`, "not a pem");
    assert.throws(() => ctx.loadCertChain(`${dir}/junk.pem`), /no PEM certificate/);
    assert.throws(() => ctx.loadVerifyLocations(), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "getServerCertificate() returns the server's certificate as PEM",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        const sock = tcpServerSocket("127.0.0.1", 0);
        const [, port] = sock.getsockname() as [string, number];
        const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
        const pem = await getServerCertificate(["127.0.0.1", port]);
        const norm = (s: string) => s.replace(/\s+/g, "");
        assert.equal(norm(pem), norm(await Deno.readTextFile(cert)));
        // With a CA file the certificate must verify.
        const verified = await getServerCertificate(["localhost", port], { cafile: ca });
        assert.equal(norm(verified), norm(pem));
        await server.cancel();
      }, { logErrors: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("getServerCertificate() to a closed port rejects and leaks nothing", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  await run(async () => {
    await assert.rejects(getServerCertificate(["127.0.0.1", port]));
  });
});

Deno.test("createDefaultContext() rejects an unknown purpose", () => {
  assert.throws(() => createDefaultContext("EVERYTHING" as never), RangeError);
});

Deno.test({
  name: "SSL server: a client that does not speak TLS fails only its own task",
  ignore: opensslMissing,
  fn: async () => {
    const { dir, cert, key, ca } = await makeCert();
    try {
      await run(async () => {
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(cert, key);
        const sock = tcpServerSocket("127.0.0.1", 0);
        const [, port] = sock.getsockname() as [string, number];
        const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
        {
          await using plain = await openConnection("127.0.0.1", port);
          await plain.sendall(enc("GET / HTTP/1.0\r\n\r\n"));
          // The server's handshake fails; it drops this connection.
          const stream = plain.asStream();
          await stream.readall().catch(() => {});
        }
        const ctx = createDefaultContext();
        ctx.loadVerifyLocations(ca);
        await using ok = await openConnection("localhost", port, { ssl: ctx });
        await ok.sendall(enc("after"));
        assert.equal(dec(await ok.recv(100)), "after");
        await server.cancel();
      }, { logErrors: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("unixServer() with ssl throws: Deno has no TLS listener for Unix sockets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await run(async () => {
      const ctx = new SSLContext(Purpose.CLIENT_AUTH);
      const { unixServer } = await import("@curio/curio");
      await assert.rejects(
        unixServer(`${dir}/s.sock`, async () => {}, { ssl: ctx }),
        /no certificate|only for TCP/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Serves `cert` on 127.0.0.1 and connects to it as `localhost`, trusting `cafile`. */
async function connectTrusting(
  cert: { cert: string; key: string },
  cafile: string,
): Promise<{ error: unknown; logged: string[] }> {
  let error: unknown = undefined;
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
  try {
    await run(async () => {
      const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
      serverCtx.loadCertChain(cert.cert, cert.key);
      const sock = tcpServerSocket("127.0.0.1", 0);
      const [, port] = sock.getsockname() as [string, number];
      const server = await spawn(() => runServer(sock, echo, { ssl: serverCtx }));
      const ctx = createDefaultContext();
      ctx.loadVerifyLocations(cafile);
      try {
        await using c = await openConnection("localhost", port, { ssl: ctx });
        await c.sendall(enc("ping"));
        assert.equal(dec(await c.recv(10)), "ping");
      } catch (e) {
        error = e;
        // The server's side of the refused handshake ends soon after.
        for (let i = 0; i < 500 && logged.length === 0; i++) await sleep(0.01);
        await sleep(0.05); // time for a second line, if there were one
      }
      await server.cancel();
    });
  } finally {
    console.error = original;
  }
  return { error, logged };
}

Deno.test({
  name:
    "SSL: the usual one-command self-signed certificate is refused with the reason and a working openssl command; the server logs one line",
  ignore: opensslMissing,
  fn: async () => {
    const made = await selfSigned(); // openssl req -x509 ... -subj /CN=localhost, nothing more
    try {
      const { error, logged } = await connectTrusting(made, made.cert);
      assert(error instanceof Deno.errors.InvalidData, `expected InvalidData, got ${error}`);
      assert.match(
        error.message,
        /^Cannot verify the server's certificate for "localhost": it is a CA certificate/,
      );
      assert.match(error.message, /not even one loaded with loadVerifyLocations\(\)/);
      assert.match(error.cause instanceof Error ? error.cause.message : "", /CaUsedAsEndEntity/);
      const handshakeLines = logged.filter((l) => l.includes("TLS handshake"));
      assert.equal(handshakeLines.length, 1, `one line per refused client: ${logged.join("\n")}`);
      assert.match(
        handshakeLines[0]!,
        /^curio: TLS handshake with 127\.0\.0\.1:\d+ failed: the client refused it \(received fatal alert: \w+: usually, the client does not trust our certificate\)$/,
      );
      assert(!logged.some((l) => /\n\s+at /.test(l)), "no stack trace on stderr");
      // The command the message gives makes a certificate that works.
      const command = /(openssl req -x509 .*IP:127\.0\.0\.1)/.exec(error.message)?.[1];
      assert(command !== undefined, "the message gives an openssl command");
      const dir = await Deno.makeTempDir();
      try {
        const out = await new Deno.Command("sh", {
          args: ["-c", `cd '${dir}' && ${command} -days 1`],
          stdout: "null",
          stderr: "null",
        }).output();
        assert(out.success, "the openssl command runs");
        const fixed = { cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
        const again = await connectTrusting(fixed, fixed.cert);
        assert.equal(again.error, undefined, `the fixed certificate is accepted: ${again.error}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      await Deno.remove(made.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "SSL: a self-signed certificate with CA:FALSE but no subjectAltName is refused in plain words",
  ignore: opensslMissing,
  fn: async () => {
    const made = await selfSigned(["-addext", "basicConstraints=critical,CA:FALSE"]);
    try {
      const { error } = await connectTrusting(made, made.cert);
      assert(error instanceof Deno.errors.InvalidData, `expected InvalidData, got ${error}`);
      assert.match(
        error.message,
        /^Cannot verify the server's certificate for "localhost": it names no host in a subjectAltName extension, and Deno's TLS \(rustls\) ignores the subject's CN/,
      );
      assert.match(error.message, /-addext subjectAltName=DNS:localhost/);
    } finally {
      await Deno.remove(made.dir, { recursive: true });
    }
  },
});

Deno.test("openUnixConnection() with ssl throws: Deno starts TLS only on TCP connections", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
    await run(async () => {
      const { openUnixConnection } = await import("@curio/curio");
      await assert.rejects(openUnixConnection(`${dir}/s.sock`, { ssl: true }), {
        name: "Error",
        message:
          "Cannot wrap a Unix socket connection with TLS: Deno can start TLS only on TCP connections",
      });
    });
    listener.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
