/**
 * The running server behind `httpServer`: Deno's callbacks on one side,
 * the server task and its request tasks on the other.
 *
 * Requests. Deno calls the handler from a host callback, outside any task.
 * The callback starts the request's task right there, as a child of the
 * server task (`childSpawner`, kernel/host_spawn.ts): its first cycle runs
 * at once unless another task holds the kernel, in which case it waits its
 * turn in the ready queue. A handler that answers without blocking has
 * answered when the callback returns, and Deno gets the `Response` itself;
 * otherwise Deno gets a promise of it (`Exchange.answer`).
 *
 * Why a queue for the rest. Client disconnects, the signal watcher's stop
 * and Deno's `finished` reach the server task as items of an unbounded
 * `Queue` (which works from callbacks). A disconnect becomes a cancel
 * order; the request's task exists by then (the callback set it before it
 * returned), and the server task turns the order into a short task that
 * cancels the request's task and waits for it (the server task itself
 * never waits on a request). Cancelling the server task ends it at its
 * `get()`.
 *
 * Why not a task group for requests. The request tasks are the server task's
 * children, kept in `#live`; like a task group's members they never outlive
 * it: at shutdown the ones still running are cancelled (newest first) and
 * awaited before `httpServer` returns. A `TaskGroup` member costs about 3 µs
 * more per spawn (measured under HTTP load: 12-14 µs of CPU per request
 * instead of 10), a third of the kernel's whole share of a small request.
 * The helper tasks (signal watcher, cancellers) are in a `TaskGroup`.
 *
 * @module
 */

import { CancelledError, TaskTimeout } from "../kernel/errors.ts";
import { type ChildSpawner, childSpawner } from "../kernel/host_spawn.ts";
import type { Task } from "../kernel/task.ts";
import { TaskGroup } from "../kernel/task_group.ts";
import { ignoreAfter, timeoutAfter } from "../kernel/timeouts.ts";
import { SignalSet } from "../io/signal_set.ts";
import { Queue } from "../sync/queue.ts";
import { LinkedList } from "../kernel/linked_list.ts";
import { CancelOrder, type CancelSink, Exchange } from "./_exchange.ts";
import { internalError, logFailure, unavailable } from "./_responses.ts";
import { streamBodies } from "./_stream_body.ts";

/** A handler as `httpServer` takes it. */
export type Handler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Checked settings of one server. */
export interface ServerConfig {
  handler: Handler;
  serve: Deno.ServeTcpOptions & { cert?: string; key?: string };
  requestTimeout: number | undefined;
  shutdownGrace: number;
  signals: readonly Deno.Signal[];
}

/** A listed signal arrived: stop serving. */
const STOP = Symbol("stop");
/** Deno's server has finished (after shutdown, or on its own). */
const FINISHED = Symbol("finished");
/** A request finished while draining: look again whether all are done. */
const WAKE = Symbol("wake");

type Item = CancelOrder | typeof STOP | typeof FINISHED | typeof WAKE;

type Phase = "open" | "draining" | "closed";

/** One run of `httpServer`, from listening to the last request's end. */
export class ServerRun implements CancelSink {
  #config: ServerConfig;
  #inbox = new Queue<Item>();
  #group = new TaskGroup();
  /** Requests whose task has been spawned and has not finished. */
  #live = new LinkedList<Exchange>();
  #phase: Phase = "open";
  #denoFinished = false;
  /** The cancellation (or timeout) that reached the server task, to rethrow at the end. */
  #cancelled: CancelledError | undefined = undefined;

  constructor(config: ServerConfig) {
    this.#config = config;
  }

  /** Deno's handler: runs outside any task, so it only queues. */
  /** Starts request tasks as children of the server's task, from Deno's callback. */
  #spawnChild: ChildSpawner | undefined = undefined;

  /**
   * Deno's handler callback (outside every task): starts the request's task
   * right here, so a handler that answers at once has answered when this
   * returns, and Deno gets the Response itself rather than a promise.
   */
  #accept = (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response | Promise<Response> => {
    if (this.#phase === "closed") return unavailable("the server is shutting down", true);
    const exchange = new Exchange(request, info, this);
    this.#live.add(exchange);
    try {
      exchange.task = this.#spawnChild!(() => this.#serveOne(exchange), {
        daemon: true,
        namer: exchange, // named `METHOD /path` only when someone reads it
      });
    } catch (error) {
      logFailure(exchange.name, "could not start the request's task", error);
      this.#done(exchange);
    }
    return exchange.answer();
  };

  /** From a disconnect (host callback) or a gone stream: queue the cancel. */
  cancelLater(exchange: Exchange): void {
    if (this.#phase !== "closed") void this.#inbox.put(new CancelOrder(exchange));
  }

  /** Serves until cancelled or signalled, then shuts down; runs in the server task. */
  async run(): Promise<void> {
    const { signals, shutdownGrace } = this.#config;
    const sigset = signals.length > 0 ? new SignalSet(...signals) : undefined;
    let watching = false;
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      if (sigset !== undefined) {
        await sigset.watch();
        watching = true;
      }
      // Deno calls onError only for a streamed body that failed (the
      // handler callback never throws): the task has logged it already.
      this.#spawnChild = childSpawner("serve HTTP requests");
      server = Deno.serve({ ...this.#config.serve, onError: internalError }, this.#accept);
      server.finished.then(
        () => void this.#inbox.put(FINISHED),
        () => void this.#inbox.put(FINISHED),
      );
      let watcher: Task | undefined;
      if (sigset !== undefined) {
        watcher = await this.#group.spawn(async () => {
          await sigset.wait();
          await this.#inbox.put(STOP);
        }, { daemon: true, name: "httpServer signals" });
      }
      let failure: unknown = undefined;
      let failed = false;
      try {
        await this.#serve();
      } catch (error) {
        if (error instanceof CancelledError) this.#cancelled = error;
        else {
          failed = true;
          failure = error;
        }
      }
      // Shutting down: from here on a second Ctrl-C takes Deno's default action.
      this.#phase = "draining";
      if (watcher !== undefined) await this.#shielded(() => watcher.cancel());
      if (sigset !== undefined) {
        watching = false;
        await this.#shielded(() => sigset[Symbol.asyncDispose]());
      }
      server.shutdown().catch(() => {}); // stop accepting; `finished` reports the end
      // In-flight requests get the grace period (none after an internal failure).
      if (!failed) await this.#shielded(() => ignoreAfter(shutdownGrace, () => this.#drain()));
      this.#phase = "closed";
      await this.#shielded(() => this.#cancelLive()); // what is still running: 503
      await this.#shielded(() => this.#group.join()); // cancellers
      // Deno finishes once every response has been sent. What can hold it
      // up now is not a task: a plain ReadableStream body that does not end,
      // or a client that stopped reading. Say so once, then keep waiting.
      await this.#shielded(() => ignoreAfter(Math.max(shutdownGrace, 1), () => this.#finishing()));
      if (!this.#denoFinished) {
        console.error(
          "httpServer: shutdown is waiting for Deno to finish sending responses (a ReadableStream body that does not end, or a client that stopped reading; stream long-lived bodies with streamResponse)",
        );
      }
      while (!this.#denoFinished) await this.#shielded(() => this.#finishing());
      while (!this.#inbox.empty()) await this.#next();
      if (failed) throw failure;
    } finally {
      if (watching) await sigset![Symbol.asyncDispose]();
    }
    if (this.#cancelled !== undefined) throw this.#cancelled;
  }

  /** Runs `fn`; a cancellation is remembered for the end instead of stopping the shutdown. */
  async #shielded(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      this.#cancelled ??= error;
    }
  }

  /** Cancels every request task still running, newest first, and waits for each to end. */
  async #cancelLive(): Promise<void> {
    const tasks: Task[] = [];
    for (const exchange of this.#live.values()) {
      if (exchange.task !== undefined) tasks.push(exchange.task);
    }
    tasks.sort((a, b) => b.id - a.id);
    await Promise.all(tasks.map((task) => this.#shielded(() => task.cancel())));
    for (const task of tasks) while (!task.terminated) await this.#shielded(() => task.wait());
  }

  /** The open phase: serve until a stop item, Deno finishing, or a cancel. */
  async #serve(): Promise<void> {
    for (;;) {
      const item = await this.#inbox.get();
      if (item === STOP) return;
      else await this.#dispatch(item);
      if (this.#denoFinished) return;
    }
  }

  /** The grace period: keep serving until every request is done and Deno has finished. */
  async #drain(): Promise<void> {
    while (!(this.#denoFinished && this.#live.size === 0)) await this.#next();
  }

  /** Closed: only waits for Deno to finish (late requests get 503). */
  async #finishing(): Promise<void> {
    while (!this.#denoFinished) await this.#next();
  }

  async #next(): Promise<void> {
    await this.#dispatch(await this.#inbox.get());
  }

  async #dispatch(item: Item): Promise<void> {
    if (item instanceof CancelOrder) {
      const task = item.exchange.task;
      if (this.#phase === "closed" || task === undefined || item.exchange.finished) return;
      await this.#group.spawn(() => task.cancel(), { daemon: true, name: `cancel ${task.name}` });
    } else if (item === FINISHED) {
      this.#denoFinished = true;
    }
    // STOP while already stopping, and WAKE: the caller's loop looks again.
  }

  /** The request's task: call the handler, answer, stream a body if it has one. */
  #serveOne(exchange: Exchange): void | Promise<void> {
    let result: Response | PromiseLike<Response>;
    try {
      result = this.#callHandler(exchange);
    } catch (error) {
      return this.#serveLater(exchange, Promise.reject(error));
    }
    if (result instanceof Response) {
      const body = streamBodies.get(result);
      if (body === undefined || body.started) {
        // A handler that answered at once: the task ends in its first cycle,
        // with no async frame.
        exchange.respond(result);
        this.#done(exchange);
        return;
      }
    }
    return this.#serveLater(exchange, result);
  }

  /** The rest of #serveOne: wait for the handler's answer, then stream its body if it has one. */
  async #serveLater(
    exchange: Exchange,
    pending: Response | PromiseLike<Response>,
  ): Promise<void> {
    void exchange.name; // this task lives on: its name while the request is open
    try {
      let response: Response;
      try {
        response = await pending;
        if (!(response instanceof Response)) {
          throw new TypeError(
            `Cannot answer request: the handler returned ${
              response === null ? "null" : typeof response
            } instead of a Response`,
          );
        }
      } catch (error) {
        if (error instanceof TaskTimeout) {
          exchange.respond(unavailable("the request timed out", false));
          return;
        }
        if (error instanceof CancelledError) {
          const closing = this.#phase !== "open";
          exchange.respond(
            unavailable(
              closing ? "the server is shutting down" : "the request was cancelled",
              closing,
            ),
          );
          throw error;
        }
        // A client that left: no one to tell, nothing to log.
        if (!exchange.aborted && !bodyGone(error)) {
          logFailure(exchange.name, "handler failed", error);
        }
        exchange.respond(internalError());
        return;
      }
      const body = streamBodies.get(response);
      if (body === undefined || body.started) {
        exchange.respond(response);
        return;
      }
      exchange.watch();
      exchange.respond(response);
      try {
        await body.run(exchange);
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        if (!exchange.aborted) logFailure(exchange.name, "streamed body failed", error);
      }
    } finally {
      this.#done(exchange);
    }
  }

  /** The request's task is ending: answer 503 if nothing was answered, and forget it. */
  #done(exchange: Exchange): void {
    if (!exchange.responded) exchange.respond(unavailable("the request was cancelled", true));
    exchange.finish();
    this.#live.delete(exchange);
    if (this.#phase !== "open" && this.#live.size === 0) void this.#inbox.put(WAKE);
  }

  /** Calls the handler (under `requestTimeout`); starts watching for a disconnect if it waits. */
  #callHandler(exchange: Exchange): Response | PromiseLike<Response> {
    const { handler, requestTimeout } = this.#config;
    const { request, info } = exchange;
    const result = requestTimeout === undefined
      ? handler(request, info)
      : timeoutAfter(requestTimeout, async () => await handler(request, info));
    if (result instanceof Response || typeof result?.then !== "function") return result;
    return whenSettled(exchange, result);
  }
}

/**
 * Awaits the handler's promise. A handler that answers without waiting is
 * done within a microtask: only one still pending then needs watching for
 * a disconnect (reading `request.signal` costs Deno an operation per request).
 */
async function whenSettled(exchange: Exchange, pending: PromiseLike<Response>): Promise<Response> {
  let settled = false;
  const mark = (): void => {
    settled = true;
  };
  pending.then(mark, mark);
  await null;
  if (!settled) exchange.watch();
  return await pending;
}

/**
 * Whether `error` is Deno failing to read a request body because the
 * client's connection is gone. (That error reaches the handler before the
 * disconnect is reported through `request.signal`.)
 */
function bodyGone(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource && /\bbody\b/.test(error.message);
}
