// The write side shared by Socket, SocketStream and FileStream.
//
// A write Deno has started cannot be taken back, and until it resolves nobody
// knows how many of its bytes went out. So:
//
// - at most one raw write is in flight; a later write waits for it first, so
//   bytes never go out of order;
// - `writeAll` counts the bytes confirmed written. When a cancel or timeout
//   interrupts it, the error gets that count as `bytesSent` (sockets) or
//   `bytesWritten` (streams); if a raw write was still in flight, its count is
//   added to the same property when it completes. The property is final once
//   the next operation on the socket or stream has started (that operation
//   waits for the in-flight write) or after `flush()`.

import { _futureWait } from "../kernel/traps.ts";
import { WaitSlot } from "../kernel/wait_slot.ts";
import { CancelledError, ResourceBusy } from "../kernel/errors.ts";

/** Writes some bytes of `data` and resolves with how many, Deno style. */
export type WriteSome = (data: Uint8Array) => Promise<number>;

/** A raw write that failed: its error, boxed so the promise never rejects. */
export class WriteFailed {
  constructor(readonly error: unknown) {}
}

/** The count of a raw write, or throws its error. */
export function unwrap(result: number | WriteFailed): number {
  if (typeof result === "number") return result;
  throw result.error;
}

const EMPTY = new Uint8Array(0);

/**
 * Puts `done` (the bytes confirmed written) on a cancel's error under `key`,
 * and adds the count of `uncounted`, the raw write still in flight, when it
 * completes.
 */
function countLater(
  error: CancelledError,
  key: string,
  done: number,
  uncounted: Promise<number | WriteFailed> | undefined,
): void {
  const record = error as unknown as Record<string, number>;
  record[key] = done;
  uncounted?.then((n) => {
    if (typeof n === "number") record[key] = (record[key] ?? 0) + n;
  });
}

/** Serializes raw writes and counts what they wrote. */
export class Writer {
  #write: WriteSome;
  #inflight: Promise<number | WriteFailed> | undefined = undefined;
  #waiting = false;
  // Bound once: no closures allocated per write on the hot path.
  #onDone = (n: number): number => {
    this.#inflight = undefined;
    if (this.#sender.waiting) this.#sendMore(n);
    return n;
  };
  #onFail = (error: unknown): WriteFailed => {
    this.#inflight = undefined;
    if (this.#sender.waiting) {
      this.#sendEnded();
      this.#sender.fail(error);
    }
    return new WriteFailed(error);
  };
  /**
   * The task in sendAll's hot path (at most one), waiting until all of its
   * data is written; a cancel taking it away counts what was sent.
   */
  #sender = new WaitSlot((error) => {
    const sent = this.#sent;
    this.#sendEnded();
    if (error instanceof CancelledError) countLater(error, this.countKey, sent, this.#inflight);
  });
  /** sendAll's data, and how much of it raw writes have confirmed. */
  #data: Uint8Array = EMPTY;
  #sent = 0;

  /**
   * @param write The raw write.
   * @param what What is written, for messages ("socket", "stream").
   * @param countKey The property a cancelled write sets on its error.
   */
  constructor(write: WriteSome, readonly what: string, readonly countKey: string) {
    this.#write = write;
  }

  /** The raw write Deno is doing now, if any; it never rejects. */
  get inflight(): Promise<number | WriteFailed> | undefined {
    return this.#inflight;
  }

  /**
   * Starts a raw write of `data`. Only one may be in flight: callers wait for
   * {@linkcode inflight} first.
   */
  start(data: Uint8Array): Promise<number | WriteFailed> {
    const p = this.#write(data).then(this.#onDone, this.#onFail);
    this.#inflight = p;
    return p;
  }

  #enter(action: string): void {
    if (this.#waiting) {
      throw new ResourceBusy(
        `Cannot ${action}: another task is already waiting to write this ${this.what}`,
      );
    }
    this.#waiting = true;
  }

  /** Waits (as a task) for the in-flight write, if any; throws its error. */
  async drain(action: string): Promise<void> {
    if (this.#inflight === undefined) return;
    this.#enter(action);
    try {
      while (this.#inflight !== undefined) {
        unwrap(await _futureWait(this.#inflight, "WRITE_WAIT"));
      }
    } finally {
      this.#waiting = false;
    }
  }

  /**
   * `writeAll(data, action, false, false)` (sendall) with a hot path: when
   * no raw write is in flight, the write starts at once and the task waits
   * in `#sender` until the writes' completions (a short write goes on from
   * there) have written all of it; the task resumes from the wait itself,
   * with no async frame or handler of sendAll's in between.
   */
  sendAll(data: Uint8Array, action: string): Promise<void> {
    if (this.#waiting || this.#inflight !== undefined || data.length === 0) {
      return this.writeAll(data, action, false, false) as Promise<unknown> as Promise<void>;
    }
    this.#waiting = true;
    this.#data = data;
    this.#sent = 0;
    this.start(data);
    return this.#sender.wait("WRITE_WAIT") as Promise<void>;
  }

  /** A raw write of sendAll's wrote `n` bytes: write the rest, or wake the sender. */
  #sendMore(n: number): void {
    const sent = this.#sent += n;
    const data = this.#data;
    if (sent < data.length) {
      this.start(data.subarray(sent));
      return;
    }
    this.#sendEnded();
    this.#sender.wake(undefined);
  }

  #sendEnded(): void {
    this.#waiting = false;
    this.#data = EMPTY;
    this.#sent = 0;
  }

  /**
   * Writes all of `data` (as a task), or one raw write's worth if `once`;
   * resolves with the count (`undefined` unless `count`).
   * On cancellation the error carries the count of bytes written as
   * `countKey` (default: the one given to the constructor; see the module
   * notes): a stream's `write` over a socket says `bytesWritten`, the
   * socket's own `sendall` says `bytesSent`.
   */
  async writeAll(
    data: Uint8Array,
    action: string,
    once = false,
    count = true,
    countKey: string = this.countKey,
  ): Promise<number | undefined> {
    this.#enter(action);
    let done = 0;
    // `mine` is the raw write this call started and has not counted yet. It
    // may complete between the cancel and this task's resumption (after
    // start() cleared #inflight), so it is counted by `uncounted`, never by
    // looking at #inflight.
    let uncounted: Promise<number | WriteFailed> | undefined;
    try {
      while (this.#inflight !== undefined) {
        unwrap(await _futureWait(this.#inflight, "WRITE_WAIT"));
      }
      if (data.length === 0) return count ? 0 : undefined;
      do {
        uncounted = this.start(done === 0 ? data : data.subarray(done));
        const n = unwrap(await _futureWait(uncounted, "WRITE_WAIT"));
        uncounted = undefined;
        done += n;
      } while (!once && done < data.length);
      return count ? done : undefined;
    } catch (error) {
      if (error instanceof CancelledError) countLater(error, countKey, done, uncounted);
      throw error;
    } finally {
      this.#waiting = false;
    }
  }
}
