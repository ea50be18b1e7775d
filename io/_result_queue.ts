// Deno cannot abort a pending `listener.accept()` or `DatagramConn.receive()`.
// So when the task waiting for one is cancelled, the operation is left
// running, and what it returns later is queued for the next caller instead of
// being lost; an error it ends with is kept for the next caller to throw. At
// most one operation runs at a time, and one task waits at a time: a second
// gets ResourceBusy at once. Socket's listening side (_socket_accept.ts) and
// datagram side (_socket_datagram.ts) are both one of these.

import { _futureWait } from "../kernel/traps.ts";
import { ResourceBusy } from "../kernel/errors.ts";

/** The results of an operation that cannot be aborted, kept across cancellation. */
export class ResultQueue<T> {
  readonly #start: () => Promise<T>;
  readonly #dropLate: (item: T) => void;
  #items: T[] = [];
  #inflight: Promise<void> | undefined = undefined;
  #error: { error: unknown } | undefined = undefined;
  #waiting = false;
  // Set by close(): results arriving later go to dropLate, errors are ignored.
  #closed = false;

  /**
   * @param start Starts one operation (`() => listener.accept()`).
   * @param dropLate What to do with a result that arrives after close().
   */
  constructor(start: () => Promise<T>, dropLate: (item: T) => void) {
    this.#start = start;
    this.#dropLate = dropLate;
  }

  /** Whether an operation is running. */
  get pulling(): boolean {
    return this.#inflight !== undefined;
  }

  /** Starts an operation unless one is running; resolves when it has ended. */
  #fill(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    const p = this.#start().then((item) => {
      this.#inflight = undefined;
      if (this.#closed) this.#dropLate(item);
      else this.#items.push(item);
    }, (error) => {
      this.#inflight = undefined;
      if (!this.#closed) this.#error = { error };
    });
    this.#inflight = p;
    return p;
  }

  /**
   * The next result, waiting (through the kernel, as `READ_WAIT`) if none is
   * queued; an error the operation ended with is thrown, once.
   *
   * @param busy The ResourceBusy message for a second waiting task.
   * @throws {ResourceBusy} If another task is already waiting.
   */
  async next(busy: string): Promise<T> {
    while (this.#items.length === 0) {
      const failure = this.#error;
      if (failure !== undefined) {
        this.#error = undefined;
        throw failure.error;
      }
      if (this.#waiting) throw new ResourceBusy(busy);
      this.#waiting = true;
      try {
        await _futureWait(this.#fill(), "READ_WAIT");
      } finally {
        this.#waiting = false;
      }
    }
    return this.#items.shift()!;
  }

  /** Resolves when next() would not wait (for `_readWait`); never rejects. */
  whenReady(): Promise<void> {
    return this.#items.length > 0 || this.#error ? Promise.resolve() : this.#fill();
  }

  /** Stops queueing: later results go to dropLate. Returns what was queued. */
  close(): T[] {
    this.#closed = true;
    return this.#items.splice(0);
  }
}
