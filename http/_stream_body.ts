/**
 * The body behind {@linkcode streamResponse}: a ReadableStream that the
 * request's own task writes into, with backpressure as a kernel wait.
 *
 * Deno reads the stream from host callbacks (`pull`, `cancel`), outside
 * any task; those only wake a waiting writer or report the client gone,
 * both of which work from callbacks. The writing happens in the request's
 * task, so a gone client reaches the producer the curio way: its task is
 * cancelled, `CancelledError` at its blocking await, `finally` runs.
 *
 * @module
 */

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { CancelledError } from "../kernel/errors.ts";
import { sleep } from "../kernel/sleep.ts";

/** What the body tells the exchange it belongs to. */
export interface BodyOwner {
  /** The client went away: cancel the request's task. */
  abort(): void;
  /** The body is about to end normally: stop treating an abort as a disconnect. */
  unwatch(): void;
}

/** Writes one chunk of a streamed body; see {@linkcode streamResponse}. */
export type SendChunk = (chunk: string | Uint8Array) => Promise<void>;

/** Chunks queued in the stream before `send` waits for Deno to read. */
const HIGH_WATER_MARK = 8;

const encoder = new TextEncoder();

/** Responses made by `streamResponse`, and their bodies. */
export const streamBodies: WeakMap<Response, StreamBody> = new WeakMap();

/** A streamed body and the function that produces it. */
export class StreamBody {
  readonly stream: ReadableStream<Uint8Array>;
  #produce: (send: SendChunk) => Promise<void>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Tasks waiting in `send` for Deno to read. */
  #senders = new KernelQueue();
  /** Tasks that sent after the client left: they wait for their cancel. */
  #stranded = new KernelQueue();
  #owner: BodyOwner | undefined = undefined;
  #gone = false;
  #ended = false;

  constructor(produce: (send: SendChunk) => Promise<void>) {
    this.#produce = produce;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        const waiting = this.#senders.length;
        if (waiting > 0) void _rescheduleTasks(this.#senders, waiting);
      },
      cancel: () => {
        this.#gone = true;
        this.#owner?.abort();
      },
    }, new CountQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }));
  }

  /** Whether the producer has been started (a body is produced once). */
  get started(): boolean {
    return this.#owner !== undefined;
  }

  /**
   * Runs the producer in the calling task (the request's task) until it
   * returns, then ends the body. If the producer does not return (it fails
   * or is cancelled), the body is errored: Deno drops what is still queued
   * and cuts the response off at once, so a client that stopped reading
   * cannot hold a shutdown up. The error is rethrown.
   */
  async run(owner: BodyOwner): Promise<void> {
    this.#owner = owner;
    if (this.#gone) owner.abort();
    try {
      await this.#produce(this.#send);
    } catch (error) {
      owner.unwatch();
      this.#fail(error instanceof CancelledError ? new Error("The response was cancelled") : error);
      throw error;
    }
    owner.unwatch();
    this.#close();
  }

  #send = (chunk: string | Uint8Array): Promise<void> => {
    if (this.#ended) {
      return Promise.reject(new Error("Cannot send chunk: the streamed body has already ended"));
    }
    // Gone: wait here until the cancel the owner asked for arrives.
    if (this.#gone) return _waitOnQueue(this.#stranded, "HTTP_SEND") as Promise<void>;
    let bytes: Uint8Array;
    if (typeof chunk === "string") bytes = encoder.encode(chunk);
    else if (chunk instanceof Uint8Array) bytes = chunk;
    else {
      return Promise.reject(
        new TypeError(
          `Cannot send chunk: expected a string or Uint8Array, received ${typeof chunk}`,
        ),
      );
    }
    this.#controller.enqueue(bytes);
    // With room left, still yield: Deno reads the stream in microtasks, so
    // a producer that never had to wait would never let the event loop run.
    if ((this.#controller.desiredSize ?? 0) > 0) return sleep(0);
    return _waitOnQueue(this.#senders, "HTTP_SEND") as Promise<void>;
  };

  #close(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#gone) this.#controller.close();
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#gone) this.#controller.error(error);
  }
}
