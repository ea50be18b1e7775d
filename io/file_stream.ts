/**
 * FileStream: curio's file-like wrapper, on Deno files, the standard streams
 * and Web Streams.
 *
 * Why a wrapper: a Deno read cannot be aborted once started, so a task that
 * is cancelled (or times out) while waiting for one would otherwise lose the
 * bytes that read eventually returns. FileStream keeps one read in flight at a
 * time and buffers what it returns: a cancelled `read`, `readline` or
 * `readall` leaves every byte for the next call. A cancelled `write` sets
 * `bytesWritten` on the error it throws.
 *
 * @module
 */

import { _futureWait, readWaitHook, writeWaitHook } from "../kernel/traps.ts";
import { CancelledError, CurioError } from "../kernel/errors.ts";
import { Reader } from "./_reader.ts";
import { Writer } from "./_writer.ts";
import { type StreamParts, streamParts } from "./_parts.ts";

/** A Deno-style byte source: `Deno.FsFile`, `Deno.stdin`, a `Deno.Conn`. */
export interface ReaderLike {
  /** Reads into `p`; the byte count, or `null` at end of file. */
  read(p: Uint8Array): Promise<number | null>;
}

/** A Deno-style byte sink: `Deno.FsFile`, `Deno.stdout`, `Deno.stderr`, a `Deno.Conn`. */
export interface WriterLike {
  /** Writes some of `p`; the byte count. */
  write(p: Uint8Array): Promise<number>;
}

/** A pair of Web Streams (for example a `TransformStream`), either side optional. */
export interface StreamPair {
  /** Where bytes are read from. */
  readable?: ReadableStream<Uint8Array>;
  /** Where bytes are written to. */
  writable?: WritableStream<Uint8Array>;
}

/** What {@linkcode FileStream} can wrap. */
export type FileLike =
  | ReaderLike
  | WriterLike
  | ReadableStream<Uint8Array>
  | WritableStream<Uint8Array>
  | StreamPair;

const EMPTY = new Uint8Array(0);

function partsOf(fileobj: unknown): StreamParts {
  if (fileobj === null || typeof fileobj !== "object") {
    throw new TypeError(
      `Cannot create FileStream: expected a Deno.FsFile, Deno.stdin/stdout/stderr or a Web Stream, received ${
        fileobj === null ? "null" : typeof fileobj
      }`,
    );
  }
  const lender = (fileobj as { [streamParts]?: () => StreamParts })[streamParts];
  if (typeof lender === "function") return lender.call(fileobj);
  if (fileobj instanceof ReadableStream) return webParts(fileobj, fileobj, undefined);
  if (fileobj instanceof WritableStream) return webParts(fileobj, undefined, fileobj);
  const obj = fileobj as Partial<ReaderLike & WriterLike & StreamPair> & { close?: unknown };
  const canRead = typeof obj.read === "function";
  const canWrite = typeof obj.write === "function";
  if (canRead || canWrite) {
    let closed = false;
    return {
      raw: fileobj,
      reader: canRead ? new Reader({ readInto: (p) => obj.read!(p) }, "stream") : null,
      writer: canWrite ? new Writer((p) => obj.write!(p), "stream", "bytesWritten") : null,
      close: async () => {
        if (closed) return;
        closed = true;
        if (typeof obj.close === "function") {
          try {
            obj.close();
          } catch (error) {
            if (!(error instanceof Deno.errors.BadResource)) throw error;
          }
        }
      },
    };
  }
  const readable = obj.readable instanceof ReadableStream ? obj.readable : undefined;
  const writable = obj.writable instanceof WritableStream ? obj.writable : undefined;
  if (readable !== undefined || writable !== undefined) {
    return webParts(fileobj, readable, writable);
  }
  throw new TypeError(
    "Cannot create FileStream: expected an object with read()/write() (Deno.FsFile, Deno.stdin), a ReadableStream, a WritableStream, or { readable, writable }",
  );
}

function webParts(
  raw: unknown,
  readable: ReadableStream<Uint8Array> | undefined,
  writable: WritableStream<Uint8Array> | undefined,
): StreamParts {
  const rd = readable?.getReader();
  const wr = writable?.getWriter();
  let closed = false;
  return {
    raw,
    reader: rd === undefined ? null : new Reader({
      pull: () => rd.read().then((r) => (r.done ? null : r.value)),
    }, "stream"),
    writer: wr === undefined
      ? null
      : new Writer((p) => wr.write(p).then(() => p.length), "stream", "bytesWritten"),
    close: async () => {
      if (closed) return;
      closed = true;
      if (rd !== undefined) {
        await rd.cancel().catch(() => {});
        rd.releaseLock();
      }
      if (wr !== undefined) {
        try {
          await wr.close();
        } catch (error) {
          // The other end went away (a child process that exited): nothing to flush to.
          if (!(error instanceof Deno.errors.BrokenPipe) && !(error instanceof TypeError)) {
            throw error;
          }
        } finally {
          wr.releaseLock();
        }
      }
    },
  };
}

/**
 * A file-like object with non-blocking, cancellable methods, over a
 * `Deno.FsFile`, `Deno.stdin`/`stdout`/`stderr`, a `ReadableStream` and/or a
 * `WritableStream` (for example a `Deno.ChildProcess`'s `stdout`/`stdin`).
 *
 * - **No data is lost to cancellation**: a cancelled `read`, `readline`,
 *   `readall` or `readlines` leaves every byte buffered for the next call.
 * - A cancelled `write` sets `bytesWritten` on the error it throws (final
 *   once the next operation on the stream has started, or after `flush()`).
 * - A second task that waits to read (or write) while another already waits
 *   gets {@linkcode ResourceBusy} at once.
 * - `for await (const line of stream)` iterates over lines;
 *   `await using stream = ...` closes it.
 *
 * The wrapped object is closed only by {@linkcode FileStream.prototype.close}.
 *
 * @example Usage
 * ```ts
 * import { FileStream, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("one\ntwo\n");
 * await run(async () => {
 *   await using stream = new FileStream(new Blob([bytes]).stream());
 *   const lines: string[] = [];
 *   for await (const line of stream) lines.push(new TextDecoder().decode(line));
 *   assert.deepEqual(lines, ["one\n", "two\n"]);
 * });
 * ```
 */
export class FileStream {
  #parts: StreamParts;
  #closed = false;

  /**
   * Wraps `fileobj`. It is not closed unless this stream is.
   *
   * @param fileobj A `Deno.FsFile`, `Deno.stdin`/`stdout`/`stderr`, a
   * `ReadableStream<Uint8Array>`, a `WritableStream<Uint8Array>`, or an object
   * with `readable` and/or `writable` streams.
   * @throws {TypeError} If `fileobj` is none of these.
   */
  constructor(fileobj: FileLike) {
    this.#parts = partsOf(fileobj);
  }

  /** Whether {@linkcode FileStream.prototype.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #reader(action: string): Reader {
    if (this.#closed) throw new CurioError(`Cannot ${action}: the stream is closed`);
    const reader = this.#parts.reader;
    if (reader === null) {
      throw new TypeError(`Cannot ${action}: the stream is not readable`);
    }
    return reader;
  }

  #writer(action: string): Writer {
    if (this.#closed) throw new CurioError(`Cannot ${action}: the stream is closed`);
    const writer = this.#parts.writer;
    if (writer === null) {
      throw new TypeError(`Cannot ${action}: the stream is not writable`);
    }
    return writer;
  }

  /**
   * Reads up to `maxbytes` bytes. Without `maxbytes` (or with a negative
   * one), returns what is available now, waiting only if nothing is.
   *
   * @param maxbytes The most bytes to return (default: all that is available).
   * @returns The bytes; empty at end of file.
   * @throws {ResourceBusy} If another task is already waiting to read.
   * @throws {CurioError} If the stream is closed.
   * @throws {TypeError} If `maxbytes` is not a number.
   * @throws {RangeError} If `maxbytes` is not an integer.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using s = new FileStream(new Blob(["hello"]).stream());
   *   assert.equal(new TextDecoder().decode(await s.read(2)), "he");
   *   assert.equal(new TextDecoder().decode(await s.read()), "llo");
   *   assert.equal((await s.read()).length, 0);
   * });
   * ```
   */
  async read(maxbytes = -1): Promise<Uint8Array> {
    const reader = this.#reader("read");
    if (typeof maxbytes !== "number") {
      throw new TypeError(`Cannot read: maxbytes must be a number, received ${typeof maxbytes}`);
    }
    if (!Number.isInteger(maxbytes)) {
      throw new RangeError(`Cannot read: maxbytes must be an integer, received ${maxbytes}`);
    }
    if (maxbytes === 0) return EMPTY;
    if (!reader.ready) await reader.waitReady("read");
    if (reader.size > 0) return reader.take(maxbytes < 0 ? reader.size : maxbytes);
    reader.throwError();
    return EMPTY;
  }

  /**
   * Reads until end of file.
   *
   * @returns Everything up to end of file.
   * @throws {ResourceBusy} If another task is already waiting to read.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using s = new FileStream(new Blob(["a", "b", "c"]).stream());
   *   assert.equal(new TextDecoder().decode(await s.readall()), "abc");
   * });
   * ```
   */
  async readall(): Promise<Uint8Array> {
    const reader = this.#reader("readall");
    while (!reader.eof) {
      reader.throwError();
      await reader.wait("readall");
    }
    return reader.take(reader.size);
  }

  /**
   * Reads one line, up to and including `\n` (the last line may lack it).
   *
   * @returns The line; empty at end of file.
   * @throws {ResourceBusy} If another task is already waiting to read.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using s = new FileStream(new Blob(["x\ny"]).stream());
   *   assert.equal(new TextDecoder().decode(await s.readline()), "x\n");
   *   assert.equal(new TextDecoder().decode(await s.readline()), "y");
   *   assert.equal((await s.readline()).length, 0);
   * });
   * ```
   */
  async readline(): Promise<Uint8Array> {
    return await readLine(this.#reader("readline"), "readline");
  }

  /**
   * Reads every remaining line.
   *
   * @returns The lines, each with its `\n`.
   * @throws {ResourceBusy} If another task is already waiting to read.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using s = new FileStream(new Blob(["1\n2\n"]).stream());
   *   assert.equal((await s.readlines()).length, 2);
   * });
   * ```
   */
  async readlines(): Promise<Uint8Array[]> {
    const reader = this.#reader("readlines");
    // Read to the end first, so a cancel leaves every line in the buffer.
    while (!reader.eof) {
      reader.throwError();
      await reader.wait("readlines");
    }
    const lines: Uint8Array[] = [];
    while (reader.size > 0) {
      const n = reader.lineLength(0);
      lines.push(reader.take(n === -1 ? reader.size : n));
    }
    return lines;
  }

  /**
   * Writes all of `data`.
   *
   * @param data The bytes.
   * @returns `data.length`.
   * @throws {ResourceBusy} If another task is already waiting to write.
   * @throws {CancelledError} If cancelled midway; its `bytesWritten` tells
   * how much of `data` was written.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const chunks: Uint8Array[] = [];
   * await run(async () => {
   *   await using s = new FileStream(new WritableStream({ write: (c) => { chunks.push(c); } }));
   *   assert.equal(await s.write(new Uint8Array([1, 2, 3])), 3);
   * });
   * assert.deepEqual(chunks, [new Uint8Array([1, 2, 3])]);
   * ```
   */
  async write(data: Uint8Array): Promise<number> {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError("Cannot write: expected a Uint8Array");
    }
    // "bytesWritten" even over a socket (whose own sendall says "bytesSent").
    return (await this.#writer("write").writeAll(data, "write", false, true, "bytesWritten"))!;
  }

  /**
   * Writes every line of `lines`, in order.
   *
   * @param lines The byte strings (their `\n`s are not added).
   * @throws {CancelledError} If cancelled midway; its `bytesWritten` counts
   * the bytes of all lines written.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * let total = 0;
   * await run(async () => {
   *   await using s = new FileStream(new WritableStream({ write: (c) => { total += c.length; } }));
   *   await s.writelines([new Uint8Array(2), new Uint8Array(3)]);
   * });
   * assert.equal(total, 5);
   * ```
   */
  async writelines(lines: Iterable<Uint8Array>): Promise<void> {
    let total = 0;
    try {
      for (const line of lines) total += await this.write(line);
    } catch (error) {
      if (error instanceof CancelledError) {
        const record = error as unknown as { bytesWritten?: number };
        record.bytesWritten = total + (record.bytesWritten ?? 0);
      }
      throw error;
    }
  }

  /**
   * Waits until every write handed to Deno has completed.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   *
   * await run(async () => {
   *   await using s = new FileStream(new WritableStream());
   *   await s.write(new Uint8Array(1));
   *   await s.flush();
   * });
   * ```
   */
  async flush(): Promise<void> {
    await this.#writer("flush").drain("flush");
  }

  /**
   * Flushes, then closes the wrapped object (a ReadableStream is cancelled, a
   * WritableStream closed). Closing twice is harmless.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const s = new FileStream(new Blob(["x"]).stream());
   *   await s.close();
   *   assert.equal(s.closed, true);
   * });
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const parts = this.#parts;
    parts.reader?.close();
    const pending = parts.writer?.inflight;
    if (pending !== undefined) await pending;
    await parts.close();
  }

  /**
   * The wrapped object, for code that needs it directly (curio's
   * `blocking()`). Do not use it while a task is reading or writing the
   * stream.
   *
   * Bytes already read ahead into this stream's buffer would never reach a
   * user of the wrapped object, so, as in curio, this throws while any are
   * buffered (or a read the stream started is still running): read them
   * first.
   *
   * @returns The object given to the constructor (for `makefile()` and
   * `asStream()` streams: the socket's `Deno.Conn`).
   * @throws {Error} If bytes are still buffered, or a read is in flight.
   *
   * @example Usage
   * ```ts
   * import { FileStream } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const raw = new Blob([]).stream();
   * const s = new FileStream(raw);
   * assert.equal(s.blocking(), raw);
   * await s.close();
   * ```
   */
  blocking(): unknown {
    const reader = this.#parts.reader;
    if (reader !== null && reader.size > 0) {
      throw new Error(
        `Cannot hand out the wrapped object: ${reader.size} bytes are still buffered in this stream; read them first (a user of the wrapped object would never see them)`,
      );
    }
    if (reader !== null && reader.pulling) {
      throw new Error(
        "Cannot hand out the wrapped object: a read this stream started is still in flight (its bytes will land in this stream's buffer); read from the stream first",
      );
    }
    return this.#parts.raw;
  }

  /**
   * Moves the file position, like `Deno.FsFile.seek` (only if the wrapped
   * object has `seek`). Buffered read-ahead is dropped.
   *
   * @param offset Bytes, relative to `whence`.
   * @param whence 0 = start, 1 = current position, 2 = end (`Deno.SeekMode`).
   * @returns The new position.
   * @throws {TypeError} If the wrapped object cannot seek.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "abcdef");
   * await run(async () => {
   *   await using s = new FileStream(await Deno.open(path));
   *   await s.read(2);
   *   assert.equal(await s.seek(4), 4);
   *   assert.equal(new TextDecoder().decode(await s.read()), "ef");
   * });
   * await Deno.remove(path);
   * ```
   */
  async seek(offset: number, whence: Deno.SeekMode = 0): Promise<number> {
    const file = this.#seekable("seek");
    const reader = this.#parts.reader;
    if (reader !== null) {
      while (reader.pulling) await reader.wait("seek");
      if (whence === 1) offset -= reader.size;
      reader.reset();
    }
    await this.#parts.writer?.drain("seek");
    return await _futureWait(file.seek(offset, whence));
  }

  /**
   * The current position, as `seek(0, 1)` would say, minus nothing: bytes
   * read ahead into the buffer are not counted as read.
   *
   * @returns The position of the next byte `read()` returns.
   * @throws {TypeError} If the wrapped object cannot seek.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "abcdef");
   * await run(async () => {
   *   await using s = new FileStream(await Deno.open(path));
   *   await s.read(2);
   *   assert.equal(await s.tell(), 2);
   * });
   * await Deno.remove(path);
   * ```
   */
  async tell(): Promise<number> {
    const file = this.#seekable("tell");
    const reader = this.#parts.reader;
    if (reader !== null) { while (reader.pulling) await reader.wait("tell"); }
    await this.#parts.writer?.drain("tell");
    const pos = await _futureWait(file.seek(0, 1));
    return pos - (reader?.size ?? 0);
  }

  #seekable(action: string): { seek(offset: number, whence: Deno.SeekMode): Promise<number> } {
    if (this.#closed) throw new CurioError(`Cannot ${action}: the stream is closed`);
    const raw = this.#parts.raw as { seek?: unknown };
    if (typeof raw?.seek !== "function") {
      throw new TypeError(`Cannot ${action}: the wrapped object has no seek()`);
    }
    return raw as { seek(offset: number, whence: Deno.SeekMode): Promise<number> };
  }

  /**
   * Iterates over lines until end of file: `for await (const line of s)`.
   *
   * @returns An async iterator of lines.
   *
   * @example Usage
   * ```ts
   * import { FileStream, run } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using s = new FileStream(new Blob(["a\nb\n"]).stream());
   *   let n = 0;
   *   for await (const _line of s) n++;
   *   assert.equal(n, 2);
   * });
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    while (true) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** Closes the stream: `await using s = new FileStream(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves when a read can complete without blocking (for `_readWait`).
   *
   * @returns A promise that never rejects.
   */
  [readWaitHook](): Promise<void> {
    const reader = this.#reader("wait for reading");
    return reader.ready ? Promise.resolve() : reader.fill();
  }

  /**
   * Resolves when no write is in flight (for `_writeWait`).
   *
   * @returns A promise that never rejects.
   */
  [writeWaitHook](): Promise<void> {
    const pending = this.#writer("wait for writing").inflight;
    return pending === undefined ? Promise.resolve() : pending.then(() => {});
  }
}

/** Reads one line from `reader` (shared with SocketStream via FileStream). */
async function readLine(reader: Reader, action: string): Promise<Uint8Array> {
  let from = 0;
  while (true) {
    const n = reader.lineLength(from);
    if (n !== -1) return reader.take(n);
    if (reader.eof || reader.hasError) {
      if (reader.size > 0) return reader.take(reader.size);
      reader.throwError();
      return EMPTY;
    }
    from = reader.size;
    await reader.wait(action);
  }
}
