/**
 * {@linkcode streamResponse}: a streamed HTTP response body (server-sent
 * events, long downloads) written by the request's own task.
 *
 * @module
 */

import { type SendChunk, streamBodies, StreamBody } from "./_stream_body.ts";

export type { SendChunk } from "./_stream_body.ts";

/**
 * Makes a Response whose body `produce` writes, chunk by chunk, from the
 * request's task, for a handler of {@linkcode httpServer} to return.
 *
 * - The status and headers go out first; then `httpServer` runs
 *   `produce(send)` in the request's task (after the handler returned, and
 *   outside its `requestTimeout`). The body ends when `produce` returns.
 * - `send(chunk)` (a string, UTF-8 encoded, or a Uint8Array) queues the
 *   chunk and yields to other tasks (like `sleep(0)`); once a few chunks
 *   wait unread it blocks (state `"HTTP_SEND"`) until the client reads: a
 *   slow client slows the producer down. Either way it is a cancellation
 *   point.
 * - When the client goes away the task is cancelled: `CancelledError` at
 *   its blocking await (a `sleep`, a `Queue.get`, a `send`), so its
 *   `finally` blocks run. At shutdown, a stream still running after the
 *   grace period is cancelled the same way.
 * - A body whose producer did not return (it threw, or was cancelled) is
 *   cut off at once: the client sees an incomplete response, and a client
 *   that stopped reading cannot hold the shutdown up. A producer that
 *   throws also costs one line on stderr.
 * - Only `httpServer` runs the producer: returned from a plain `Deno.serve`
 *   handler, the body stays empty.
 *
 * @param produce Writes the body with `send`; runs in the request's task.
 * @param init Status and headers, as for `new Response(body, init)`.
 * @returns The response to return from the handler.
 * @throws {TypeError} If `produce` is not a function.
 *
 * @example Server-sent events
 * ```ts
 * import { httpServer, run, sleep, spawn, streamResponse } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * let port = 0;
 * const stopped: string[] = [];
 * await run(async () => {
 *   const server = await spawn(() =>
 *     httpServer("127.0.0.1", 0, () =>
 *       streamResponse(async (send) => {
 *         try {
 *           for (let i = 0;; i++) {
 *             await send(`data: tick ${i}\n\n`);
 *             await sleep(0.01);
 *           }
 *         } finally {
 *           stopped.push("producer"); // the client left: the producing task is cancelled
 *         }
 *       }, { headers: { "content-type": "text/event-stream" } }), {
 *       signals: [],
 *       onListen: (addr) => port = addr.port,
 *     })
 *   );
 *   const response = await fetch(`http://127.0.0.1:${port}/events`);
 *   const reader = response.body!.getReader();
 *   const first = new TextDecoder().decode((await reader.read()).value);
 *   assert.equal(first, "data: tick 0\n\n");
 *   await reader.cancel();
 *   while (stopped.length === 0) await sleep(0.01);
 *   await server.cancel();
 * });
 * assert.deepEqual(stopped, ["producer"]);
 * ```
 */
export function streamResponse(
  produce: (send: SendChunk) => Promise<void>,
  init?: ResponseInit,
): Response {
  if (typeof produce !== "function") {
    throw new TypeError(
      `Cannot make streamed response: expected produce as a function such as async (send) => ..., received ${typeof produce}`,
    );
  }
  const body = new StreamBody(produce);
  const response = new Response(body.stream, init);
  streamBodies.set(response, body);
  return response;
}
