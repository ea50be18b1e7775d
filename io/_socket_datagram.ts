// The datagram side of a Socket: a `Deno.DatagramConn` whose received
// datagrams survive a cancelled recvfrom() (see _result_queue.ts). One task
// sends at a time; a second gets ResourceBusy at once.

import { _futureWait } from "../kernel/traps.ts";
import { ResourceBusy } from "../kernel/errors.ts";
import { closeQuietly } from "./_errors.ts";
import { ResultQueue } from "./_result_queue.ts";

/** A `Deno.DatagramConn` whose received datagrams survive cancellation. */
export class DatagramQueue {
  /** The UDP socket (closed by {@linkcode DatagramQueue.prototype.close}). */
  readonly conn: Deno.DatagramConn;
  // A datagram received after close() is dropped.
  readonly #received: ResultQueue<[Uint8Array, Deno.Addr]>;
  #sending = false;

  constructor(conn: Deno.DatagramConn) {
    this.conn = conn;
    this.#received = new ResultQueue<[Uint8Array, Deno.Addr]>(() => conn.receive(), () => {});
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

  /**
   * The next datagram and its sender, waiting if none is queued.
   *
   * @throws {ResourceBusy} If another task is already waiting.
   */
  next(action: string): Promise<[Uint8Array, Deno.Addr]> {
    return this.#received.next(
      `Cannot ${action}: another task is already waiting to read this socket`,
    );
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
    return this.#received.whenReady();
  }

  /** Closes the UDP socket. */
  close(): void {
    this.#received.close();
    closeQuietly(this.conn);
  }

  /** Gives the UDP socket up without closing it. */
  detach(): void {
    this.#received.close();
  }
}
