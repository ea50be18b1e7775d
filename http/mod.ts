/**
 * HTTP on the kernel: {@linkcode httpServer} serves each request in a task
 * of its own (a client disconnect cancels it), with request timeouts and a
 * graceful shutdown; {@linkcode streamResponse} streams a body written by
 * the request's task.
 *
 * ```ts
 * import { httpServer } from "@curio/curio/http";
 * import { run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   let port = 0;
 *   const server = await spawn(() =>
 *     httpServer("127.0.0.1", 0, async () => {
 *       await sleep(0.01);
 *       return new Response("hi");
 *     }, { signals: [], onListen: (addr) => port = addr.port })
 *   );
 *   assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hi");
 *   await server.cancel();
 * });
 * ```
 *
 * @module
 */

export * from "./http_server.ts";
export * from "./stream_response.ts";
