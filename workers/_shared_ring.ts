// The wire format of SharedQueue: its memory layout and the few operations
// that touch it. Any worker holding the buffer can rebuild a SharedRing over
// it and operate on the same queue.
//
// Memory: an Int32 header, then a byte ring of records (4-byte little-endian
// length + a V8 structured-clone serialization). A record may wrap around the
// end of the ring. Every operation takes the header's MUTEX for a few
// instructions; a change bumps SEQ, which is the word waiters wait on.

import { deserialize, serialize } from "node:v8";
import { waitWord } from "./_atomic_wait.ts";

const MUTEX = 0; // 0 free, 1 held (only for the few instructions of an operation)
const SEQ = 1; // bumped by every change; waiters wait on it
const COUNT = 2; // items queued
const UNFINISHED = 3; // items put and not yet marked done (join / taskDone)
const HEAD = 4; // byte offset of the oldest record
const TAIL = 5; // byte offset where the next record goes
const USED = 6; // bytes in use
const MAXSIZE = 7; // max items (0: bounded only by capacity)
const HEADER_BYTES = 8 * 4;

/** The smallest ring `SharedRing.create()` makes, in bytes. */
export const MIN_CAPACITY = 16;

/** A SharedQueue's memory, and the operations on it. */
export class SharedRing {
  /** The whole shared memory (header and ring). */
  readonly buffer: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #bytes: Uint8Array;
  /** Bytes in the ring. */
  readonly capacity: number;

  /** A new buffer for a queue of at most `maxsize` items (0: no limit) in `capacity` bytes. */
  static create(maxsize: number, capacity: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
    new Int32Array(buffer)[MAXSIZE] = maxsize;
    return buffer;
  }

  /** Whether `buffer` can be a queue's (the check `fromBuffer()` makes). */
  static fits(buffer: unknown): buffer is SharedArrayBuffer {
    return buffer instanceof SharedArrayBuffer && buffer.byteLength >= HEADER_BYTES + MIN_CAPACITY;
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.capacity = this.#bytes.length;
  }

  /** Items queued. */
  get count(): number {
    return Atomics.load(this.#i32, COUNT);
  }

  /** The most items the queue holds (0: as many as fit). */
  get maxsize(): number {
    return Atomics.load(this.#i32, MAXSIZE);
  }

  /** Items put and not yet marked done. */
  get unfinished(): number {
    return Atomics.load(this.#i32, UNFINISHED);
  }

  /** The change counter, to wait on. */
  get seq(): number {
    return Atomics.load(this.#i32, SEQ);
  }

  /**
   * `item` as a record.
   *
   * @throws {DOMException} If it cannot be serialized (DataCloneError).
   * @throws {RangeError} If the record is larger than the ring.
   */
  encode(item: unknown): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = serialize(item);
    } catch (error) {
      throw new DOMException(
        `Cannot put into shared queue: ${(error as Error).message}; put structured-cloneable data`,
        "DataCloneError",
      );
    }
    const record = new Uint8Array(4 + payload.length);
    new DataView(record.buffer).setUint32(0, payload.length, true);
    record.set(payload, 4);
    if (record.length > this.capacity) {
      throw new RangeError(
        `Cannot put into shared queue: the item needs ${record.length} bytes, more than the queue's capacity of ${this.capacity}; create the queue with a larger capacity`,
      );
    }
    return record;
  }

  /** The item a record returned by tryGet() holds. */
  decode(record: Uint8Array): unknown {
    return deserialize(record);
  }

  // The internal mutex guards only the few instructions of one operation.
  // Threads may block on it; the kernel side never does (see lockAsync).

  /** Takes the mutex, blocking the thread; returns SEQ as it was. */
  lockSync(): number {
    const i32 = this.#i32;
    while (Atomics.compareExchange(i32, MUTEX, 0, 1) !== 0) {
      Atomics.wait(i32, MUTEX, 1, 1);
    }
    return i32[SEQ]!;
  }

  /** Takes the mutex, parking only the calling task; returns SEQ as it was. */
  async lockAsync(): Promise<number> {
    const i32 = this.#i32;
    for (let spins = 0; Atomics.compareExchange(i32, MUTEX, 0, 1) !== 0; spins++) {
      if (spins > 100) await waitWord(i32, MUTEX, 1, "QUEUE_LOCK");
    }
    return i32[SEQ]!;
  }

  /** Releases the mutex; if the queue `changed`, bumps SEQ and wakes its waiters. */
  unlock(changed: boolean): void {
    const i32 = this.#i32;
    if (changed) i32[SEQ] = (i32[SEQ]! + 1) | 0;
    Atomics.store(i32, MUTEX, 0);
    Atomics.notify(i32, MUTEX);
    if (changed) Atomics.notify(i32, SEQ);
  }

  /** Blocks the thread until SEQ moves on from `seen` (or `ms` pass). */
  waitSync(seen: number, ms?: number): void {
    Atomics.wait(this.#i32, SEQ, seen, ms);
  }

  /** Parks the calling task until SEQ moves on from `seen` (or the poll interval passes). */
  waitAsync(seen: number, state: string): Promise<void> {
    return waitWord(this.#i32, SEQ, seen, state);
  }

  /** With the mutex held: appends `record` if there is room; whether it did. */
  tryPut(record: Uint8Array): boolean {
    const i32 = this.#i32;
    const max = i32[MAXSIZE]!;
    if ((max > 0 && i32[COUNT]! >= max) || this.capacity - i32[USED]! < record.length) {
      return false;
    }
    const tail = i32[TAIL]!;
    const first = Math.min(record.length, this.capacity - tail);
    this.#bytes.set(record.subarray(0, first), tail);
    if (first < record.length) this.#bytes.set(record.subarray(first), 0);
    i32[TAIL] = (tail + record.length) % this.capacity;
    i32[USED] = i32[USED]! + record.length;
    i32[COUNT] = i32[COUNT]! + 1;
    i32[UNFINISHED] = i32[UNFINISHED]! + 1;
    return true;
  }

  /** With the mutex held: removes and returns the oldest record's payload, if any. */
  tryGet(): Uint8Array | undefined {
    const i32 = this.#i32;
    if (i32[COUNT] === 0) return undefined;
    const head = i32[HEAD]!;
    const header = this.#read(head, 4);
    const length = new DataView(header.buffer).getUint32(0, true);
    const payload = this.#read((head + 4) % this.capacity, length);
    i32[HEAD] = (head + 4 + length) % this.capacity;
    i32[USED] = i32[USED]! - 4 - length;
    i32[COUNT] = i32[COUNT]! - 1;
    return payload;
  }

  /** With the mutex held: counts one item done; false if none was unfinished. */
  tryTaskDone(): boolean {
    const left = this.#i32[UNFINISHED]!;
    if (left > 0) this.#i32[UNFINISHED] = left - 1;
    return left > 0;
  }

  #read(at: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const first = Math.min(length, this.capacity - at);
    out.set(this.#bytes.subarray(at, at + first));
    if (first < length) out.set(this.#bytes.subarray(0, length - first), first);
    return out;
  }
}
