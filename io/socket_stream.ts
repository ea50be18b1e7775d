/**
 * SocketStream: a file-like stream over a {@linkcode Socket}, with Web
 * Streams adapters.
 *
 * @module
 */

import { FileStream } from "./file_stream.ts";
import { type StreamParts, streamParts } from "./_parts.ts";
import type { Socket } from "./socket_wrapper.ts";
import { unwrap } from "./_writer.ts";

/**
 * The methods of {@linkcode FileStream} (`read`, `readline`, `readall`,
 * `write`, line iteration, ...) over a connected {@linkcode Socket}, usually
 * made by `Socket.asStream()`. It shares the socket's buffer, so bytes a
 * cancelled `recv` left behind are the stream's next bytes. Closing the
 * stream closes the socket.
 *
 * `.readable` and `.writable` adapt it to Web Streams (for `pipeTo`,
 * `TextDecoderStream`, ...). They bypass the kernel: use them from plain
 * code, and not at the same time as the stream's own methods.
 *
 * @example Usage
 * ```ts
 * import { run, SocketStream } from "@curio/curio";
 * import { socketpair } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const [a, b] = socketpair();
 *   await using sa = new SocketStream(a);
 *   await using sb = new SocketStream(b);
 *   await sa.writelines([new TextEncoder().encode("one\n"), new TextEncoder().encode("two\n")]);
 *   await sa.close();
 *   assert.equal((await sb.readlines()).length, 2);
 * });
 * ```
 */
export class SocketStream extends FileStream {
  #parts: StreamParts;
  #sock: Socket;
  #readable: ReadableStream<Uint8Array> | undefined = undefined;
  #writable: WritableStream<Uint8Array> | undefined = undefined;

  /**
   * Wraps a connected socket.
   *
   * @param sock The socket (closed when this stream is).
   * @throws {Deno.errors.NotConnected} If the socket is not connected.
   */
  constructor(sock: Socket) {
    const parts = sock[streamParts]();
    super({ [streamParts]: () => parts } as never);
    this.#parts = parts;
    this.#sock = sock;
  }

  /** The socket this stream reads and writes. */
  get socket(): Socket {
    return this.#sock;
  }

  /**
   * A ReadableStream of the bytes received (created on first use). It
   * delivers buffered bytes first. Cancelling it closes the socket.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new TextEncoder().encode("web"));
   *   await a.close();
   *   const text = await new Response(b.asStream().readable).text();
   *   assert.equal(text, "web");
   *   await b.close();
   * });
   * ```
   */
  get readable(): ReadableStream<Uint8Array> {
    const reader = this.#parts.reader!;
    return (this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (!reader.ready) await reader.fill();
        if (reader.size > 0) {
          controller.enqueue(reader.take(reader.size));
          return;
        }
        try {
          reader.throwError();
          controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: () => this.#parts.close(),
    }));
  }

  /**
   * A WritableStream that sends what is written to it, in order. Closing it
   * shuts down the sending side (the peer sees end-of-stream); the socket
   * stays open for reading.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await new Blob(["piped"]).stream().pipeTo(a.asStream().writable);
   *   assert.equal(new TextDecoder().decode(await b.asStream().readall()), "piped");
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    const writer = this.#parts.writer!;
    const closeWrite = this.#parts.closeWrite!;
    return (this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        while (writer.inflight !== undefined) await writer.inflight;
        let done = 0;
        while (done < chunk.length) done += unwrap(await writer.start(chunk.subarray(done)));
      },
      close: async () => {
        while (writer.inflight !== undefined) await writer.inflight;
        await closeWrite();
      },
    }));
  }
}
