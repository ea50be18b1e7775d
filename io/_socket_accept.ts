// The listening side of a Socket: a `Deno.Listener` whose accepted
// connections survive a cancelled accept() (see _result_queue.ts).

import { closeQuietly } from "./_errors.ts";
import { ResultQueue } from "./_result_queue.ts";

/** A `Deno.Listener` whose accepted connections survive cancellation. */
export class AcceptQueue {
  /** The listener (closed by {@linkcode AcceptQueue.prototype.close}). */
  readonly listener: Deno.Listener;
  // A connection accepted after close() is closed at once.
  readonly #accepted: ResultQueue<Deno.Conn>;

  constructor(listener: Deno.Listener) {
    this.listener = listener;
    this.#accepted = new ResultQueue(() => listener.accept(), closeQuietly);
  }

  /** Whether Deno is still working on an accept. */
  get pulling(): boolean {
    return this.#accepted.pulling;
  }

  /**
   * The next connection, waiting if none is queued.
   *
   * @throws {ResourceBusy} If another task is already waiting.
   */
  next(): Promise<Deno.Conn> {
    return this.#accepted.next("Cannot accept: another task is already waiting in accept()");
  }

  /** Resolves when next() would not wait (for `_readWait`); never rejects. */
  whenReady(): Promise<void> {
    return this.#accepted.whenReady();
  }

  /** Closes the queued connections and the listener. */
  close(): void {
    for (const conn of this.#accepted.close()) closeQuietly(conn);
    closeQuietly(this.listener);
  }

  /** Gives the listener up without closing it (ssl's wrapSocket takes it over). */
  detach(): void {
    this.#accepted.close();
  }
}
