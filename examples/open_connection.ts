/**
 * A client with `openConnection`: it talks to a small line-based server
 * (started here, on an ephemeral port) through a SocketStream, reading lines
 * with `for await`, and puts a timeout on the whole conversation.
 *
 * `deno run --allow-net examples/open_connection.ts`
 *
 * @module
 */
import {
  openConnection,
  run,
  runServer,
  type Socket,
  spawn,
  tcpServerSocket,
  timeoutAfter,
} from "@curio/curio";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Answers `count N` with the numbers 1..N, one per line, then hangs up. */
async function countServer(client: Socket): Promise<void> {
  const stream = client.asStream();
  const request = dec.decode(await stream.readline()).trim();
  const n = Number(request.split(" ")[1]);
  for (let i = 1; i <= n; i++) await stream.write(enc.encode(`${i}\n`));
}

async function main(): Promise<void> {
  const sock = tcpServerSocket("127.0.0.1", 0);
  const [host, port] = sock.getsockname() as [string, number];
  const server = await spawn(() => runServer(sock, countServer));

  const numbers = await timeoutAfter(10, async () => {
    await using conn = await openConnection(host, port);
    const stream = conn.asStream();
    await stream.write(enc.encode("count 5\n"));
    const got: number[] = [];
    for await (const line of stream) got.push(Number(dec.decode(line)));
    return got;
  });
  console.log("server counted:", numbers.join(", "));
  if (numbers.join() !== "1,2,3,4,5") throw new Error("unexpected answer");
  await server.cancel();
}

await run(main);
