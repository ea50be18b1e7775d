// The read side shared by Socket, SocketStream and FileStream.
//
// Deno cannot abort a pending `conn.read()` (or a Web Streams `reader.read()`):
// once started, it completes whenever data arrives. So the kernel's view of a
// read (a task blocked in READ_WAIT, which a cancel or a timeout can abandon)
// is kept apart from the read Deno is doing:
//
// - at most one *pull* is in flight; its result always lands in this
//   buffer, whether or not a task is still waiting for it;
// - a task that reads takes bytes from the buffer; only when the buffer is
//   empty does it block, waiting for the in-flight pull (starting one if none
//   is running), and the pull that brings bytes hands them to it: waking is
//   a commitment, so a cancel that comes after cannot lose them;
// - a task cancelled while waiting leaves the pull running: its bytes are in
//   the buffer for the next read. Nothing is dropped or reordered.
//
// A read that can be served from the buffer never blocks, so it is not a
// cancellation point (the kernel's rule for operations that can complete at
// once).

import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "../kernel/traps.ts";
import { ResourceBusy } from "../kernel/errors.ts";

/** Reads into a caller's buffer, Deno style: the byte count, or `null` at EOF. */
export type ReadInto = (buffer: Uint8Array) => Promise<number | null>;
/** Produces the next chunk, Web Streams style: `null` at EOF. */
export type PullChunk = () => Promise<Uint8Array | null>;

/** Size of a read arena; reads get at least MIN_READ bytes of room. */
const ARENA = 64 * 1024;
const MIN_READ = 16 * 1024;
const NEWLINE = 10;
/** `#want` of a waiter that takes nothing: it only waits for the pull to end. */
const TELL_ME = -1;

/** A byte FIFO fed by one in-flight pull at a time. */
export class Reader {
  // The live chunks are #chunks[#first .. #end). The array is reused, never
  // emptied with `length = 0`: that reallocates it on the next push.
  #chunks: Array<Uint8Array | undefined> = [];
  #first = 0; // index of the first live chunk in #chunks
  #end = 0; // one past the last live chunk
  #offset = 0; // bytes already taken from the first live chunk
  #size = 0;
  #eof = false;
  #error: unknown = undefined;
  #hasError = false;
  #inflight: Promise<void> | undefined = undefined;
  /** The task waiting for a pull, if any (at most one). */
  #readers = new KernelQueue();
  #arena: Uint8Array | undefined = undefined;
  #arenaPos = 0;
  #readInto: ReadInto | undefined;
  #pullChunk: PullChunk | undefined;

  /**
   * @param source How to get more bytes.
   * @param what What is read, for error messages ("socket", "stream").
   */
  constructor(source: { readInto: ReadInto } | { pull: PullChunk }, readonly what: string) {
    this.#readInto = "readInto" in source ? source.readInto : undefined;
    this.#pullChunk = "pull" in source ? source.pull : undefined;
  }

  /** Bytes buffered now. */
  get size(): number {
    return this.#size;
  }

  /** Whether a read can complete without blocking (data, EOF or an error to report). */
  get ready(): boolean {
    return this.#size > 0 || this.#eof || this.#hasError;
  }

  /** Whether the end of the data has been seen (the buffer may still hold bytes). */
  get eof(): boolean {
    return this.#eof;
  }

  /** Whether a read error is waiting to be reported. */
  get hasError(): boolean {
    return this.#hasError;
  }

  /** Whether a pull is running right now. */
  get pulling(): boolean {
    return this.#inflight !== undefined;
  }

  /** Marks the end of the data locally (shutdown(SHUT_RD)). */
  markEof(): void {
    this.#eof = true;
  }

  /**
   * The owner closed the source: readers see end of data, and the error the
   * in-flight pull gets from the close (Interrupted, BadResource) is dropped.
   */
  close(): void {
    this.#eof = true;
    this.#closed = true;
    this.#error = undefined;
    this.#hasError = false;
  }

  #closed = false;

  /**
   * Starts a pull unless one is running. The promise never rejects: a read
   * error is kept and reported to the next reader.
   */
  fill(): Promise<void> {
    const running = this.#inflight;
    if (running !== undefined) return running;
    let p: Promise<void>;
    const readInto = this.#readInto;
    if (readInto !== undefined) {
      // Read into the free end of the arena and hand out views of it: no copy
      // and no new ArrayBuffer per read (each costs ~1.5 us in V8). A region
      // is never reused, so a view stays valid as long as its owner keeps it.
      let arena = this.#arena;
      if (arena === undefined || arena.length - this.#arenaPos < MIN_READ) {
        arena = this.#arena = new Uint8Array(ARENA);
        this.#arenaPos = 0;
      }
      p = readInto(arena.subarray(this.#arenaPos)).then(this.#onRead, this.#onError);
    } else {
      p = this.#pullChunk!().then(this.#onChunk, this.#onError);
    }
    this.#inflight = p;
    return p;
  }

  // Bound once: no closures allocated per read on the hot path.
  #onRead = (n: number | null): void => {
    this.#inflight = undefined;
    if (n === null) this.#eof = true;
    else if (n > 0) {
      const start = this.#arenaPos;
      this.#arenaPos = start + n;
      this.push(this.#arena!.subarray(start, start + n));
    }
    this.#pulled();
  };

  #onChunk = (chunk: Uint8Array | null): void => {
    this.#inflight = undefined;
    if (chunk === null) this.#eof = true;
    else if (chunk.length > 0) this.push(chunk);
    this.#pulled();
  };

  #onError = (error: unknown): void => this.#fail(error);

  #fail(error: unknown): void {
    this.#inflight = undefined;
    if (!this.#closed) {
      this.#error = error;
      this.#hasError = true;
    }
    this.#pulled();
  }

  // The waiting task (at most one) and what it waits for: `#want` bytes
  // (recv), handed to it by the pull that brings them; or, when `#want` is
  // TELL_ME, only to hear that a pull ended. Kept on the reader, not in
  // closures, so that a read that blocks allocates nothing but its trap.
  #want = 0;
  #action = "";

  /**
   * A pull ended: hand the waiting task its bytes (or the read error, or
   * EOF); a waiter that only wants to know is just woken. After an empty
   * read a recv keeps waiting, on a new pull.
   */
  #pulled(): void {
    const readers = this.#readers;
    if (readers.length === 0) return;
    const want = this.#want;
    if (want === TELL_ME) {
      void _rescheduleTasks(readers, 1);
      return;
    }
    if (!this.ready) {
      this.fill();
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.#takeReady(want);
    } catch (error) {
      void _rescheduleTasks(readers, 1, undefined, error);
      return;
    }
    void _rescheduleTasks(readers, 1, bytes);
  }

  /**
   * Blocks the calling task (READ_WAIT) until the pull it starts, or the
   * one running, ends; `want` says what #pulled hands it. The caller has
   * checked that no other task waits.
   */
  #block(want: number, action: string): Promise<unknown> {
    this.#want = want;
    this.#action = action;
    this.fill();
    return _waitOnQueue(this.#readers, "READ_WAIT");
  }

  #busy(action: string): Promise<never> {
    return Promise.reject(
      new ResourceBusy(
        `Cannot ${action}: another task is already waiting to read this ${this.what}`,
      ),
    );
  }

  #readyAfterWait = (): void | Promise<void> => {
    if (!this.ready) return this.waitReady(this.#action); // an empty read: wait again
  };

  /** What a read returns once {@linkcode ready}: bytes, else the kept error, else EOF. */
  #takeReady(maxbytes: number): Uint8Array {
    if (this.#size > 0) return this.take(maxbytes);
    this.throwError();
    return new Uint8Array(0);
  }

  /**
   * Blocks the calling task until a pull ends (READ_WAIT). Only one task may
   * wait at a time: a second one gets ResourceBusy at once.
   */
  wait(action: string): Promise<void> {
    if (this.#readers.length > 0) return this.#busy(action);
    return this.#block(TELL_ME, action) as Promise<void>;
  }

  /**
   * Waits (as a task) until {@linkcode ready}, then takes up to `maxbytes`:
   * recv's slow half. The pull that brings bytes hands them over, so the
   * task resumes with them: one trap, no further step.
   */
  waitAndTake(maxbytes: number, action: string): Promise<Uint8Array> {
    if (this.ready) {
      try {
        return Promise.resolve(this.#takeReady(maxbytes));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#readers.length > 0) return this.#busy(action);
    return this.#block(maxbytes, action) as Promise<Uint8Array>;
  }

  /** Waits (as a task) until {@linkcode ready}. */
  waitReady(action: string): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.#readers.length > 0) return this.#busy(action);
    return this.#block(TELL_ME, action).then(this.#readyAfterWait);
  }

  /** Throws the kept read error, once; afterwards reads see EOF. */
  throwError(): void {
    if (!this.#hasError) return;
    const error = this.#error;
    this.#error = undefined;
    this.#hasError = false;
    this.#eof = true;
    throw error;
  }

  /** Appends bytes at the end of the buffer. */
  push(chunk: Uint8Array): void {
    this.#chunks[this.#end++] = chunk;
    this.#size += chunk.length;
  }

  /** Takes up to `n` buffered bytes (fewer if fewer are buffered). */
  take(n: number): Uint8Array {
    if (n >= this.#size && this.#end - this.#first === 1) {
      // The common case: one chunk, taken whole.
      const chunk = this.#chunks[this.#first]!;
      const out = this.#offset === 0 ? chunk : chunk.subarray(this.#offset);
      this.#clear();
      return out;
    }
    n = Math.min(n, this.#size);
    if (n === 0) return new Uint8Array(0);
    const first = this.#chunks[this.#first]!;
    const avail = first.length - this.#offset;
    if (n <= avail) {
      const out = first.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return out;
    }
    const out = new Uint8Array(n); // spans chunks: copy (n <= size, so it fills whole)
    this.takeInto(out);
    return out;
  }

  /** Copies up to `buffer.length` buffered bytes into `buffer`; returns the count. */
  takeInto(buffer: Uint8Array): number {
    const n = Math.min(buffer.length, this.#size);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#first]!;
      const part = Math.min(n - filled, chunk.length - this.#offset);
      buffer.set(chunk.subarray(this.#offset, this.#offset + part), filled);
      filled += part;
      this.#advance(part);
    }
    return n;
  }

  #advance(n: number): void {
    this.#size -= n;
    this.#offset += n;
    const first = this.#chunks[this.#first]!;
    if (this.#offset === first.length) {
      this.#chunks[this.#first] = undefined;
      this.#first++;
      this.#offset = 0;
      if (this.#first === this.#end) this.#clear();
      else if (this.#first > 64 && this.#first * 2 > this.#end) {
        this.#chunks = this.#chunks.slice(this.#first, this.#end);
        this.#end -= this.#first;
        this.#first = 0;
      }
    }
  }

  #clear(): void {
    const chunks = this.#chunks;
    for (let i = this.#first; i < this.#end; i++) chunks[i] = undefined;
    this.#first = 0;
    this.#end = 0;
    this.#offset = 0;
    this.#size = 0;
  }

  /** Discards every buffered byte and the EOF mark (seek). */
  reset(): void {
    this.#clear();
    this.#eof = false;
  }

  /**
   * Where the first `\n` is, as a count of buffered bytes up to and including
   * it, searching from byte `from`; -1 if none.
   */
  lineLength(from: number): number {
    let pos = 0;
    for (let i = this.#first; i < this.#end; i++) {
      const chunk = this.#chunks[i]!;
      const start = i === this.#first ? this.#offset : 0;
      const len = chunk.length - start;
      if (pos + len > from) {
        const begin = start + Math.max(0, from - pos);
        const at = chunk.indexOf(NEWLINE, begin);
        if (at !== -1) return pos + (at - start) + 1;
      }
      pos += len;
    }
    return -1;
  }
}
