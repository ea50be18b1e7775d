/**
 * One request on its way through `httpServer`: what Deno handed over, the
 * response Deno waits for, and the task that answers it.
 *
 * @module
 */

import type { Task } from "../kernel/task.ts";
import type { TaskNamer } from "../kernel/host_spawn.ts";
import type { Linked } from "../kernel/linked_list.ts";

/** Where an exchange reports a cancel request (a host callback: it must not block). */
export interface CancelSink {
  /** Called at most once per exchange, from a host callback or a task. */
  cancelLater(exchange: Exchange): void;
}

/**
 * A request, its pending response, and the task serving it.
 *
 * Its life: created by Deno's callback (outside any task), which starts its
 * task at once as a child of the server's task (`task` set); the task
 * answers it (`respond`), maybe streams a body, and finishes (`finish`).
 * Deno's callback returns `answer()`: the response itself if the task gave
 * it in its first cycle, else a promise of it. Between
 * spawn and finish a client disconnect (`request.signal`, or the streamed
 * body cancelled by Deno) calls `abort()`, which asks the server task, once,
 * to cancel the request's task.
 */
export class Exchange implements EventListenerObject, TaskNamer, Linked<Exchange> {
  readonly request: Request;
  readonly info: Deno.ServeHandlerInfo<Deno.NetAddr>;
  #name: string | undefined = undefined;
  /** Neighbours in the server's list of live exchanges (a LinkedList). */
  prev: Exchange | undefined = undefined;
  next: Exchange | undefined = undefined;
  /** The request's task, once started. */
  task: Task | undefined = undefined;
  /** The response, once given (`respond`). */
  #answer: Response | undefined = undefined;
  /** Resolves the promise `answer()` returned before there was a response. */
  #resolve: ((response: Response) => void) | undefined = undefined;
  #sink: CancelSink;
  #responded = false;
  #finished = false;
  #watching = false;
  #cancelAsked = false;

  constructor(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>, sink: CancelSink) {
    this.request = request;
    this.info = info;
    this.#sink = sink;
  }

  /**
   * What Deno's handler callback returns: the response if the task has
   * given it already (a handler that answered at once), else a promise of it.
   */
  answer(): Response | Promise<Response> {
    if (this.#answer !== undefined) return this.#answer;
    return new Promise<Response>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Whether a response has been given to Deno. */
  /**
   * `METHOD /path`: the request task's name, worked out when first read
   * (reading a request's URL costs as much as the rest of spawning its
   * task). A task that outlives its first cycle reads it at once, while
   * the request is open; a task that answered at once may never need it.
   */
  get name(): string {
    return (this.#name ??= nameOf(this.request));
  }

  /** The task's name, for the kernel (TaskNamer). */
  taskName(): string {
    return this.name;
  }

  get responded(): boolean {
    return this.#responded;
  }

  /** Hands `response` to Deno; later calls do nothing. */
  respond(response: Response): void {
    if (this.#responded) return;
    this.#responded = true;
    this.#answer = response;
    this.#resolve?.(response);
    this.#resolve = undefined;
  }

  /**
   * Starts watching for the client going away. Reading `request.signal`
   * costs Deno a per-request operation, so this is done only for requests
   * that did not complete at once.
   */
  watch(): void {
    if (this.#watching || this.#finished) return;
    this.#watching = true;
    const signal = this.request.signal;
    if (signal.aborted) this.abort();
    else signal.addEventListener("abort", this);
  }

  /** The abort listener: the client went away. */
  handleEvent(): void {
    this.abort();
  }

  /** Asks (once) for the request's task to be cancelled, unless it has finished. */
  abort(): void {
    if (this.#cancelAsked || this.#finished) return;
    this.#cancelAsked = true;
    this.#sink.cancelLater(this);
  }

  /**
   * The task is done with the request. Stops listening first: Deno (in
   * its legacy mode) aborts `request.signal` after every successful
   * response, which must not count as a disconnect.
   */
  finish(): void {
    this.#finished = true;
    this.unwatch();
  }

  /** Stops watching for the client going away (before a streamed body ends, too). */
  unwatch(): void {
    if (this.#watching) {
      this.#watching = false;
      this.request.signal.removeEventListener("abort", this);
    }
  }

  /** Whether the client went away (or a cancel was otherwise asked for). */
  get aborted(): boolean {
    return this.#cancelAsked;
  }

  /** Whether the task has finished with the request. */
  get finished(): boolean {
    return this.#finished;
  }
}

/** An order to the server task: cancel this exchange's task. */
export class CancelOrder {
  readonly exchange: Exchange;
  constructor(exchange: Exchange) {
    this.exchange = exchange;
  }
}

/** `METHOD /path` (no query string) for the request's task name. */
function nameOf(request: Request): string {
  let url: string;
  try {
    url = request.url;
  } catch {
    // Deno closed the request (its response is sent): the URL is gone.
    return "request (closed)";
  }
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return `${request.method} /`;
  const query = url.indexOf("?", start);
  return `${request.method} ${query < 0 ? url.slice(start) : url.slice(start, query)}`;
}
