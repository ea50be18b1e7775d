/**
 * The manual's SSL server: `tcpServer` with an SSLContext holding a
 * certificate chain. The certificate is made at run time with `openssl` (a
 * throwaway CA and a server certificate for localhost) in a temp dir; a
 * client in this file trusts that CA, connects with `openConnection(...,
 * { ssl })`, and reads the server's HTTP-style answer.
 *
 * `deno run --allow-net --allow-run=openssl,sh --allow-read --allow-write examples/ssl_server.ts`
 *
 * @module
 */
import { openConnection, run, runServer, type Socket, spawn, tcpServerSocket } from "@curio/curio";
import { createDefaultContext, Purpose } from "@curio/curio/ssl";

async function makeCertificates(dir: string): Promise<void> {
  const script = [
    "set -e",
    `cd '${dir}'`,
    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=example-ca -keyout ca.key -out ca.pem",
    "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout privkey_rsa -out server.csr",
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf",
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out certificate.crt",
  ].join("\n");
  const { success, stderr } = await new Deno.Command("sh", {
    args: ["-c", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`openssl failed:\n${new TextDecoder().decode(stderr)}`);
}

async function handler(client: Socket, addr: [string, number]): Promise<void> {
  console.log("Connection from", addr);
  const stream = client.asStream();
  for await (const line of stream) {
    if (new TextDecoder().decode(line).trim() === "") break; // end of the request headers
  }
  await stream.write(new TextEncoder().encode(
    "HTTP/1.0 200 OK\r\nContent-type: text/plain\r\n\r\nIf you're seeing this, it probably worked\n",
  ));
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await makeCertificates(dir);
    const KEYFILE = `${dir}/privkey_rsa`; // Private key
    const CERTFILE = `${dir}/certificate.crt`; // Server certificate

    const serverContext = createDefaultContext(Purpose.CLIENT_AUTH);
    serverContext.loadCertChain(CERTFILE, KEYFILE);
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [, port] = sock.getsockname() as [string, number];
    const server = await spawn(() => runServer(sock, handler, { ssl: serverContext }));

    const clientContext = createDefaultContext();
    clientContext.loadVerifyLocations(`${dir}/ca.pem`);
    {
      await using conn = await openConnection("localhost", port, { ssl: clientContext });
      await conn.sendall(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      const answer = new TextDecoder().decode(await conn.asStream().readall());
      console.log(answer);
      if (!answer.includes("it probably worked")) throw new Error("unexpected answer");
    }
    await server.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await run(main);
