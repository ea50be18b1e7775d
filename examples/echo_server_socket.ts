/**
 * The curio tutorial's echo server, ported line by line: a socket made with
 * the socket module, `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`, `bind`,
 * `listen`, and one daemon task per client.
 *
 * Two changes so that it finishes by itself: it binds port 0 (the system picks
 * a free port; the tutorial uses 25000) and tells `main` which port it got;
 * `main` then runs a client, checks the echo, and cancels the server.
 *
 * `deno run --allow-net examples/echo_server_socket.ts` (add `--serve` to keep
 * it running on port 25000: try `nc 127.0.0.1 25000`, Ctrl-C to stop)
 *
 * @module
 */
import { type Address, Event, openConnection, run, type Socket, spawn } from "@curio/curio";
import { AF_INET, SO_REUSEADDR, SOCK_STREAM, socket, SOL_SOCKET } from "@curio/curio/socket";

let listening: [string, number] = ["", 0];
const started = new Event();

async function echoServer(address: [string, number]): Promise<void> {
  const sock = socket(AF_INET, SOCK_STREAM);
  sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  sock.bind(address);
  sock.listen(5);
  listening = sock.getsockname() as [string, number];
  console.log("Server listening at", listening);
  await started.set();
  await using _ = sock;
  while (true) {
    const [client, addr] = await sock.accept();
    await spawn(() => echoClient(client, addr), { daemon: true });
  }
}

async function echoClient(client: Socket, addr: Address): Promise<void> {
  console.log("Connection from", addr);
  await using _ = client;
  while (true) {
    const data = await client.recv(100000);
    if (data.length === 0) break;
    await client.sendall(data);
  }
  console.log("Connection closed");
}

async function main(): Promise<void> {
  if (Deno.args.includes("--serve")) return await echoServer(["", 25000]);
  const server = await spawn(() => echoServer(["127.0.0.1", 0]));
  await started.wait();
  await using conn = await openConnection(...listening);
  const stream = conn.asStream();
  await stream.write(new TextEncoder().encode("Hello, echo\n"));
  const reply = new TextDecoder().decode(await stream.readline());
  if (reply !== "Hello, echo\n") throw new Error(`bad echo: ${JSON.stringify(reply)}`);
  console.log("echoed:", reply.trimEnd());
  await server.cancel();
}

await run(main);
