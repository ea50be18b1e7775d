import assert from "node:assert/strict";
import { MockClock, run, TaskTimeout } from "@curio/curio";
import {
  AF_INET,
  AF_INET6,
  createConnection,
  fromfd,
  getaddrinfo,
  getfqdn,
  gethostbyaddr,
  gethostbyname,
  gethostbynameEx,
  gethostname,
  getnameinfo,
  NI_NUMERICHOST,
  SOCK_DGRAM,
  SOCK_STREAM,
  socket,
  socketpair,
} from "@curio/curio/socket";

Deno.test("socket() rejects families and types Deno cannot open", () => {
  assert.throws(() => socket(99), RangeError);
  assert.throws(() => socket(AF_INET, 3), /Deno has no raw sockets/);
  assert.throws(() => socketpair(AF_INET, SOCK_DGRAM), /stream socket pairs/);
});

Deno.test("fromfd() throws an Error saying Deno cannot do it", () => {
  assert.throws(() => fromfd(0, AF_INET, SOCK_STREAM), /Deno cannot wrap a descriptor/);
});

Deno.test("socket() over IPv6 loopback", async () => {
  await run(async () => {
    await using server = socket(AF_INET6);
    try {
      server.bind(["::1", 0]);
    } catch (e) {
      if (e instanceof Deno.errors.AddrNotAvailable) return; // no IPv6 here
      throw e;
    }
    server.listen();
    await using client = socket(AF_INET6);
    await client.connect(server.getsockname() as [string, number]);
    const [conn, addr] = await server.accept();
    await using _c = conn;
    assert.equal((addr as [string, number])[0], "::1");
    assert.equal(client.family, AF_INET6);
  });
});

Deno.test("createConnection() with a timeout connects, and refuses source addresses", async () => {
  await run(async () => {
    using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using s = await createConnection(["127.0.0.1", l.addr.port], 5);
    (await l.accept()).close();
    assert.equal(s.type, SOCK_STREAM);
    await assert.rejects(
      createConnection(["127.0.0.1", l.addr.port], undefined, ["10.0.0.1", 0]),
      /Deno cannot choose the local address/,
    );
  });
});

Deno.test("createConnection() timeout is a TaskTimeout and leaks nothing", async () => {
  await run(async () => {
    // 192.0.2.0/24 is TEST-NET: unroutable; the MockClock times out at once.
    const err = await createConnection(["192.0.2.1", 9], 1).catch((e) => e);
    assert(
      err instanceof TaskTimeout || err instanceof Deno.errors.NetworkUnreachable ||
        err instanceof Error,
    );
  }, { clock: new MockClock({ autojump: 0 }) });
  // A connect Deno was still making is closed when it completes; give it time to fail.
  await new Promise((r) => setTimeout(r, 10));
});

Deno.test("getaddrinfo() on literals and localhost", async () => {
  await run(async () => {
    assert.deepEqual(await getaddrinfo("127.0.0.1", 80, AF_INET, SOCK_STREAM), [
      [AF_INET, SOCK_STREAM, 6, "", ["127.0.0.1", 80]],
    ]);
    const both = await getaddrinfo("::1", "443");
    assert.deepEqual(both.map((e) => e[1]), [SOCK_STREAM, SOCK_DGRAM]);
    const local = await getaddrinfo("localhost", 0, AF_INET);
    assert(local.some((e) => e[4][0] === "127.0.0.1"));
    await assert.rejects(getaddrinfo("127.0.0.1", 70000), RangeError);
  });
});

Deno.test("gethostbyname(), gethostbynameEx(), gethostname(), getfqdn()", async () => {
  await run(async () => {
    assert.equal(await gethostbyname("localhost"), "127.0.0.1");
    assert.deepEqual(await gethostbynameEx("10.1.2.3"), ["10.1.2.3", [], ["10.1.2.3"]]);
    assert.equal(await gethostname(), Deno.hostname());
    assert.equal(typeof await getfqdn(), "string");
  });
});

Deno.test("gethostbyaddr() and getnameinfo() on loopback", async () => {
  await run(async () => {
    const [name, , addrs] = await gethostbyaddr("127.0.0.1");
    assert.equal(typeof name, "string");
    assert.deepEqual(addrs, ["127.0.0.1"]);
    assert.deepEqual(await getnameinfo(["127.0.0.1", 22], NI_NUMERICHOST), ["127.0.0.1", "22"]);
    await assert.rejects(gethostbyaddr("not-an-ip"), TypeError);
  });
});

Deno.test("a UDP socket without --unstable-net says which flag it needs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/udp.ts`;
    const socketMod = new URL("../../io/socket.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { AF_INET, SOCK_DGRAM, socket } from ${JSON.stringify(socketMod)};
try {
  socket(AF_INET, SOCK_DGRAM).bind(["127.0.0.1", 0]);
} catch (e) {
  console.log((e as Error).message);
}
`,
    );
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "--allow-net", script],
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.match(new TextDecoder().decode(stdout), /run with --unstable-net/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gethostbyname(gethostname()) resolves this machine's own name", async () => {
  await run(async () => {
    const ip = await gethostbyname(await gethostname());
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});
