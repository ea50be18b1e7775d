/**
 * Socket: curio's socket wrapper, on Deno's `Deno.Conn`, `Deno.Listener` and
 * `Deno.DatagramConn`.
 *
 * Every method that could block waits through the kernel (`READ_WAIT`,
 * `WRITE_WAIT`), so it can be cancelled and timed out like any other
 * operation. Deno cannot abort a pending read, accept or receive, so the
 * socket keeps the one Deno started and buffers what it returns:
 *
 * - a cancelled `recv` (or stream read) leaves every byte for the next call;
 * - a connection accepted after its `accept()` was cancelled goes to the next
 *   `accept()`; a datagram to the next `recvfrom()`;
 * - a cancelled `sendall` sets `bytesSent` on the error it throws;
 * - a second task that waits to read (or write) a socket another task is
 *   already waiting on gets {@linkcode ResourceBusy} at once.
 *
 * This file is the class and its stream side (on `_reader.ts` and
 * `_writer.ts`); the listening side is `_socket_accept.ts`, the datagram side
 * `_socket_datagram.ts` (both on `_result_queue.ts`), socket options
 * `_sockopt.ts`, addresses `_socket_address.ts`, and the helpers of
 * sendmsg/recvmsg `_socket_message.ts`.
 *
 * @module
 */

import { _futureWait, readWaitHook, writeWaitHook } from "../kernel/traps.ts";
import { CancelledError, ResourceBusy } from "../kernel/errors.ts";
import { Reader } from "./_reader.ts";
import { Writer } from "./_writer.ts";
import { type StreamParts, streamParts } from "./_parts.ts";
import {
  AF_INET,
  AF_UNIX,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "./_constants.ts";
import {
  type Address,
  addrOf,
  checkInet,
  checkPath,
  errnoOf,
  familyOf,
  wildcard,
} from "./_socket_address.ts";
import { AcceptQueue } from "./_socket_accept.ts";
import { DatagramQueue } from "./_socket_datagram.ts";
import { concat, noAncillary, scatter, totalLength } from "./_socket_message.ts";
import {
  applyConnOptions,
  getOption,
  optionName,
  type OptionTarget,
  setOption,
} from "./_sockopt.ts";
import { closeQuietly, showAddress, withWhat } from "./_errors.ts";
import { FileStream } from "./file_stream.ts";
import { SocketStream } from "./socket_stream.ts";

export type { Address } from "./_socket_address.ts";

/** What a {@linkcode Socket} wraps. */
export type RawSocket = Deno.Conn | Deno.Listener | Deno.DatagramConn;

const EMPTY = new Uint8Array(0);

function checkSize(n: unknown, action: string, what: string): number {
  if (typeof n !== "number") {
    throw new TypeError(`Cannot ${action}: ${what} must be a number, received ${typeof n}`);
  }
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Cannot ${action}: ${what} must be an integer >= 0, received ${n}`);
  }
  return n;
}

// Doors for the io/ modules that make and unmake Sockets (socket.ts, ssl.ts);
// filled in by the class's static block, which alone sees its private fields.
// mod.ts re-exports only Socket and its types from this file, not these.
let unbound: (family: number, type: number) => Socket;
let pending: (connecting: Promise<Deno.Conn>, family: number) => Socket;
let detach: (sock: Socket, action: string) => RawSocket;

/** A socket with no Deno object yet: bind/listen/connect create it (`socket()`). */
export function unboundSocket(family: number, type: number): Socket {
  return unbound(family, type);
}

/** A socket whose connection Deno is still making (`socketpair()`). */
export function pendingSocket(connecting: Promise<Deno.Conn>, family: number): Socket {
  return pending(connecting, family);
}

/**
 * Takes the raw Deno object away from `sock`, which is then closed (ssl's
 * wrapSocket starts TLS on it).
 *
 * @throws {Error} If data was already read from it or a write is in flight.
 */
export function detachSocket(sock: Socket, action: string): RawSocket {
  return detach(sock, action);
}

/**
 * A socket whose blocking methods are kernel operations: cancellable,
 * subject to timeouts, and never losing data to a cancellation.
 *
 * Wrap a Deno object (`new Socket(await Deno.connect(...))`), or create one
 * with the socket module (`socket()`, `createConnection()`) or the network
 * helpers (`openConnection()`, `tcpServerSocket()`).
 *
 * @example Usage
 * ```ts
 * import { run, Socket } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 *   const [host, port] = server.getsockname() as [string, number];
 *   await using client = new Socket(await Deno.connect({ hostname: host, port }));
 *   const [conn] = await server.accept();
 *   await using _conn = conn;
 *   await client.sendall(new TextEncoder().encode("hi"));
 *   assert.equal(new TextDecoder().decode(await conn.recv(100)), "hi");
 * });
 * ```
 */
export class Socket {
  #family: number;
  #type: number;
  #conn: Deno.Conn | undefined = undefined;
  #listener: AcceptQueue | undefined = undefined;
  #dgram: DatagramQueue | undefined = undefined;
  #reader: Reader | undefined = undefined;
  #writer: Writer | undefined = undefined;
  #closed = false;
  #connecting = false;
  // the default peer of a datagram socket (connect())
  #peer: [string, number] | undefined = undefined;
  #readShut = false;
  // socket options set by setsockopt(), by name (see _sockopt.ts)
  #options = new Map<string, number>();

  static {
    unbound = (family, type) => {
      const sock = new Socket(undefined as unknown as RawSocket);
      sock.#family = family;
      sock.#type = type;
      return sock;
    };
    pending = (connecting, family) => {
      const sock = new Socket(undefined as unknown as RawSocket);
      sock.#family = family;
      sock.#opening = connecting.then((conn) => {
        sock.#opening = undefined;
        if (sock.#closed) closeQuietly(conn);
        else sock.#setConn(conn);
      }, (error) => {
        sock.#opening = undefined;
        sock.#openError = error;
      });
      // Until Deno has connected it, reads and writes wait for the connection.
      sock.#reader = new Reader({ readInto: (p) => sock.#readRaw(p) }, "socket");
      sock.#writer = new Writer((p) => sock.#writeRaw(p), "socket", "bytesSent");
      return sock;
    };
    detach = (sock, action) => {
      if (sock.#closed) throw new Deno.errors.BadResource(`Cannot ${action}: the socket is closed`);
      const raw = sock.#raw();
      if (raw === undefined) {
        throw new Deno.errors.NotConnected(`Cannot ${action}: the socket is not connected`);
      }
      if (sock.#reader?.pulling || (sock.#reader?.size ?? 0) > 0 || sock.#listener?.pulling) {
        throw new Error(
          `Cannot ${action}: data was already read from the socket (Deno can only start TLS on a connection nothing has been read from yet)`,
        );
      }
      if (sock.#writer?.inflight !== undefined) {
        throw new Error(`Cannot ${action}: a write is still in flight`);
      }
      sock.#closed = true;
      sock.#listener?.detach();
      sock.#dgram?.detach();
      sock.#conn = sock.#listener = sock.#dgram = undefined;
      return raw;
    };
  }

  /**
   * Wraps a Deno connection, listener or datagram socket. It is closed only
   * by {@linkcode Socket.prototype.close} (or `await using`).
   *
   * @param raw A `Deno.Conn` (TCP, Unix, TLS), a `Deno.Listener` or a
   * `Deno.DatagramConn`.
   * @throws {TypeError} If `raw` is none of these.
   */
  constructor(raw: RawSocket) {
    this.#family = AF_INET;
    this.#type = SOCK_STREAM;
    if (raw === undefined) return; // unboundSocket(), pendingSocket()
    if (raw === null || typeof raw !== "object") {
      throw new TypeError(
        "Cannot create Socket: expected a Deno.Conn, Deno.Listener or Deno.DatagramConn",
      );
    }
    if (typeof (raw as Deno.DatagramConn).receive === "function") {
      this.#dgram = new DatagramQueue(raw as Deno.DatagramConn);
      this.#type = SOCK_DGRAM;
      this.#family = familyOf(this.#dgram.conn.addr);
    } else if (typeof (raw as Deno.Listener).accept === "function") {
      this.#listener = new AcceptQueue(raw as Deno.Listener);
      this.#family = familyOf(this.#listener.listener.addr);
    } else if (typeof (raw as Deno.Conn).read === "function") {
      this.#setConn(raw as Deno.Conn);
      this.#family = familyOf(this.#conn!.localAddr);
    } else {
      throw new TypeError(
        "Cannot create Socket: expected a Deno.Conn, Deno.Listener or Deno.DatagramConn",
      );
    }
  }

  #setConn(conn: Deno.Conn): void {
    this.#conn = conn;
    if (this.#options.size > 0) applyConnOptions(this.#options, conn);
    this.#reader ??= new Reader({ readInto: (p) => this.#readRaw(p) }, "socket");
    this.#writer ??= new Writer((p) => this.#writeRaw(p), "socket", "bytesSent");
  }

  #readRaw(p: Uint8Array): Promise<number | null> {
    const conn = this.#conn;
    return conn !== undefined ? conn.read(p) : this.#whenOpen().then((c) => c.read(p));
  }

  #writeRaw(p: Uint8Array): Promise<number> {
    const conn = this.#conn;
    return conn !== undefined ? conn.write(p) : this.#whenOpen().then((c) => c.write(p));
  }

  /** The Deno object this socket wraps now, if any. */
  #raw(): RawSocket | undefined {
    return this.#conn ?? this.#listener?.listener ?? this.#dgram?.conn;
  }

  // A socket from socketpair() is returned before Deno has connected it.
  #opening: Promise<void> | undefined = undefined;
  #openError: unknown = undefined;

  async #whenOpen(): Promise<Deno.Conn> {
    if (this.#opening !== undefined) await this.#opening;
    if (this.#conn === undefined) {
      throw this.#openError ?? new Deno.errors.BadResource("The socket is closed");
    }
    return this.#conn;
  }

  /** The address family: `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  get family(): number {
    return this.#family;
  }

  /** The socket type: `SOCK_STREAM` or `SOCK_DGRAM`. */
  get type(): number {
    return this.#type;
  }

  /** Whether {@linkcode Socket.prototype.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #open(action: string): void {
    if (this.#closed) throw new Deno.errors.BadResource(`Cannot ${action}: the socket is closed`);
  }

  #checkOpening(action: string): void {
    if (this.#opening !== undefined) {
      throw new Deno.errors.NotConnected(
        `Cannot ${action}: the socket is still connecting (socketpair() sockets are connected once their first operation has waited)`,
      );
    }
  }

  #streamReader(action: string): Reader {
    this.#open(action);
    const reader = this.#reader;
    if (reader === undefined) {
      throw new Deno.errors.NotConnected(
        `Cannot ${action}: the socket is not connected${
          this.#listener ? " (it is listening: use accept())" : ""
        }`,
      );
    }
    return reader;
  }

  #streamWriter(action: string): Writer {
    this.#open(action);
    const writer = this.#writer;
    if (writer === undefined) {
      throw new Deno.errors.NotConnected(
        `Cannot ${action}: the socket is not connected${
          this.#listener ? " (it is listening: use accept())" : ""
        }`,
      );
    }
    return writer;
  }

  /**
   * Receives up to `maxbytes` bytes; waits only if none are buffered.
   *
   * @param maxbytes The most bytes to return.
   * @returns The bytes; empty at end of stream (the peer closed or shut down
   * its side).
   * @throws {ResourceBusy} If another task is already waiting to read.
   * @throws {Deno.errors.ConnectionReset} If the peer reset the connection.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new Uint8Array([1, 2, 3]));
   *   await a.close();
   *   assert.deepEqual(await b.recv(2), new Uint8Array([1, 2]));
   *   assert.deepEqual(await b.recv(2), new Uint8Array([3]));
   *   assert.equal((await b.recv(2)).length, 0);
   *   await b.close();
   * });
   * ```
   */
  recv(maxbytes: number): Promise<Uint8Array> {
    // The hot path (a connected stream socket, a valid size) with no async
    // frame of its own: every allocation here shows up as GC in an echo loop.
    const reader = this.#reader;
    if (
      reader !== undefined && !this.#closed && !this.#readShut &&
      typeof maxbytes === "number" && maxbytes > 0 && Number.isInteger(maxbytes)
    ) {
      if (reader.size > 0) return Promise.resolve(reader.take(maxbytes));
      if (!reader.ready) return reader.waitAndTake(maxbytes, "recv");
    }
    return this.#recv(maxbytes);
  }

  async #recv(maxbytes: number): Promise<Uint8Array> {
    if (this.#dgram !== undefined || this.#type === SOCK_DGRAM) {
      return (await this.recvfrom(maxbytes))[0];
    }
    const reader = this.#streamReader("recv");
    checkSize(maxbytes, "recv", "maxbytes");
    if (this.#readShut || maxbytes === 0) return EMPTY;
    if (!reader.ready) await reader.waitReady("recv");
    if (reader.size > 0) return reader.take(maxbytes);
    reader.throwError();
    return EMPTY;
  }

  /**
   * Receives up to `nbytes` bytes into `buffer`.
   *
   * @param buffer Where to put them.
   * @param nbytes The most bytes to receive (default, or 0: `buffer.length`).
   * @returns How many bytes were received; 0 at end of stream.
   * @throws {ResourceBusy} If another task is already waiting to read.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new Uint8Array([7, 8]));
   *   const buf = new Uint8Array(10);
   *   assert.equal(await b.recvInto(buf), 2);
   *   assert.equal(buf[1], 8);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async recvInto(buffer: Uint8Array, nbytes = 0): Promise<number> {
    if (!(buffer instanceof Uint8Array)) {
      throw new TypeError("Cannot recvInto: expected a Uint8Array buffer");
    }
    checkSize(nbytes, "recvInto", "nbytes");
    const n = nbytes === 0 ? buffer.length : Math.min(nbytes, buffer.length);
    if (this.#dgram !== undefined || this.#type === SOCK_DGRAM) {
      return (await this.recvfromInto(buffer, n))[0];
    }
    const reader = this.#streamReader("recvInto");
    if (this.#readShut || n === 0) return 0;
    if (!reader.ready) await reader.waitReady("recvInto");
    if (reader.size > 0) return reader.takeInto(buffer.subarray(0, n));
    reader.throwError();
    return 0;
  }

  #datagrams(action: string): DatagramQueue {
    this.#open(action);
    if (this.#dgram === undefined) {
      throw new Deno.errors.NotConnected(
        `Cannot ${action}: the datagram socket is not bound yet; call bind() or sendto() first`,
      );
    }
    return this.#dgram;
  }

  /**
   * Receives up to `maxsize` bytes and the sender's address. On a datagram
   * socket, one datagram (truncated to `maxsize`, as the OS does).
   *
   * @param maxsize The most bytes to return.
   * @returns `[data, address]`.
   * @throws {ResourceBusy} If another task is already waiting to read.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { AF_INET, SOCK_DGRAM, socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using a = socket(AF_INET, SOCK_DGRAM);
   *   await using b = socket(AF_INET, SOCK_DGRAM);
   *   a.bind(["127.0.0.1", 0]);
   *   b.bind(["127.0.0.1", 0]);
   *   await b.sendto(new Uint8Array([42]), a.getsockname() as [string, number]);
   *   const [data, from] = await a.recvfrom(100);
   *   assert.deepEqual(data, new Uint8Array([42]));
   *   assert.deepEqual(from, b.getsockname());
   * });
   * ```
   */
  async recvfrom(maxsize: number): Promise<[Uint8Array, [string, number]]> {
    checkSize(maxsize, "recvfrom", "maxsize");
    if (this.#dgram === undefined && this.#type !== SOCK_DGRAM) {
      const data = await this.recv(maxsize);
      return [data, this.getpeername() as [string, number]];
    }
    const [data, addr] = await this.#datagrams("recvfrom").next("recvfrom");
    return [
      data.length > maxsize ? data.subarray(0, maxsize) : data,
      addrOf(addr) as [
        string,
        number,
      ],
    ];
  }

  /**
   * Receives into `buffer`, with the sender's address.
   *
   * @param buffer Where to put the bytes.
   * @param nbytes The most bytes to receive (default, or 0: `buffer.length`).
   * @returns `[count, address]`.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { AF_INET, SOCK_DGRAM, socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using a = socket(AF_INET, SOCK_DGRAM);
   *   a.bind(["127.0.0.1", 0]);
   *   await using b = socket(AF_INET, SOCK_DGRAM);
   *   await b.sendto(new Uint8Array([1, 2]), a.getsockname() as [string, number]);
   *   const buf = new Uint8Array(8);
   *   const [n] = await a.recvfromInto(buf);
   *   assert.equal(n, 2);
   * });
   * ```
   */
  async recvfromInto(buffer: Uint8Array, nbytes = 0): Promise<[number, [string, number]]> {
    if (!(buffer instanceof Uint8Array)) {
      throw new TypeError("Cannot recvfromInto: expected a Uint8Array buffer");
    }
    checkSize(nbytes, "recvfromInto", "nbytes");
    const n = nbytes === 0 ? buffer.length : Math.min(nbytes, buffer.length);
    if (this.#dgram === undefined && this.#type !== SOCK_DGRAM) {
      const count = await this.recvInto(buffer, n);
      return [count, this.getpeername() as [string, number]];
    }
    const [data, addr] = await this.#datagrams("recvfromInto").next("recvfromInto");
    const count = Math.min(n, data.length);
    buffer.set(data.subarray(0, count));
    return [count, addrOf(addr) as [string, number]];
  }

  /**
   * Receives normal data (ancillary data is not available on Deno).
   *
   * @param bufsize The most bytes to return.
   * @param ancbufsize Must be 0.
   * @returns `[data, ancdata (always []), flags (0), address]`.
   * @throws {Error} If `ancbufsize > 0`: Deno cannot receive ancillary data.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new Uint8Array([5]));
   *   const [data, anc] = await b.recvmsg(10);
   *   assert.deepEqual([data, anc], [new Uint8Array([5]), []]);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async recvmsg(
    bufsize: number,
    ancbufsize = 0,
  ): Promise<[Uint8Array, unknown[], number, unknown]> {
    if (ancbufsize > 0) noAncillary("recvmsg");
    const [data, address] = await this.recvfrom(bufsize);
    return [data, [], 0, address];
  }

  /**
   * Receives into several buffers, filled in order (no ancillary data).
   *
   * @param buffers Where to put the bytes.
   * @param ancbufsize Must be 0.
   * @returns `[count, ancdata (always []), flags (0), address]`.
   * @throws {Error} If `ancbufsize > 0`: Deno cannot receive ancillary data.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new Uint8Array([1, 2, 3]));
   *   const x = new Uint8Array(2), y = new Uint8Array(2);
   *   let got = 0;
   *   while (got < 3) got += (await b.recvmsgInto(got < 2 ? [x.subarray(got), y] : [y.subarray(got - 2)]))[0];
   *   assert.deepEqual([...x, y[0]], [1, 2, 3]);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async recvmsgInto(
    buffers: Uint8Array[],
    ancbufsize = 0,
  ): Promise<[number, unknown[], number, unknown]> {
    if (ancbufsize > 0) noAncillary("recvmsgInto");
    const [data, address] = await this.recvfrom(totalLength(buffers));
    scatter(data, buffers);
    return [data.length, [], 0, address];
  }

  /**
   * Sends some of `data` (one write).
   *
   * @param data The bytes.
   * @returns How many bytes were sent.
   * @throws {ResourceBusy} If another task is already waiting to write.
   * @throws {Deno.errors.BrokenPipe} If the peer closed the connection.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   assert.equal(await a.send(new Uint8Array(4)), 4);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async send(data: Uint8Array): Promise<number> {
    if (this.#dgram !== undefined || this.#type === SOCK_DGRAM) {
      const peer = this.#peer;
      if (peer === undefined) {
        throw new Deno.errors.NotConnected(
          "Cannot send: the datagram socket has no peer; call connect() or use sendto()",
        );
      }
      return await this.sendto(data, peer);
    }
    if (!(data instanceof Uint8Array)) throw new TypeError("Cannot send: expected a Uint8Array");
    return (await this.#streamWriter("send").writeAll(data, "send", true))!;
  }

  /**
   * Sends all of `data`.
   *
   * @param data The bytes.
   * @throws {ResourceBusy} If another task is already waiting to write.
   * @throws {CancelledError} If cancelled midway: its `bytesSent` tells how
   * many bytes of `data` were sent (final once the next operation on the
   * socket has started).
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new TextEncoder().encode("all of it"));
   *   await a.close();
   *   const s = b.asStream();
   *   assert.equal(new TextDecoder().decode(await s.readall()), "all of it");
   *   await s.close();
   * });
   * ```
   */
  sendall(data: Uint8Array): Promise<void> {
    const writer = this.#writer;
    if (writer !== undefined && !this.#closed && data instanceof Uint8Array) {
      // The hot path, with no async frame of its own (see recv).
      return writer.sendAll(data, "sendall");
    }
    return this.#sendall(data);
  }

  async #sendall(data: Uint8Array): Promise<void> {
    if (this.#dgram !== undefined || this.#type === SOCK_DGRAM) {
      await this.send(data);
      return;
    }
    if (!(data instanceof Uint8Array)) {
      throw new TypeError("Cannot sendall: expected a Uint8Array");
    }
    await this.#streamWriter("sendall").writeAll(data, "sendall");
  }

  /**
   * Sends a datagram to `address` (binding the socket to an ephemeral port
   * first if it is not bound).
   *
   * @param data The bytes.
   * @param address `[host, port]`.
   * @returns How many bytes were sent.
   * @throws {TypeError} On a stream socket.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { AF_INET, SOCK_DGRAM, socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using a = socket(AF_INET, SOCK_DGRAM);
   *   a.bind(["127.0.0.1", 0]);
   *   await using b = socket(AF_INET, SOCK_DGRAM);
   *   assert.equal(await b.sendto(new Uint8Array(3), a.getsockname() as [string, number]), 3);
   * });
   * ```
   */
  async sendto(data: Uint8Array, address: [string, number]): Promise<number> {
    this.#open("sendto");
    if (this.#type !== SOCK_DGRAM) {
      throw new TypeError("Cannot sendto: not a datagram socket; use send() or sendall()");
    }
    if (!(data instanceof Uint8Array)) throw new TypeError("Cannot sendto: expected a Uint8Array");
    const [hostname, port] = checkInet(address, "sendto");
    if (this.#dgram === undefined) this.bind([wildcard(this.#family), 0]);
    return await this.#dgram!.send(data, hostname, port);
  }

  /**
   * Sends the concatenation of `buffers` (no ancillary data).
   *
   * @param buffers The bytes, in order.
   * @param ancdata Must be empty.
   * @param _flags Ignored (Deno has no send flags).
   * @param address For datagram sockets: where to send.
   * @returns How many bytes were sent.
   * @throws {Error} If `ancdata` is not empty: Deno cannot send ancillary data.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   assert.equal(await a.sendmsg([new Uint8Array(1), new Uint8Array(2)]), 3);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async sendmsg(
    buffers: Uint8Array[],
    ancdata: unknown[] = [],
    _flags = 0,
    address?: [string, number],
  ): Promise<number> {
    if (ancdata.length > 0) noAncillary("sendmsg");
    const data = concat(buffers);
    if (address !== undefined) return await this.sendto(data, address);
    if (this.#type === SOCK_DGRAM) return await this.send(data);
    await this.sendall(data);
    return data.length;
  }

  /**
   * Waits for a connection. A connection that arrives after a cancelled
   * `accept()` gave up waiting goes to the next `accept()`.
   *
   * @returns `[client, address]`: the connected Socket and the peer's address.
   * @throws {ResourceBusy} If another task is already waiting in `accept()`.
   *
   * @example Usage
   * ```ts
   * import { run, Socket } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using server = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   *   const port = (server.getsockname() as [string, number])[1];
   *   const conn = await Deno.connect({ hostname: "127.0.0.1", port });
   *   const [client, addr] = await server.accept();
   *   assert.equal((addr as [string, number])[0], "127.0.0.1");
   *   await client.close();
   *   conn.close();
   * });
   * ```
   */
  async accept(): Promise<[Socket, Address]> {
    this.#open("accept");
    if (this.#listener === undefined) {
      throw new TypeError("Cannot accept: the socket is not listening; call bind() and listen()");
    }
    const conn = await this.#listener.next();
    const client = new Socket(conn);
    // As on Linux, an accepted socket inherits these from the listener.
    for (const name of ["SO_KEEPALIVE", "TCP_NODELAY"]) {
      const value = this.#options.get(name);
      if (value !== undefined) client.#options.set(name, value);
    }
    if (client.#options.size > 0) applyConnOptions(client.#options, conn);
    return [client, addrOf(conn.remoteAddr)];
  }

  /**
   * Connects an unconnected socket (made by `socket()`). On a datagram
   * socket, sets the default peer for `send`/`recv`.
   *
   * @param address `[host, port]`, or a path for Unix sockets.
   * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
   * @throws {TypeError} If `address` does not fit the socket's family.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   *   await using s = socket();
   *   await s.connect(["127.0.0.1", listener.addr.port]);
   *   assert.equal((s.getpeername() as [string, number])[1], listener.addr.port);
   *   (await listener.accept()).close();
   * });
   * ```
   */
  async connect(address: Address): Promise<void> {
    this.#open("connect");
    if (this.#type === SOCK_DGRAM) {
      const peer = checkInet(address, "connect");
      if (this.#dgram === undefined) this.bind([wildcard(this.#family), 0]);
      this.#peer = peer;
      return;
    }
    if (this.#conn !== undefined) {
      throw new Error("Cannot connect: the socket is already connected");
    }
    if (this.#listener !== undefined) {
      throw new Error(
        "Cannot connect: the socket is bound; Deno cannot connect from a bound socket (it binds only to listen)",
      );
    }
    if (this.#connecting) {
      throw new ResourceBusy("Cannot connect: another task is already connecting this socket");
    }
    let pending: Promise<Deno.Conn>;
    if (this.#family === AF_UNIX) {
      pending = Deno.connect({ transport: "unix", path: checkPath(address, "connect") });
    } else {
      const [hostname, port] = checkInet(address, "connect");
      pending = Deno.connect({ hostname, port, transport: "tcp" });
    }
    this.#connecting = true;
    try {
      this.#setConn(await _futureWait(pending, "WRITE_WAIT"));
    } catch (error) {
      if (error instanceof CancelledError) {
        // The connection may still be made: close it when it is.
        pending.then((conn) => closeQuietly(conn), () => {});
      }
      throw withWhat(error, `Cannot connect to ${showAddress(address)}`);
    } finally {
      this.#connecting = false;
    }
    if (this.#closed) {
      closeQuietly(this.#conn!);
      this.#open("connect");
    }
  }

  /**
   * Like {@linkcode Socket.prototype.connect}, but returns an errno instead
   * of throwing when the connection fails.
   *
   * @param address Where to connect.
   * @returns 0 on success, or an errno (111 = ECONNREFUSED, 2 = ENOENT for a
   * missing Unix socket, 110 = ETIMEDOUT, ...).
   * @throws Errors that have no errno (bad arguments, cancellation).
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   *   const port = l.addr.port;
   *   l.close(); // nothing listens there now
   *   await using s = socket();
   *   assert.equal(await s.connectEx(["127.0.0.1", port]), 111);
   * });
   * ```
   */
  async connectEx(address: Address): Promise<number> {
    try {
      await this.connect(address);
      return 0;
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === undefined) throw error;
      return errno;
    }
  }

  /**
   * Binds the socket to `address`. Deno has no bind-only state for stream
   * sockets: binding one also starts listening (`listen()` then only
   * checks). Datagram sockets are bound and ready for `recvfrom`.
   *
   * @param address `[host, port]` (port 0: an ephemeral port, see
   * `getsockname()`), or a path for Unix sockets.
   * @throws {Deno.errors.AddrInUse} If the address is taken.
   * @throws {TypeError} If `address` does not fit the socket's family.
   *
   * @example Usage
   * ```ts
   * import { socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * const s = socket();
   * s.bind(["127.0.0.1", 0]);
   * s.listen();
   * assert((s.getsockname() as [string, number])[1] > 0);
   * s.blocking().close();
   * ```
   */
  bind(address: Address): void {
    try {
      this.#bind(address);
    } catch (error) {
      // Our own errors already say what failed; Deno's say only why.
      if (!(error instanceof Error) || error.message.startsWith("Cannot ")) throw error;
      throw withWhat(error, `Cannot bind to ${showAddress(address)}`);
    }
  }

  #bind(address: Address): void {
    this.#open("bind");
    if (this.#conn !== undefined || this.#listener !== undefined || this.#dgram !== undefined) {
      throw new Error("Cannot bind: the socket is already bound or connected");
    }
    if (this.#type === SOCK_DGRAM) {
      if (this.#family === AF_UNIX) {
        throw new Error(
          "Cannot bind: Unix datagram sockets are not supported (Deno offers only unixpacket, and not on this API)",
        );
      }
      const [hostname, port] = checkInet(address, "bind");
      this.#dgram = DatagramQueue.open(hostname, port, this.#options.get("SO_REUSEADDR") === 1);
      return;
    }
    let listener: Deno.Listener;
    if (this.#family === AF_UNIX) {
      listener = Deno.listen({ transport: "unix", path: checkPath(address, "bind") });
    } else {
      const [hostname, port] = checkInet(address, "bind");
      listener = Deno.listen(
        {
          transport: "tcp",
          hostname: hostname || "0.0.0.0",
          port,
          reusePort: this.#options.get("SO_REUSEPORT") === 1,
        } as Deno.TcpListenOptions & { transport: "tcp" },
      );
    }
    this.#listener = new AcceptQueue(listener);
  }

  /**
   * Listens for connections. If the socket is not bound yet, binds it to an
   * ephemeral port on all interfaces (as the OS does).
   *
   * @param _backlog Ignored: Deno chooses the backlog.
   * @throws {TypeError} On a datagram socket.
   *
   * @example Usage
   * ```ts
   * import { socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * const s = socket();
   * s.bind(["127.0.0.1", 0]);
   * s.listen(100);
   * assert.equal(s.closed, false);
   * s.blocking().close();
   * ```
   */
  listen(_backlog?: number): void {
    this.#open("listen");
    if (this.#type === SOCK_DGRAM) throw new TypeError("Cannot listen: a datagram socket");
    if (this.#listener !== undefined) return;
    if (this.#conn !== undefined) throw new Error("Cannot listen: the socket is connected");
    if (this.#family === AF_UNIX) {
      throw new Error("Cannot listen: bind the Unix socket to a path first");
    }
    this.bind([wildcard(this.#family), 0]);
  }

  /**
   * The socket's own address.
   *
   * @returns `[host, port]`, or the path of a Unix socket.
   *
   * @example Usage
   * ```ts
   * import { Socket } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const s = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * assert.equal((s.getsockname() as [string, number])[0], "127.0.0.1");
   * s.blocking().close();
   * ```
   */
  getsockname(): Address {
    this.#open("getsockname");
    this.#checkOpening("getsockname");
    if (this.#conn !== undefined) return addrOf(this.#conn.localAddr);
    if (this.#listener !== undefined) return addrOf(this.#listener.listener.addr);
    if (this.#dgram !== undefined) return addrOf(this.#dgram.conn.addr);
    return this.#family === AF_UNIX ? "" : [wildcard(this.#family), 0];
  }

  /**
   * The peer's address.
   *
   * @returns `[host, port]`, or the path of a Unix socket (often `""`).
   * @throws {Deno.errors.NotConnected} If the socket is not connected.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.sendall(new Uint8Array([1]));
   *   await b.recv(1); // socketpair() sockets finish connecting in the background
   *   assert.deepEqual(a.getpeername(), b.getsockname());
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  getpeername(): Address {
    this.#open("getpeername");
    this.#checkOpening("getpeername");
    if (this.#conn !== undefined) return addrOf(this.#conn.remoteAddr);
    if (this.#peer !== undefined) return this.#peer;
    throw new Deno.errors.NotConnected("Cannot get peer name: the socket is not connected");
  }

  /**
   * Sets a socket option, as far as Deno can (it has no setsockopt(2)):
   *
   * - `SO_REUSEADDR`: Deno's TCP listeners always reuse the address, so 1 is
   *   recorded (and 0 refused on a socket that listens or will); on UDP it is
   *   applied when `bind()` opens the socket.
   * - `SO_REUSEPORT` (TCP): applied when `bind()` opens the listener.
   * - `SO_KEEPALIVE`, `TCP_NODELAY` (TCP): applied to the connection now
   *   (`setKeepAlive`, `setNoDelay`), at `connect()`, or, set on a listening
   *   socket, to every connection it accepts (as Linux does).
   * - `SO_BROADCAST` (UDP): Deno's UDP sockets always allow it.
   * - Anything else (`SO_RCVBUF`, `SO_SNDBUF`, `SO_LINGER`, ...) throws an
   *   Error that names the option.
   *
   * @param level `SOL_SOCKET`, `IPPROTO_TCP`, ...
   * @param optname `SO_REUSEADDR`, `TCP_NODELAY`, ...
   * @param value An integer (0 = off) or a boolean.
   * @throws {TypeError} If `value` is not an integer or boolean.
   * @throws {Error} If Deno cannot set this option on this socket (the
   * message names the option and says why).
   *
   * @example Usage
   * ```ts
   * import { SO_RCVBUF, SO_REUSEADDR, SOL_SOCKET, socket } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * const s = socket();
   * s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
   * s.bind(["127.0.0.1", 0]);
   * s.listen(5);
   * assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 1);
   * assert.throws(() => s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536), /SO_RCVBUF/);
   * await s.close();
   * ```
   */
  setsockopt(level: number, optname: number, value: number | boolean): void {
    const name = optionName(level, optname);
    this.#open(`set ${name}`);
    setOption(this.#optionTarget(), name, value);
  }

  /**
   * Reads a socket option: what Deno does (`SO_REUSEADDR` is 1 on a TCP
   * listener, `SO_BROADCAST` on a UDP socket), or what
   * {@linkcode Socket.prototype.setsockopt} set, or 0.
   *
   * @param level `SOL_SOCKET`, `IPPROTO_TCP`, ...
   * @param optname `SO_REUSEADDR`, `TCP_NODELAY`, `SO_TYPE`, ...
   * @param buflen Not supported: Deno cannot return raw option bytes.
   * @returns The value, as an integer.
   * @throws {Error} If Deno cannot read this option (the message names it).
   *
   * @example Usage
   * ```ts
   * import { IPPROTO_TCP, SO_TYPE, SOCK_STREAM, SOL_SOCKET, socket, TCP_NODELAY } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * const s = socket();
   * assert.equal(s.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM);
   * s.setsockopt(IPPROTO_TCP, TCP_NODELAY, true); // applied when it connects
   * assert.equal(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
   * await s.close();
   * ```
   */
  getsockopt(level: number, optname: number, buflen?: number): number {
    const name = optionName(level, optname);
    const action = `get ${name}`;
    this.#open(action);
    if (buflen !== undefined) {
      throw new Error(`Cannot ${action} as bytes: Deno has no raw socket options`);
    }
    return getOption(this.#optionTarget(), name);
  }

  #optionTarget(): OptionTarget {
    return {
      type: this.#type,
      family: this.#family,
      conn: this.#conn,
      listening: this.#listener !== undefined,
      datagramBound: this.#dgram !== undefined,
      options: this.#options,
    };
  }

  /**
   * Shuts down one or both directions. `SHUT_WR` sends end-of-stream to the
   * peer (after any in-flight write); `SHUT_RD` makes later reads here
   * return end-of-stream.
   *
   * @param how `SHUT_RD` (0), `SHUT_WR` (1) or `SHUT_RDWR` (2, default).
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { SHUT_WR, socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.shutdown(SHUT_WR);
   *   assert.equal((await b.recv(10)).length, 0); // EOF, but b can still send to a
   *   await b.sendall(new Uint8Array([1]));
   *   assert.equal((await a.recv(10)).length, 1);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async shutdown(how: number = SHUT_RDWR): Promise<void> {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) {
      throw new RangeError(
        `Cannot shutdown: how must be SHUT_RD, SHUT_WR or SHUT_RDWR, received ${how}`,
      );
    }
    const writer = this.#streamWriter("shutdown");
    if (how !== SHUT_WR) this.#readShut = true;
    if (how !== SHUT_RD) {
      await writer.drain("shutdown");
      if (this.#opening !== undefined) await _futureWait(this.#opening, "WRITE_WAIT");
      await _futureWait((await this.#whenOpen()).closeWrite(), "WRITE_WAIT");
    }
  }

  /**
   * Closes the socket. Connections accepted but not yet claimed by
   * `accept()` are closed too. Closing twice is harmless.
   *
   * @example Usage
   * ```ts
   * import { Socket } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const s = new Socket(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await s.close();
   * assert.equal(s.closed, true);
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.close();
    if (this.#conn !== undefined) closeQuietly(this.#conn);
    this.#listener?.close();
    this.#dgram?.close();
  }

  /**
   * Performs the TLS handshake now (otherwise it happens at the first read
   * or write). Only for sockets wrapped by the ssl module.
   *
   * @throws {TypeError} If the socket is not a TLS connection.
   * @throws {Deno.errors.InvalidData} If the handshake fails (bad certificate).
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await assert.rejects(a.doHandshake(), TypeError);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async doHandshake(): Promise<void> {
    this.#open("doHandshake");
    if (this.#opening !== undefined) await _futureWait(this.#opening);
    const conn = this.#conn as Deno.TlsConn | undefined;
    if (conn === undefined || typeof conn.handshake !== "function") {
      throw new TypeError("Cannot do handshake: the socket is not a TLS connection");
    }
    const info = await _futureWait(conn.handshake(), "READ_WAIT");
    this.#alpn = info.alpnProtocol;
  }

  #alpn: string | null = null;

  /**
   * The ALPN protocol agreed during the TLS handshake (after
   * `doHandshake()`), or `null`.
   *
   * @returns The protocol name, or `null`.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   assert.equal(a.selectedAlpnProtocol(), null);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  selectedAlpnProtocol(): string | null {
    return this.#alpn;
  }

  /**
   * A file-like stream on one direction of the socket. It shares the
   * socket's buffer; closing it does not close the socket.
   *
   * @param mode `"rb"` to read, `"wb"` to write.
   * @param _buffering Ignored (reads are buffered, writes are not).
   * @returns A FileStream.
   * @throws {RangeError} For any other mode.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   const w = a.makefile("wb");
   *   await w.write(new TextEncoder().encode("line\n"));
   *   const r = b.makefile("rb");
   *   assert.equal(new TextDecoder().decode(await r.readline()), "line\n");
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  makefile(mode: "rb" | "wb", _buffering = 0): FileStream {
    if (mode !== "rb" && mode !== "wb") {
      throw new RangeError(`Cannot make file: mode must be "rb" or "wb", received ${mode}`);
    }
    const reader = mode === "rb" ? this.#streamReader("makefile") : null;
    const writer = mode === "wb" ? this.#streamWriter("makefile") : null;
    const conn = () => this.#conn; // read late: a socketpair() socket connects after this
    const parts: StreamParts = {
      reader,
      writer,
      get raw() {
        return conn();
      },
      close: async () => {},
    };
    return new FileStream({ [streamParts]: () => parts } as never);
  }

  /**
   * How the socket lends its buffered sides to a {@linkcode SocketStream}
   * (see `_parts.ts`).
   *
   * @ignore Internal to curio's io modules.
   */
  [streamParts](): StreamParts {
    const conn = () => this.#conn;
    return {
      reader: this.#streamReader("make a stream"),
      writer: this.#streamWriter("make a stream"),
      get raw() {
        return conn(); // read late: a socketpair() socket connects after this
      },
      close: () => this.close(),
      closeWrite: () => this.#whenOpen().then((c) => c.closeWrite()),
    };
  }

  /**
   * A stream for reading and writing the socket (it shares the socket's
   * buffer); closing the stream closes the socket.
   *
   * @returns A SocketStream.
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await using sa = a.asStream();
   *   await using sb = b.asStream();
   *   await sa.write(new TextEncoder().encode("ping\n"));
   *   assert.equal(new TextDecoder().decode(await sb.readline()), "ping\n");
   * });
   * ```
   */
  asStream(): SocketStream {
    this.#streamReader("asStream");
    return new SocketStream(this);
  }

  /**
   * The raw Deno object (curio's `blocking()`), for code that needs it. Do
   * not use it while a task reads or writes through this Socket.
   *
   * @returns The `Deno.Conn`, `Deno.Listener` or `Deno.DatagramConn`.
   * @throws {Deno.errors.NotConnected} If the socket has none yet.
   *
   * @example Usage
   * ```ts
   * import { Socket } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const raw = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const s = new Socket(raw);
   * assert.equal(s.blocking(), raw);
   * raw.close();
   * ```
   */
  blocking(): RawSocket {
    const raw = this.#raw();
    if (raw === undefined) {
      throw new Deno.errors.NotConnected(
        "Cannot get the raw socket: it is not bound or connected yet",
      );
    }
    return raw;
  }

  /** Closes the socket: `await using sock = ...`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves when a read (or accept, or recvfrom) can complete without
   * blocking (for `_readWait`).
   *
   * @returns A promise that never rejects.
   */
  [readWaitHook](): Promise<void> {
    this.#open("wait for reading");
    if (this.#listener !== undefined) return this.#listener.whenReady();
    if (this.#dgram !== undefined) return this.#dgram.whenReady();
    const reader = this.#streamReader("wait for reading");
    return reader.ready ? Promise.resolve() : reader.fill();
  }

  /**
   * Resolves when no write is in flight (for `_writeWait`).
   *
   * @returns A promise that never rejects.
   */
  [writeWaitHook](): Promise<void> {
    this.#open("wait for writing");
    const pending = this.#writer?.inflight;
    return pending === undefined ? Promise.resolve() : pending.then(() => {});
  }

  /** A short description such as `Socket(tcp 127.0.0.1:5000 -> 127.0.0.1:41234)`. */
  toString(): string {
    if (this.#closed) return "Socket(closed)";
    const show = (a: Address) => (typeof a === "string" ? a : `${a[0]}:${a[1]}`);
    if (this.#conn !== undefined) {
      return `Socket(${show(addrOf(this.#conn.localAddr))} -> ${
        show(addrOf(this.#conn.remoteAddr))
      })`;
    }
    if (this.#listener !== undefined) return `Socket(listening ${show(this.getsockname())})`;
    if (this.#dgram !== undefined) return `Socket(udp ${show(this.getsockname())})`;
    return "Socket(unbound)";
  }
}
