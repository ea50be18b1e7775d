// The load generator for the HTTP rows of compare.ts: `conns` keep-alive
// HTTP/1.1 connections, each sending `requests` GETs one after another and
// reading each response in full. It runs in a process of its own (so the
// server under test keeps the measured process to itself) and speaks raw
// HTTP/1.1 over Deno.connect, which costs far less than fetch(): the
// numbers then say how fast the server is, not the client.
//
//   deno run --allow-net tests/bench/_http_client.ts PORT CONNS REQUESTS
//
// Prints one JSON line: { "ms": elapsed milliseconds, "responses": count }.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where `needle` (CR LF CR LF) starts in `buf[0, end)`, or -1. */
function headerEnd(buf: Uint8Array, end: number): number {
  for (let i = 0; i + 3 < end; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** Sends `requests` GETs on one connection, reading each response before the next. */
async function client(port: number, requests: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = encoder.encode(`GET /bench HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const buf = new Uint8Array(64 * 1024);
  let have = 0;
  let done = 0;
  try {
    for (; done < requests; done++) {
      let written = 0;
      while (written < request.length) written += await conn.write(request.subarray(written));
      for (;;) {
        const head = headerEnd(buf, have);
        if (head >= 0) {
          const text = decoder.decode(buf.subarray(0, head));
          if (!text.startsWith("HTTP/1.1 200")) {
            throw new Error(`Cannot benchmark: the server answered ${text.split("\r\n")[0]}`);
          }
          const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1]);
          if (!Number.isInteger(length)) {
            throw new Error("Cannot benchmark: a response without content-length");
          }
          const total = head + 4 + length;
          if (have >= total) {
            buf.copyWithin(0, total, have);
            have -= total;
            break;
          }
        }
        const n = await conn.read(buf.subarray(have));
        if (n === null) throw new Error("Cannot benchmark: the server closed the connection");
        have += n;
      }
    }
  } finally {
    conn.close();
  }
  return done;
}

/**
 * Runs this file as a subprocess against `port` and returns the elapsed
 * milliseconds it measured; throws if a response was missing or wrong.
 */
export async function loadHttp(port: number, conns: number, requests: number): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL(import.meta.url).pathname,
      String(port),
      String(conns),
      String(requests),
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = decoder.decode(out.stdout).trim();
  if (!out.success || text === "") {
    const err = decoder.decode(out.stderr).trim().split("\n").slice(0, 3).join(" ");
    throw new Error(`Cannot run HTTP load: ${err}`);
  }
  const { ms, responses } = JSON.parse(text) as { ms: number; responses: number };
  if (responses !== conns * requests) {
    throw new Error(`Cannot run HTTP load: ${responses} responses, expected ${conns * requests}`);
  }
  return ms;
}

if (import.meta.main) {
  const [port, conns, requests] = Deno.args.map(Number);
  if (!port || !conns || !requests) {
    throw new TypeError("Cannot run HTTP bench client: expected PORT CONNS REQUESTS");
  }
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from({ length: conns }, () => client(port, requests)),
  );
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, responses: counts.reduce((a, b) => a + b, 0) }));
}
