// How the kernel steps aside so that Deno's event loop polls timers *and* I/O.
//
// A chain of promise resolutions never lets the event loop run, so a busy
// kernel must step aside every so often. Which step aside works was measured
// (shared NOTES, and tests/bench/latency.ts): setImmediate and message ports
// run timers but do not make Deno poll sockets. Deno polls its I/O driver
// (epoll) when its runtime thread parks, that is, when the event loop has
// nothing else to do, or else only every 61 scheduler ticks: an echo round
// trip under a sleep(0) spinner then took ~60-240 ms.
//
// What makes the runtime park: waiting for an op that only the I/O driver can
// complete. The kernel keeps a read pending on one end of a loopback TCP pair
// (its readiness cleared, so it cannot complete on its own) and, to step
// aside, writes one byte to the other end and waits for that read. The read
// completes only after an epoll poll, which also delivers every other socket,
// pipe and signal that became ready. The setImmediate after it puts the
// kernel behind every callback that poll made due.
//
// The pair needs net permission for 127.0.0.1. Without it (a program that
// uses no sockets has none to starve) the kernel awaits a SHA-1 digest of
// one byte instead: it runs on Deno's blocking pool, so the runtime usually
// parks while it waits. The pair is opened on the first step aside, not
// before (most kernels never need one), and closed with the kernel.

import { setImmediate } from "node:timers";

const ONE_BYTE = new Uint8Array(1);

function digestThen(then: () => void): void {
  crypto.subtle.digest("SHA-1", ONE_BYTE).then(() => setImmediate(then));
}

function netGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state === "granted";
  } catch {
    return false;
  }
}

function closeBoth(a: Deno.Conn, b: Deno.Conn): void {
  for (const conn of [a, b]) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

interface Pair {
  writer: Deno.Conn;
  reader: Deno.Conn;
  /** The read kept pending on `reader`; resolves once a written byte arrived. */
  reading: Promise<unknown>;
}

/** One kernel's way of stepping aside for Deno's event loop. */
export class HostYield {
  #pair: Pair | undefined = undefined;
  /** The pair being opened, until it is (or is not). */
  #opening: Promise<void> | undefined = undefined;
  /** No pair can be had here (opening one failed): keep to the digest. */
  #unavailable = false;
  /** Counts close() calls, so a pair that finishes opening after one is closed at once. */
  #generation = 0;
  #buffer = new Uint8Array(64);

  /** Lets the event loop poll timers and I/O, then calls `then` (exactly once). */
  stepAside(then: () => void): void {
    const pair = this.#pair;
    if (pair === undefined) {
      if (this.#opening === undefined && !this.#unavailable && netGranted()) this.#open();
      digestThen(then);
      return;
    }
    pair.writer.write(ONE_BYTE).catch(() => {});
    pair.reading.then(() => {
      if (this.#pair === pair) pair.reading = this.#read(pair.reader);
      setImmediate(then);
    });
  }

  /**
   * Closes the pair (the kernel stopped) and resolves once nothing of it is
   * left: its pending read settled, a pair still being opened closed too. So
   * no op or resource of a kernel outlives its run(). A later stepAside()
   * opens a new pair.
   */
  async close(): Promise<void> {
    this.#generation++;
    const pair = this.#pair;
    this.#pair = undefined;
    if (pair !== undefined) {
      closeBoth(pair.writer, pair.reader);
      await pair.reading;
    }
    await this.#opening;
  }

  #read(reader: Deno.Conn): Promise<unknown> {
    // Settles only when the I/O driver reports the written byte; a close
    // settles it too (with an error nobody needs).
    return reader.read(this.#buffer).catch(() => null);
  }

  #open(): void {
    const generation = this.#generation;
    this.#opening = (async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const port = (listener.addr as Deno.NetAddr).port;
        const [writer, reader] = await Promise.all([
          Deno.connect({ hostname: "127.0.0.1", port }),
          listener.accept(),
        ]);
        if (generation !== this.#generation) {
          closeBoth(writer, reader); // the kernel stopped meanwhile
          return;
        }
        writer.setNoDelay(true);
        this.#pair = { writer, reader, reading: this.#read(reader) };
      } finally {
        listener.close();
      }
    })().catch(() => {
      this.#unavailable = true;
    }).finally(() => {
      this.#opening = undefined;
    });
  }
}
