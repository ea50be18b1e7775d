// The listening side of a Socket. Deno cannot abort a pending
// `listener.accept()`, so a cancelled Socket.accept() leaves it running: the
// connection it returns later is queued here for the next accept() instead of
// being lost, and an error it ends with is kept for the next accept() to
// throw. One task waits at a time; a second gets ResourceBusy at once.

import { _futureWait } from "../kernel/traps.ts";
import { ResourceBusy } from "../kernel/errors.ts";
import { closeQuietly } from "./_errors.ts";

/** A `Deno.Listener` whose accepted connections survive cancellation. */
export class AcceptQueue {
  /** The listener (closed by {@linkcode AcceptQueue.prototype.close}). */
  readonly listener: Deno.Listener;
  #accepted: Deno.Conn[] = [];
  #inflight: Promise<void> | undefined = undefined;
  #error: { error: unknown } | undefined = undefined;
  #waiting = false;
  // Set by close() and detach(): late connections are closed, late errors dropped.
  #closed = false;

  constructor(listener: Deno.Listener) {
    this.listener = listener;
  }

  /** Whether Deno is still working on an accept. */
  get pulling(): boolean {
    return this.#inflight !== undefined;
  }

  /** Starts an accept unless one is running; resolves when it has ended. */
  #fill(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    const p = this.listener.accept().then((conn) => {
      this.#inflight = undefined;
      if (this.#closed) closeQuietly(conn);
      else this.#accepted.push(conn);
    }, (error) => {
      this.#inflight = undefined;
      if (!this.#closed) this.#error = { error };
    });
    this.#inflight = p;
    return p;
  }

  /**
   * The next connection, waiting (through the kernel, as `READ_WAIT`) if none
   * is queued.
   *
   * @throws {ResourceBusy} If another task is already waiting.
   */
  async next(): Promise<Deno.Conn> {
    while (this.#accepted.length === 0) {
      const failure = this.#error;
      if (failure !== undefined) {
        this.#error = undefined;
        throw failure.error;
      }
      if (this.#waiting) {
        throw new ResourceBusy("Cannot accept: another task is already waiting in accept()");
      }
      this.#waiting = true;
      try {
        await _futureWait(this.#fill(), "READ_WAIT");
      } finally {
        this.#waiting = false;
      }
    }
    return this.#accepted.shift()!;
  }

  /** Resolves when next() would not wait (for `_readWait`); never rejects. */
  whenReady(): Promise<void> {
    return this.#accepted.length > 0 || this.#error ? Promise.resolve() : this.#fill();
  }

  /** Closes the queued connections and the listener. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#accepted.splice(0)) closeQuietly(conn);
    closeQuietly(this.listener);
  }

  /** Gives the listener up without closing it (ssl's wrapSocket takes it over). */
  detach(): void {
    this.#closed = true;
  }
}
