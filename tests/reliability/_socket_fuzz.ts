// Socket fuzz: a writer sends a known byte sequence in random pieces; a
// chain of reader tasks reads it with random operations (recv, recvInto,
// readline, read, readexactly-style loops), each under a random short
// timeout, while a chaos task cancels the current reader at random moments
// and a fresh reader takes over the same socket. Whatever the interleaving,
// the bytes read, in order, must be exactly the bytes sent. Real clock and
// real loopback sockets; seeded like the main fuzz.

import {
  CancelledError,
  run,
  sleep,
  type Socket,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { socketpair } from "@curio/curio/socket";
import { Rng } from "./_fuzz.ts";

/** The outcome of one socket fuzz iteration. */
export interface SocketFuzzResult {
  seed: number;
  problems: string[];
  reads: number;
  timeouts: number;
  cancels: number;
}

/** Byte i of the stream: a pattern with newlines so readline has lines to find. */
function byteAt(i: number): number {
  return i % 23 === 22 ? 10 : 97 + (i * 7) % 26;
}

/** Runs one iteration sending `total` bytes; returns what went wrong. */
export async function socketFuzzOnce(seed: number, total = 20_000): Promise<SocketFuzzResult> {
  const rng = new Rng(seed);
  const result: SocketFuzzResult = { seed, problems: [], reads: 0, timeouts: 0, cancels: 0 };
  const received: Uint8Array[] = [];
  let receivedBytes = 0;
  let eof = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<"wedged">((resolve) => {
    timer = setTimeout(() => resolve("wedged"), 15_000);
  });
  const body = run(async () => {
    const [a, b] = socketpair();
    const stream = b.asStream();
    try {
      const writer = await spawn(async () => {
        let sent = 0;
        while (sent < total) {
          const n = Math.min(total - sent, 1 + rng.int(3000));
          const piece = new Uint8Array(n);
          for (let i = 0; i < n; i++) piece[i] = byteAt(sent + i);
          await a.sendall(piece);
          sent += n;
          if (rng.chance(0.5)) await sleep(rng.chance(0.5) ? 0 : rng.next() * 0.002);
        }
        await a.close();
      }, { name: "writer" });

      // The bytes read, or null when the operation recorded its chunks itself.
      const readOnce = async (sock: Socket): Promise<Uint8Array | null> => {
        switch (rng.int(5)) {
          case 0:
            return await sock.recv(1 + rng.int(700));
          case 1: {
            const buf = new Uint8Array(1 + rng.int(700));
            const n = await sock.recvInto(buf);
            return buf.subarray(0, n);
          }
          case 2:
            return await stream.readline();
          case 3:
            return await stream.read(1 + rng.int(700));
          default: {
            // Several reads in one go: a cancel in the middle must lose
            // nothing either, so each chunk is recorded as it arrives.
            const want = 1 + rng.int(1500);
            let got = 0;
            while (got < want) {
              const chunk = await sock.recv(want - got);
              if (chunk.length === 0) return got === 0 ? chunk : null;
              received.push(chunk);
              receivedBytes += chunk.length;
              got += chunk.length;
            }
            return null;
          }
        }
      };

      let current: Task | undefined;
      const reader = async (): Promise<void> => {
        while (!eof) {
          result.reads++;
          let data: Uint8Array | null;
          try {
            data = rng.chance(0.5)
              ? await timeoutAfter(rng.next() * 0.003, () => readOnce(b))
              : await readOnce(b);
          } catch (e) {
            if (e instanceof TaskTimeout) {
              result.timeouts++;
              continue;
            }
            throw e;
          }
          if (data === null) continue;
          if (data.length === 0) eof = true; // end of file
          received.push(data);
          receivedBytes += data.length;
        }
      };
      const chaos = await spawn(async () => {
        while (!eof) {
          await sleep(rng.next() * 0.004);
          if (current !== undefined && !current.terminated && rng.chance(0.5)) {
            if (await current.cancel()) result.cancels++;
          }
        }
      }, { daemon: true, name: "chaos" });
      while (!eof) {
        current = await spawn(reader, { name: "reader" });
        await current.wait();
        const e = current.exception;
        if (e !== undefined && !(e instanceof CancelledError && e.constructor === CancelledError)) {
          result.problems.push(
            `reader failed: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
          );
          break;
        }
      }
      await chaos.cancel();
      await writer.join();
    } finally {
      await a.close();
      await b.close();
    }
  }, { logErrors: false }).then(() => "done" as const, (e) => {
    result.problems.push(`run() rejected: ${e instanceof Error ? e.message : e}`);
    return "done" as const;
  });
  const outcome = await Promise.race([body, wedged]);
  clearTimeout(timer);
  if (outcome === "wedged") {
    result.problems.push("wedged: no progress within 15 s");
    return result;
  }
  // Compare what was read with what was sent.
  let pos = 0;
  for (const chunk of received) {
    for (let i = 0; i < chunk.length; i++, pos++) {
      if (chunk[i] !== byteAt(pos)) {
        result.problems.push(`byte ${pos} differs: bytes lost, duplicated or reordered`);
        return result;
      }
    }
  }
  if (pos !== total) result.problems.push(`read ${pos} bytes of ${total}`);
  return result;
}
