// Connections that live in memory: a pair of objects shaped like Deno.Conn
// (enough for the echo workload and for `new Socket(conn)`) that hand each
// other bytes without a syscall. What one side writes is copied into the
// other side's inbox at once (a buffer of its own, so no allocation per
// write: a new ArrayBuffer per write made collections, and the timings,
// jump); a read waiting for bytes completes in a batch with the others at
// the next `setImmediate`, as reads complete in batches when Deno's event
// loop polls its sockets. Over these, an echo measures the JavaScript of an
// implementation, with no kernel time to hide it.

import { setImmediate } from "node:timers";

const ADDR: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
/** Bytes an inbox holds: far more than the echo workload ever has in flight. */
const INBOX = 64 * 1024;

/** The connections with a read waiting and bytes (or the end) to complete it with. */
const due: MemoryConn[] = [];
let flushArmed = false;

function flush(): void {
  flushArmed = false;
  const batch = due.splice(0);
  for (const conn of batch) conn.deliver();
}

/** One end of an in-memory connection. */
export class MemoryConn {
  readonly localAddr: Deno.NetAddr = ADDR;
  readonly remoteAddr: Deno.NetAddr = ADDR;
  peer: MemoryConn = this;
  #inbox = new Uint8Array(INBOX);
  #start = 0; // the unread bytes are #inbox[#start .. #end)
  #end = 0;
  #ended = false;
  #due = false;
  /** The waiting read: where its bytes go, and how it completes. */
  #pendingBuffer: Uint8Array | undefined = undefined;
  #pendingResolve: ((n: number | null) => void) | undefined = undefined;

  /** Reads into `buffer`: the byte count, or `null` once the peer closed and all was read. */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#end > this.#start) return Promise.resolve(this.#take(buffer));
    if (this.#ended) return Promise.resolve(null);
    const { promise, resolve } = Promise.withResolvers<number | null>();
    this.#pendingBuffer = buffer;
    this.#pendingResolve = resolve;
    return promise;
  }

  /** Copies `data` to the peer at once; resolves with its length. */
  write(data: Uint8Array): Promise<number> {
    this.peer.#receive(data);
    return Promise.resolve(data.length);
  }

  /** Ends the connection for both sides. */
  close(): void {
    this.#ended = true;
    this.peer.#close();
  }

  /** Completes the waiting read, if it can be (see flush). */
  deliver(): void {
    this.#due = false;
    const resolve = this.#pendingResolve;
    if (resolve === undefined) return;
    if (this.#end > this.#start) resolve(this.#take(this.#pendingBuffer!));
    else if (this.#ended) resolve(null);
    else return;
    this.#pendingBuffer = undefined;
    this.#pendingResolve = undefined;
  }

  #take(buffer: Uint8Array): number {
    const n = Math.min(buffer.length, this.#end - this.#start);
    buffer.set(this.#inbox.subarray(this.#start, this.#start + n));
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return n;
  }

  #receive(data: Uint8Array): void {
    if (this.#end + data.length > INBOX) {
      this.#inbox.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      if (this.#end + data.length > INBOX) {
        throw new RangeError(`Cannot write ${data.length} bytes: the in-memory inbox is full`);
      }
    }
    this.#inbox.set(data, this.#end);
    this.#end += data.length;
    this.#makeDue();
  }

  #close(): void {
    this.#ended = true;
    this.#makeDue();
  }

  #makeDue(): void {
    if (this.#pendingResolve === undefined || this.#due) return;
    this.#due = true;
    due.push(this);
    if (!flushArmed) {
      flushArmed = true;
      setImmediate(flush);
    }
  }
}

/** A connected pair: what one writes, the other reads. */
export function memoryPair(): [MemoryConn, MemoryConn] {
  const a = new MemoryConn();
  const b = new MemoryConn();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
