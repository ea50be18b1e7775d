// The datagram side of a Socket. Deno cannot abort a pending
// `DatagramConn.receive()`, so a cancelled recvfrom() leaves it running: the
// datagram it returns later is queued here for the next recvfrom() instead of
// being lost, and an error it ends with is kept for the next one to throw.
// One task receives at a time and one sends at a time; a second gets
// ResourceBusy at once.

import { _futureWait } from "../kernel/traps.ts";
import { ResourceBusy } from "../kernel/errors.ts";
import { closeQuietly } from "./_errors.ts";

/** A `Deno.DatagramConn` whose received datagrams survive cancellation. */
export class DatagramQueue {
  /** The UDP socket (closed by {@linkcode DatagramQueue.prototype.close}). */
  readonly conn: Deno.DatagramConn;
  #datagrams: Array<[Uint8Array, Deno.Addr]> = [];
  #inflight: Promise<void> | undefined = undefined;
  #error: { error: unknown } | undefined = undefined;
  #waiting = false;
  #sending = false;
  // Set by close() and detach(): late errors are dropped.
  #closed = false;

  constructor(conn: Deno.DatagramConn) {
    this.conn = conn;
  }

  /**
   * Opens a UDP socket on `hostname:port`.
   *
   * @throws {Error} If Deno runs without `--unstable-net`.
   */
  static open(hostname: string, port: number, reuseAddress: boolean): DatagramQueue {
    if (typeof Deno.listenDatagram !== "function") {
      throw new Error(
        'Cannot bind UDP socket: Deno.listenDatagram is unstable; run with --unstable-net (or "unstable": ["net"] in deno.json)',
      );
    }
    return new DatagramQueue(
      Deno.listenDatagram({ transport: "udp", hostname, port, reuseAddress }),
    );
  }

  /** Starts a receive unless one is running; resolves when it has ended. */
  #fill(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    const p = this.conn.receive().then(([data, addr]) => {
      this.#inflight = undefined;
      this.#datagrams.push([data, addr]);
    }, (error) => {
      this.#inflight = undefined;
      if (!this.#closed) this.#error = { error };
    });
    this.#inflight = p;
    return p;
  }

  /**
   * The next datagram and its sender, waiting (through the kernel, as
   * `READ_WAIT`) if none is queued.
   *
   * @throws {ResourceBusy} If another task is already waiting.
   */
  async next(action: string): Promise<[Uint8Array, Deno.Addr]> {
    while (this.#datagrams.length === 0) {
      const failure = this.#error;
      if (failure !== undefined) {
        this.#error = undefined;
        throw failure.error;
      }
      if (this.#waiting) {
        throw new ResourceBusy(
          `Cannot ${action}: another task is already waiting to read this socket`,
        );
      }
      this.#waiting = true;
      try {
        await _futureWait(this.#fill(), "READ_WAIT");
      } finally {
        this.#waiting = false;
      }
    }
    return this.#datagrams.shift()!;
  }

  /**
   * Sends one datagram (through the kernel, as `WRITE_WAIT`).
   *
   * @throws {ResourceBusy} If another task is already sending.
   */
  async send(data: Uint8Array, hostname: string, port: number): Promise<number> {
    if (this.#sending) {
      throw new ResourceBusy("Cannot sendto: another task is already waiting to write this socket");
    }
    this.#sending = true;
    try {
      return await _futureWait(
        this.conn.send(data, { transport: "udp", hostname, port }),
        "WRITE_WAIT",
      );
    } finally {
      this.#sending = false;
    }
  }

  /** Resolves when next() would not wait (for `_readWait`); never rejects. */
  whenReady(): Promise<void> {
    return this.#datagrams.length > 0 || this.#error ? Promise.resolve() : this.#fill();
  }

  /** Closes the UDP socket. */
  close(): void {
    this.#closed = true;
    closeQuietly(this.conn);
  }

  /** Gives the UDP socket up without closing it. */
  detach(): void {
    this.#closed = true;
  }
}
