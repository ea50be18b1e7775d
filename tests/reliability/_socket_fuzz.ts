// Read-back fuzz: a writer sends a known pseudo-random byte stream in random
// pieces over one transport (TCP, a Unix socket, a named pipe opened as a
// file, a regular file, or a child process's pipes through `cat`); a chain of
// reader tasks reads it with random operations (for sockets recv, recvInto,
// readline, read, loops of recv; for file streams read(n), read(), readline,
// loops of read), each under a random short timeout, while a chaos task
// cancels the current reader at random moments and a fresh reader takes
// over the same stream. Whatever the interleaving, the bytes read, in order,
// must be exactly the bytes sent. Real clock and real descriptors; seeded
// like the main fuzz, and the seed is also the kernel's schedule (it picks a
// random ready task at each switch), though the real descriptors keep a run
// from replaying exactly.

import {
  CancelledError,
  FileStream,
  run,
  sleep,
  type Socket,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { AF_UNIX, socket, socketpair } from "@curio/curio/socket";
import { PIPE, Popen } from "@curio/curio/subprocess";
import { Rng } from "./_fuzz.ts";

/** What the bytes travel through. */
export type Transport = "tcp" | "unix" | "fifo" | "file" | "pipe";

/** Every transport, in the order the tests and the soak run them. */
export const TRANSPORTS: readonly Transport[] = ["tcp", "unix", "fifo", "file", "pipe"];

/** The outcome of one fuzz iteration. */
export interface SocketFuzzResult {
  seed: number;
  transport: Transport;
  problems: string[];
  reads: number;
  timeouts: number;
  cancels: number;
}

/**
 * Byte i of the stream for `seed`: pseudo-random, with about one byte in
 * twenty a newline so readline has lines to find.
 */
export function byteAt(seed: number, i: number): number {
  let x = Math.imul(i + 1, 0x9e3779b1) ^ seed;
  x = Math.imul(x ^ (x >>> 15), 0x85ebca6b);
  x ^= x >>> 13;
  const b = x & 0xff;
  return b < 13 ? 10 : b;
}

/** One reading operation: the bytes read, or null when it recorded its chunks itself. */
type ReadOp = (record: (chunk: Uint8Array) => void) => Promise<Uint8Array | null>;

/** Both ends of a transport. */
interface Channel {
  /** Sends bytes (the writer end). */
  send(bytes: Uint8Array): Promise<void>;
  /** Ends the stream (the writer end): the reader then sees end of file. */
  end(): Promise<void>;
  /** Picks a random reading operation on the reader end. */
  op(rng: Rng): ReadOp;
  /** True if everything must be written before reading starts (a regular file). */
  writeFirst: boolean;
  /** Closes everything; idempotent. */
  close(): Promise<void>;
}

/** Reads of a curio Socket (and its stream). */
function socketOps(sock: Socket): (rng: Rng) => ReadOp {
  const stream = sock.asStream();
  return (rng) => {
    switch (rng.int(5)) {
      case 0: {
        const n = 1 + rng.int(700);
        return () => sock.recv(n);
      }
      case 1: {
        const n = 1 + rng.int(700);
        return async () => {
          const buf = new Uint8Array(n);
          return buf.subarray(0, await sock.recvInto(buf));
        };
      }
      case 2:
        return () => stream.readline();
      case 3: {
        const n = 1 + rng.int(700);
        return () => stream.read(n);
      }
      default: {
        // Several reads in one go: a cancel in the middle must lose nothing
        // either, so each chunk is recorded as it arrives.
        const want = 1 + rng.int(1500);
        return async (record) => {
          let got = 0;
          while (got < want) {
            const chunk = await sock.recv(want - got);
            if (chunk.length === 0) return got === 0 ? chunk : null;
            record(chunk);
            got += chunk.length;
          }
          return null;
        };
      }
    }
  };
}

/** Reads of a curio FileStream. */
function streamOps(stream: FileStream): (rng: Rng) => ReadOp {
  return (rng) => {
    switch (rng.int(4)) {
      case 0: {
        const n = 1 + rng.int(700);
        return () => stream.read(n);
      }
      case 1:
        return () => stream.read();
      case 2:
        return () => stream.readline();
      default: {
        const want = 1 + rng.int(1500);
        return async (record) => {
          let got = 0;
          while (got < want) {
            const chunk = await stream.read(want - got);
            if (chunk.length === 0) return got === 0 ? chunk : null;
            record(chunk);
            got += chunk.length;
          }
          return null;
        };
      }
    }
  };
}

/** Opens both ends of `transport` (inside a task). */
async function openChannel(transport: Transport): Promise<Channel> {
  switch (transport) {
    case "tcp": {
      const [a, b] = socketpair();
      return {
        send: (bytes) => a.sendall(bytes),
        end: () => a.close(),
        op: socketOps(b),
        writeFirst: false,
        close: async () => {
          await a.close();
          await b.close();
        },
      };
    }
    case "unix": {
      const dir = await Deno.makeTempDir({ prefix: "curio-fuzz-" });
      const path = `${dir}/s.sock`;
      const server = socket(AF_UNIX);
      const client = socket(AF_UNIX);
      let conn: Socket | undefined;
      try {
        server.bind(path);
        server.listen();
        await client.connect(path);
        [conn] = await server.accept();
      } catch (e) {
        await client.close();
        await server.close();
        await Deno.remove(dir, { recursive: true });
        throw e;
      }
      const reader = conn;
      return {
        send: (bytes) => client.sendall(bytes),
        end: () => client.close(),
        op: socketOps(reader),
        writeFirst: false,
        close: async () => {
          await client.close();
          await reader.close();
          await server.close();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        },
      };
    }
    case "fifo": {
      const dir = await Deno.makeTempDir({ prefix: "curio-fuzz-" });
      const path = `${dir}/pipe`;
      const made = await new Deno.Command("mkfifo", { args: [path] }).output();
      if (!made.success) throw new Error(`Cannot make a named pipe: mkfifo failed (${made.code})`);
      // Opening either end of a FIFO waits for the other.
      const [r, w] = await Promise.all([
        Deno.open(path, { read: true }),
        Deno.open(path, { write: true }),
      ]);
      const input = new FileStream(r);
      const output = new FileStream(w);
      return {
        send: async (bytes) => {
          await output.write(bytes);
        },
        end: () => output.close(),
        op: streamOps(input),
        writeFirst: false,
        close: async () => {
          await output.close();
          await input.close();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        },
      };
    }
    case "file": {
      const path = await Deno.makeTempFile({ prefix: "curio-fuzz-" });
      const output = new FileStream(await Deno.open(path, { write: true, truncate: true }));
      let input: FileStream | undefined;
      return {
        send: async (bytes) => {
          await output.write(bytes);
        },
        end: async () => {
          await output.close();
          input = new FileStream(await Deno.open(path, { read: true }));
        },
        op: (rng) => streamOps(input!)(rng),
        writeFirst: true,
        close: async () => {
          await output.close();
          await input?.close();
          await Deno.remove(path).catch(() => {});
        },
      };
    }
    case "pipe": {
      const p = new Popen(["cat"], { stdin: PIPE, stdout: PIPE });
      return {
        send: async (bytes) => {
          await p.stdin!.write(bytes);
        },
        end: () => p.stdin!.close(),
        op: streamOps(p.stdout!),
        writeFirst: false,
        close: async () => {
          await p[Symbol.asyncDispose]();
        },
      };
    }
  }
}

/**
 * Runs one iteration sending `size` bytes over `transport` (16 times as many
 * for a regular file, which is read 64 KiB per blocking read: so that reads
 * block often enough to be cancelled); returns what went wrong.
 */
export async function socketFuzzOnce(
  seed: number,
  size = 20_000,
  transport: Transport = "tcp",
): Promise<SocketFuzzResult> {
  const total = transport === "file" ? size * 16 : size;
  const rng = new Rng(seed);
  const result: SocketFuzzResult = {
    seed,
    transport,
    problems: [],
    reads: 0,
    timeouts: 0,
    cancels: 0,
  };
  const received: Uint8Array[] = [];
  const record = (chunk: Uint8Array) => void received.push(chunk);
  let eof = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<"wedged">((resolve) => {
    timer = setTimeout(() => resolve("wedged"), 15_000);
  });
  const body = run(async () => {
    const channel = await openChannel(transport);
    try {
      const write = async () => {
        let sent = 0;
        while (sent < total) {
          const n = Math.min(total - sent, 1 + rng.int(3000));
          const piece = new Uint8Array(n);
          for (let i = 0; i < n; i++) piece[i] = byteAt(seed, sent + i);
          await channel.send(piece);
          sent += n;
          if (!channel.writeFirst && rng.chance(0.5)) {
            await sleep(rng.chance(0.5) ? 0 : rng.next() * 0.002);
          }
        }
        await channel.end();
      };
      let writer: Task | undefined;
      if (channel.writeFirst) await write();
      else writer = await spawn(write, { name: "writer" });

      let current: Task | undefined;
      const reader = async (): Promise<void> => {
        while (!eof) {
          result.reads++;
          const op = channel.op(rng);
          let data: Uint8Array | null;
          try {
            // A timeout of 0 has expired before the read even starts.
            data = rng.chance(0.5)
              ? await timeoutAfter(rng.chance(0.1) ? 0 : rng.next() * 0.003, () => op(record))
              : await op(record);
          } catch (e) {
            if (e instanceof TaskTimeout) {
              result.timeouts++;
              continue;
            }
            throw e;
          }
          if (data === null) continue;
          if (data.length === 0) eof = true; // end of file
          received.push(data);
        }
      };
      const chaos = await spawn(async () => {
        while (!eof) {
          // Now and then at the very next switch: a fast read (a file) is
          // cancelled too, not only one that waits for the writer.
          await sleep(rng.chance(0.3) ? 0 : rng.next() * 0.004);
          if (current !== undefined && !current.terminated && rng.chance(0.5)) {
            if (await current.cancel()) result.cancels++;
          }
        }
      }, { daemon: true, name: "chaos" });
      while (!eof) {
        current = await spawn(reader, { name: "reader" });
        await current.wait();
        const e = current.exception;
        if (e !== undefined && !(e instanceof CancelledError && e.constructor === CancelledError)) {
          result.problems.push(
            `reader failed: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
          );
          break;
        }
      }
      await chaos.cancel();
      await writer?.join();
    } finally {
      await channel.close();
    }
  }, { logErrors: false, schedule: { seed } }).then(() => "done" as const, (e) => {
    result.problems.push(`run() rejected: ${e instanceof Error ? e.message : e}`);
    return "done" as const;
  });
  const outcome = await Promise.race([body, wedged]);
  clearTimeout(timer);
  if (outcome === "wedged") {
    result.problems.push("wedged: no progress within 15 s");
    return result;
  }
  // Compare what was read with what was sent.
  let pos = 0;
  for (const chunk of received) {
    for (let i = 0; i < chunk.length; i++, pos++) {
      if (chunk[i] !== byteAt(seed, pos)) {
        result.problems.push(`byte ${pos} differs: bytes lost, duplicated or reordered`);
        return result;
      }
    }
  }
  if (pos !== total) result.problems.push(`read ${pos} bytes of ${total}`);
  return result;
}
