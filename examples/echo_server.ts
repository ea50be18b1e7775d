/**
 * The manual's echo server: `tcpServer` runs `echoClient` for every
 * connection, each in its own task. This file also starts a few clients with
 * `openConnection`, checks their echoes, then stops the server by cancelling
 * its task (which closes the listener and every client connection).
 *
 * `deno run --allow-net examples/echo_server.ts` (add `--serve` to keep the
 * server running on port 25000: try `nc 127.0.0.1 25000`, Ctrl-C to stop)
 *
 * @module
 */
import {
  openConnection,
  run,
  runServer,
  type Socket,
  spawn,
  tcpServer,
  tcpServerSocket,
} from "@curio/curio";

async function echoClient(client: Socket, addr: [string, number]): Promise<void> {
  console.log("Connection from", addr);
  while (true) {
    const data = await client.recv(100000);
    if (data.length === 0) break;
    await client.sendall(data);
  }
  console.log("Connection closed", addr);
}

async function tryIt(port: number, n: number): Promise<void> {
  await using sock = await openConnection("127.0.0.1", port);
  const stream = sock.asStream();
  for (const word of ["hello", "curio", "on", "deno"]) {
    await stream.write(new TextEncoder().encode(`${n}: ${word}\n`));
    const reply = new TextDecoder().decode(await stream.readline());
    if (reply !== `${n}: ${word}\n`) throw new Error(`bad echo: ${reply}`);
  }
  console.log(`client ${n} got every echo back`);
}

async function main(): Promise<void> {
  if (Deno.args.includes("--serve")) {
    console.log("Echo server on 127.0.0.1:25000");
    await tcpServer("127.0.0.1", 25000, echoClient);
  }
  // Port 0: the system picks a free port; the listening socket tells which.
  const sock = tcpServerSocket("127.0.0.1", 0);
  const [, port] = sock.getsockname() as [string, number];
  const server = await spawn(() => runServer(sock, echoClient));
  const clients = [];
  for (let n = 1; n <= 3; n++) clients.push(await spawn(() => tryIt(port, n)));
  for (const c of clients) await c.join();
  await server.cancel();
  console.log("server stopped");
}

await run(main);
