// Cancellation sweep over socket and stream reads, accept and sendall: no
// byte (or connection) is lost or duplicated when a read is cancelled or
// timed out at any point; what a cancelled sendall reports as bytesSent is
// exactly what the peer receives.
//
// These scenarios use real loopback sockets, so their interleaving depends
// on the network: they run under an autojump and do not require a
// replay to match the clean run point for point.

import assert from "node:assert/strict";
import { CancelledError, openConnection, sleep, type Socket, tcpServerSocket } from "@curio/curio";
import { socketpair } from "@curio/curio/socket";
import { assertVictimEnd, type Scenario, sweep, type SweepOptions } from "./_sweep.ts";

// autojump 0.5: a hang is reported after half a second of real idleness, so
// a loaded machine (other test files run in parallel) is not taken for one.
const IO: SweepOptions = { autojump: 0.5, nondeterministic: true, realLimitMs: 20_000 };
const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(parts: Uint8Array[]): string {
  return parts.map((p) => dec.decode(p)).join("");
}

/**
 * A writer sends `chunks` (yielding between them) and closes; the victim
 * reads with `read` until EOF; whatever it left is read by a successor.
 */
function readScenario(
  chunks: string[],
  makeReader: (sock: Socket) => () => Promise<Uint8Array>,
): Scenario {
  return async (ctx) => {
    const [a, b] = socketpair();
    ctx.onWedge.push(() => void a.close(), () => void b.close());
    const victimGot: Uint8Array[] = [];
    const restGot: Uint8Array[] = [];
    let eof = false;
    try {
      const read = makeReader(b);
      const writer = await ctx.spawn("writer", async () => {
        for (const chunk of chunks) {
          await ctx.step("writer send", () => a.sendall(enc.encode(chunk)));
          await ctx.step("writer yield", () => sleep(0));
        }
        await a.close();
      });
      await ctx.spawnVictim("reader", async () => {
        const g = ctx.enter("reader");
        try {
          for (;;) {
            const data = await ctx.step("reader read", read);
            if (data.length === 0) {
              eof = true;
              return;
            }
            victimGot.push(data);
          }
        } finally {
          ctx.leave(g);
        }
      });
      await writer.join();
      await ctx.victim!.wait();
      while (!eof) {
        const data = await read();
        if (data.length === 0) break;
        restGot.push(data);
      }
    } finally {
      await a.close();
      await b.close();
    }
    return () => {
      assertVictimEnd(ctx);
      assert.equal(
        concat(victimGot) + concat(restGot),
        chunks.join(""),
        "bytes lost, duplicated or reordered",
      );
    };
  };
}

const CHUNKS = ["alpha\nbe", "ta\n", "gam", "ma\ndelta\n", "epsilon"];

Deno.test("sweep io: Socket.recv() cancelled or timed out keeps every byte", async () => {
  await sweep("Socket.recv", readScenario(CHUNKS, (s) => () => s.recv(4)), IO);
});

Deno.test("sweep io: Socket.recvInto() cancelled or timed out keeps every byte", async () => {
  await sweep(
    "Socket.recvInto",
    readScenario(CHUNKS, (s) => async () => {
      const buf = new Uint8Array(3);
      const n = await s.recvInto(buf);
      return buf.subarray(0, n);
    }),
    IO,
  );
});

Deno.test("sweep io: SocketStream.readline() cancelled or timed out keeps every byte", async () => {
  await sweep(
    "SocketStream.readline",
    readScenario(CHUNKS, (s) => {
      const stream = s.asStream();
      return () => stream.readline();
    }),
    IO,
  );
});

Deno.test("sweep io: SocketStream.read(n) cancelled or timed out keeps every byte", async () => {
  await sweep(
    "SocketStream.read",
    readScenario(CHUNKS, (s) => {
      const stream = s.asStream();
      return () => stream.read(5);
    }),
    IO,
  );
});

const accepts: Scenario = async (ctx) => {
  const listener = tcpServerSocket("127.0.0.1", 0);
  ctx.onWedge.push(() => void listener.close());
  const [host, port] = listener.getsockname() as [string, number];
  const N = 4;
  let victimAccepted = 0;
  let restAccepted = 0;
  const ids: string[] = [];
  const serve = async (client: Socket) => {
    try {
      const id = await client.recv(1);
      if (id.length > 0) ids.push(dec.decode(id));
    } finally {
      await client.close();
    }
  };
  try {
    const clients = await ctx.spawn("clients", async () => {
      for (let i = 0; i < N; i++) {
        const c = await ctx.step(`client ${i} connect`, () => openConnection(host, port));
        try {
          await c.sendall(enc.encode(String(i)));
        } finally {
          await c.close();
        }
      }
    });
    await ctx.spawnVictim("acceptor", async () => {
      const g = ctx.enter("acceptor");
      try {
        while (victimAccepted + restAccepted < N) {
          const [client] = await ctx.step("acceptor accept", () => listener.accept());
          victimAccepted++;
          await ctx.step("acceptor serve", () => serve(client));
        }
      } finally {
        ctx.leave(g);
      }
    });
    await ctx.victim!.wait();
    while (victimAccepted + restAccepted < N) {
      const [client] = await listener.accept();
      restAccepted++;
      await serve(client);
    }
    await clients.join();
  } finally {
    await listener.close();
  }
  return () => {
    assertVictimEnd(ctx);
    assert.equal(victimAccepted + restAccepted, N, "a connection was lost or accepted twice");
    assert.equal(new Set(ids).size, ids.length, "a client was served twice");
  };
};

Deno.test("sweep io: Socket.accept() cancelled or timed out loses no connection", async () => {
  await sweep("Socket.accept", accepts, IO);
});

const sendalls: Scenario = async (ctx) => {
  const [a, b] = socketpair();
  ctx.onWedge.push(() => void a.close(), () => void b.close());
  const size = 4 * 1024 * 1024; // more than the loopback buffers take at once
  const data = new Uint8Array(size).fill(7);
  let reported = -1;
  let received = 0;
  try {
    const reader = await ctx.spawn("reader", async () => {
      for (let i = 0;; i++) {
        // A point at every fourth recv keeps the sweep short.
        const recv = () => b.recv(64 * 1024);
        const chunk = await (i % 4 === 0 ? ctx.step("reader recv", recv) : recv());
        if (chunk.length === 0) return;
        received += chunk.length;
      }
    });
    await ctx.spawnVictim("sender", async () => {
      const g = ctx.enter("sender");
      try {
        await ctx.step("sender sendall", () => a.sendall(data));
        reported = size;
      } catch (e) {
        if (e instanceof CancelledError) {
          // Final once the next operation on the socket has started.
          await a.sendall(new Uint8Array(0)).catch(() => {});
          reported = (e as unknown as { bytesSent: number }).bytesSent;
        }
        throw e;
      } finally {
        ctx.leave(g);
      }
    });
    await ctx.victim!.wait();
    await a.close();
    await reader.join();
  } finally {
    await a.close();
    await b.close();
  }
  return () => {
    assertVictimEnd(ctx);
    if (ctx.victim!.exception !== undefined) {
      assert.equal(typeof reported, "number");
    }
    assert.equal(received, reported, "bytesSent differs from what the peer received");
  };
};

Deno.test("sweep io: a cancelled Socket.sendall() reports exactly the bytes the peer got", async () => {
  await sweep("Socket.sendall", sendalls, IO);
});
