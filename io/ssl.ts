/**
 * The ssl module: TLS for curio sockets, on Deno's rustls-based TLS
 * (`Deno.startTls`, `Deno.listenTls`).
 *
 * - Client side: `SSLContext.wrapSocket(sock, { serverHostname })` upgrades a
 *   connected {@linkcode Socket} with `Deno.startTls` and performs the
 *   handshake; a bad or untrusted certificate raises there.
 * - Server side: Deno cannot start TLS on the server side of a connection it
 *   has already accepted. `wrapSocket(listeningSock, { serverSide: true })`
 *   re-opens the listening socket as a `Deno.listenTls` listener on the same
 *   address, so every connection it accepts is TLS. `tcpServer(..., { ssl })`
 *   does that for you. Wrapping an accepted connection throws an Error that
 *   says so.
 * - Deno always verifies server certificates (trusted roots, plus the CAs
 *   from `loadVerifyLocations`). `verifyMode = CERT_NONE` cannot be honoured:
 *   wrapping throws (run Deno with `--unsafely-ignore-certificate-errors`
 *   instead, at your own risk).
 * - A certificate refused by rustls comes back as `Deno.errors.InvalidData`
 *   whose message says why in plain words (a CA certificate used as a
 *   server's own, no subjectAltName, an unknown issuer, a wrong name) and
 *   how to make one that works; rustls's own error is its `cause`.
 * - Pinning (trusting exactly the self-signed certificate a server presents,
 *   as Python does with the usual `openssl req -x509` one-liner) is not
 *   offered: rustls refuses a CA certificate as a server's own, and Deno's
 *   only way around that switches verification off, handshake signature
 *   included, so a check of the certificate afterwards would prove nothing.
 * - TLS over Unix sockets: Deno starts TLS only on TCP connections, and has
 *   TLS listeners only for TCP; both sides throw an Error saying so.
 * - `getServerCertificate` uses Deno's `node:tls` (Deno's own TLS API does not
 *   expose peer certificates).
 *
 * Permissions: `--allow-net`, and `--allow-read` for certificate and key
 * files.
 *
 * @module
 */

import { _futureWait } from "../kernel/traps.ts";
import { CancelledError } from "../kernel/errors.ts";
import { detachSocket, Socket } from "./socket_wrapper.ts";

// The types wrapSocket() names, so that this entry point documents alone.
export type { Address, RawSocket, Socket } from "./socket_wrapper.ts";
export type { SocketStream } from "./socket_stream.ts";
export type { FileLike, FileStream, ReaderLike, StreamPair, WriterLike } from "./file_stream.ts";

/** What a context is for (Python's `ssl.Purpose`). */
export const Purpose: {
  /** A context for clients: authenticate servers. */
  readonly SERVER_AUTH: "SERVER_AUTH";
  /** A context for servers: authenticate clients (and present a certificate). */
  readonly CLIENT_AUTH: "CLIENT_AUTH";
} = { SERVER_AUTH: "SERVER_AUTH", CLIENT_AUTH: "CLIENT_AUTH" };

/** A value of {@linkcode Purpose}. */
export type PurposeValue = "SERVER_AUTH" | "CLIENT_AUTH";

/** Do not verify the peer (not possible on Deno: wrapping throws). */
export const CERT_NONE = 0;
/** Verify the peer if it presents a certificate. */
export const CERT_OPTIONAL = 1;
/** Verify the peer (the default for clients). */
export const CERT_REQUIRED = 2;

/** Options for {@linkcode SSLContext.prototype.wrapSocket}. */
export interface WrapOptions {
  /** Wrap a listening socket for the server side (default false: client). */
  serverSide?: boolean;
  /** The name the server's certificate must match (clients; default: the peer's host). */
  serverHostname?: string;
}

const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readPem(path: string, what: string): string {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`Cannot load ${what}: expected a file path`);
  }
  return Deno.readTextFileSync(path);
}

/**
 * TLS settings, and the way to apply them to a socket. Made by
 * {@linkcode createDefaultContext} or `new SSLContext()`.
 *
 * @example Usage
 * ```ts
 * import { createDefaultContext, Purpose, SSLContext } from "@curio/curio/ssl";
 * import assert from "node:assert/strict";
 *
 * const ctx = createDefaultContext(Purpose.SERVER_AUTH);
 * ctx.setAlpnProtocols(["h2", "http/1.1"]);
 * assert(ctx instanceof SSLContext);
 * assert.deepEqual(ctx.alpnProtocols, ["h2", "http/1.1"]);
 * ```
 */
export class SSLContext {
  /** Whether clients check the server's name (Deno always does). */
  checkHostname = true;
  /** `CERT_REQUIRED` (default) or `CERT_OPTIONAL`; `CERT_NONE` is not possible on Deno. */
  verifyMode: number = CERT_REQUIRED;
  #cert: string | undefined = undefined;
  #key: string | undefined = undefined;
  #caCerts: string[] = [];
  #alpn: string[] = [];
  readonly #purpose: PurposeValue;

  /**
   * Creates a context.
   *
   * @param purpose `Purpose.SERVER_AUTH` (default, for clients) or
   * `Purpose.CLIENT_AUTH` (for servers).
   */
  constructor(purpose: PurposeValue = Purpose.SERVER_AUTH) {
    this.#purpose = purpose;
    if (purpose === Purpose.CLIENT_AUTH) this.verifyMode = CERT_NONE;
  }

  /** What the context is for. */
  get purpose(): PurposeValue {
    return this.#purpose;
  }

  /** The ALPN protocols offered, in order of preference. */
  get alpnProtocols(): string[] {
    return [...this.#alpn];
  }

  /**
   * Loads the certificate chain (and its private key) a server presents.
   *
   * @param certfile A PEM file with the certificate chain (and the key, if
   * `keyfile` is left out).
   * @param keyfile A PEM file with the private key.
   * @throws {Error} If no private key is found.
   *
   * @example Usage
   * ```ts
   * import { SSLContext } from "@curio/curio/ssl";
   * import assert from "node:assert/strict";
   *
   * const ctx = new SSLContext();
   * assert.throws(() => ctx.loadCertChain("/nonexistent.pem"), Deno.errors.NotFound);
   * ```
   */
  loadCertChain(certfile: string, keyfile?: string): void {
    const certText = readPem(certfile, "certificate chain");
    const keyText = keyfile === undefined ? certText : readPem(keyfile, "private key");
    const certs = certText.match(PEM_CERT);
    if (certs === null) {
      throw new Error(`Cannot load certificate chain: no PEM certificate in ${certfile}`);
    }
    const key = PEM_KEY.exec(keyText);
    if (key === null) {
      throw new Error(
        `Cannot load certificate chain: no PEM private key in ${keyfile ?? certfile}`,
      );
    }
    this.#cert = certs.join("\n") + "\n";
    this.#key = key[0] + "\n";
  }

  /**
   * Adds certificate authorities to trust (besides the system's).
   *
   * @param cafile A PEM file of CA certificates.
   * @param capath A directory of PEM files (`*.pem`, `*.crt`).
   * @param cadata PEM text of CA certificates.
   * @throws {TypeError} If none is given.
   *
   * @example Usage
   * ```ts
   * import { SSLContext } from "@curio/curio/ssl";
   * import assert from "node:assert/strict";
   *
   * const ctx = new SSLContext();
   * assert.throws(() => ctx.loadVerifyLocations(), TypeError);
   * ```
   */
  loadVerifyLocations(cafile?: string, capath?: string, cadata?: string): void {
    if (cafile === undefined && capath === undefined && cadata === undefined) {
      throw new TypeError("Cannot load verify locations: give cafile, capath or cadata");
    }
    const texts: string[] = [];
    if (cafile !== undefined) texts.push(readPem(cafile, "CA file"));
    if (capath !== undefined) {
      for (const entry of Deno.readDirSync(capath)) {
        if (entry.isFile && /\.(pem|crt)$/.test(entry.name)) {
          texts.push(Deno.readTextFileSync(`${capath}/${entry.name}`));
        }
      }
    }
    if (cadata !== undefined) texts.push(cadata);
    for (const text of texts) {
      for (const cert of text.match(PEM_CERT) ?? []) this.#caCerts.push(cert + "\n");
    }
  }

  /**
   * Sets the ALPN protocols to offer (clients) or accept (servers).
   *
   * @param protocols Protocol names, most preferred first.
   *
   * @example Usage
   * ```ts
   * import { SSLContext } from "@curio/curio/ssl";
   * import assert from "node:assert/strict";
   *
   * const ctx = new SSLContext();
   * ctx.setAlpnProtocols(["http/1.1"]);
   * assert.deepEqual(ctx.alpnProtocols, ["http/1.1"]);
   * ```
   */
  setAlpnProtocols(protocols: string[]): void {
    if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string")) {
      throw new TypeError("Cannot set ALPN protocols: expected an array of strings");
    }
    this.#alpn = [...protocols];
  }

  /**
   * Applies TLS to `sock`; `sock` must not be used afterwards (use the
   * returned socket).
   *
   * - Client (default): `sock` is connected; the handshake runs here.
   * - Server (`serverSide: true`): `sock` is listening; it is re-opened as a
   *   TLS listener on the same address (Deno cannot start TLS on the server
   *   side of an accepted connection).
   *
   * @param sock The socket.
   * @param options `serverSide`, `serverHostname`.
   * @returns The TLS socket.
   * @throws {Deno.errors.InvalidData} If the server's certificate is not
   * trusted or does not match (clients).
   * @throws {Error} For what Deno cannot do (server side on an accepted
   * connection, `CERT_NONE`, no certificate loaded for a server).
   *
   * @example Usage
   * ```ts
   * import { run } from "@curio/curio";
   * import { socketpair } from "@curio/curio/socket";
   * import { SSLContext } from "@curio/curio/ssl";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const [a, b] = socketpair();
   *   await a.recv(0); // wait until connected
   *   await assert.rejects(new SSLContext().wrapSocket(a, { serverSide: true }), /no certificate/);
   *   await a.close();
   *   await b.close();
   * });
   * ```
   */
  async wrapSocket(sock: Socket, options: WrapOptions = {}): Promise<Socket> {
    if (!(sock instanceof Socket)) {
      throw new TypeError("Cannot wrap socket: expected a curio Socket");
    }
    if (options.serverSide) return this.#wrapServer(sock);
    if (this.verifyMode === CERT_NONE && this.#purpose === Purpose.SERVER_AUTH) {
      throw new Error(
        "Cannot wrap socket with verifyMode CERT_NONE: Deno always verifies server certificates; trust the CA with loadVerifyLocations() (or run with --unsafely-ignore-certificate-errors)",
      );
    }
    const raw = sock.blocking();
    if (typeof (raw as Deno.Conn).read !== "function" || "receive" in raw) {
      throw new TypeError("Cannot wrap socket for the client side: the socket is not connected");
    }
    if ((raw as Deno.Conn).remoteAddr.transport === "unix") {
      throw new Error(
        "Cannot wrap a Unix socket connection with TLS: Deno can start TLS only on TCP connections",
      );
    }
    const peer = sock.getpeername();
    const hostname = options.serverHostname ??
      (Array.isArray(peer) ? peer[0] : "localhost");
    const conn = detachSocket(sock, "wrap socket") as Deno.TcpConn;
    const starting = Deno.startTls(conn, {
      hostname,
      caCerts: this.#caCerts.length > 0 ? this.#caCerts : undefined,
      alpnProtocols: this.#alpn.length > 0 ? this.#alpn : undefined,
    } as Deno.StartTlsOptions);
    let tls: Deno.TlsConn;
    try {
      tls = await _futureWait(starting, "WRITE_WAIT");
    } catch (error) {
      if (error instanceof CancelledError) {
        starting.then((c) => c.close(), () => {});
      } else {
        try {
          conn.close();
        } catch { /* already taken by startTls */ }
      }
      throw error;
    }
    const wrapped = new Socket(tls);
    try {
      await wrapped.doHandshake();
    } catch (error) {
      await wrapped.close();
      throw explainCertificateError(error, hostname);
    }
    return wrapped;
  }

  #wrapServer(sock: Socket): Socket {
    if (this.#cert === undefined || this.#key === undefined) {
      throw new Error(
        "Cannot wrap socket for the server side: no certificate; call loadCertChain() first",
      );
    }
    const raw = sock.blocking();
    if (typeof (raw as Deno.Listener).accept !== "function") {
      throw new Error(
        "Cannot wrap an accepted connection for the server side: Deno cannot start TLS on the server side of a connection; wrap the listening socket (or pass ssl to tcpServer) so connections are accepted encrypted",
      );
    }
    const addr = (raw as Deno.Listener).addr;
    if (addr.transport !== "tcp") {
      throw new Error(
        "Cannot wrap socket for the server side: Deno offers TLS listeners only for TCP",
      );
    }
    const listener = detachSocket(sock, "wrap socket") as Deno.Listener;
    listener.close();
    const tls = Deno.listenTls(
      {
        hostname: addr.hostname,
        port: addr.port,
        transport: "tcp",
        cert: this.#cert,
        key: this.#key,
        alpnProtocols: this.#alpn.length > 0 ? this.#alpn : undefined,
      } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
    );
    return new Socket(tls);
  }
}

/** The openssl command that makes a self-signed certificate Deno accepts (README "TLS"). */
const WORKING_CERT =
  "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=localhost -addext basicConstraints=critical,CA:FALSE -addext subjectAltName=DNS:localhost,IP:127.0.0.1";

/**
 * rustls's reason for refusing the server's certificate, in plain words, as
 * an error of the same class (callers catch `Deno.errors.InvalidData`) with
 * the original as `cause`. Other errors are returned as they are.
 */
function explainCertificateError(error: unknown, hostname: string): unknown {
  if (!(error instanceof Error)) return error;
  const raw = error.message;
  if (!raw.includes("invalid peer certificate")) return error;
  const what = `Cannot verify the server's certificate for "${hostname}"`;
  let why: string;
  if (raw.includes("CaUsedAsEndEntity")) {
    why = "it is a CA certificate (basicConstraints CA:TRUE, which `openssl req -x509` adds " +
      "unless told otherwise), and Deno's TLS (rustls) never accepts a CA certificate as a " +
      "server's own certificate, not even one loaded with loadVerifyLocations() (and Deno " +
      'offers no safe way to pin it: see the README, "TLS"). Make the server a certificate ' +
      `with CA:FALSE and a subjectAltName: ${WORKING_CERT} (or a CA and a server certificate ` +
      "it signs)";
  } else if (raw.includes("not valid for any names")) {
    why = "it names no host in a subjectAltName extension, and Deno's TLS (rustls) ignores " +
      `the subject's CN. Make it with a subjectAltName: ${WORKING_CERT}`;
  } else if (raw.includes("not valid for name")) {
    const detail = /certificate not valid for name [^;]*; (.*)$/.exec(raw)?.[1];
    why = `it does not name "${hostname}" in its subjectAltName` +
      (detail !== undefined ? ` (${detail})` : "") +
      "; connect with a name it lists, pass serverHostname, or add the name to the certificate";
  } else if (raw.includes("UnknownIssuer")) {
    why = "it is not signed by a CA this context trusts; load that CA (or a self-signed " +
      "certificate itself) with loadVerifyLocations()";
  } else if (raw.includes("Expired")) {
    why = "it has expired (or this machine's clock is wrong)";
  } else if (raw.includes("NotValidYet")) {
    why = "it is not valid yet (or this machine's clock is wrong)";
  } else {
    why = raw;
  }
  const Class = error.constructor as new (message: string, options: ErrorOptions) => Error;
  try {
    return new Class(`${what}: ${why}`, { cause: error });
  } catch {
    return error;
  }
}

/**
 * A context with secure defaults: trust the system's roots, check host names.
 *
 * @param purpose `Purpose.SERVER_AUTH` (default: for clients) or
 * `Purpose.CLIENT_AUTH` (for servers: then call `loadCertChain`).
 * @returns A new SSLContext.
 *
 * @example Usage
 * ```ts
 * import { createDefaultContext, Purpose } from "@curio/curio/ssl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(createDefaultContext(Purpose.CLIENT_AUTH).purpose, "CLIENT_AUTH");
 * ```
 */
export function createDefaultContext(purpose: PurposeValue = Purpose.SERVER_AUTH): SSLContext {
  if (purpose !== Purpose.SERVER_AUTH && purpose !== Purpose.CLIENT_AUTH) {
    throw new RangeError(`Cannot create context: unknown purpose ${purpose}`);
  }
  return new SSLContext(purpose);
}

/** Options for the module-level {@linkcode wrapSocket}. */
export interface WrapSocketOptions extends WrapOptions {
  /** PEM private key file (servers). */
  keyfile?: string;
  /** PEM certificate chain file (servers). */
  certfile?: string;
  /** PEM file of CAs to trust (clients). */
  cafile?: string;
}

/**
 * Python's `ssl.wrap_socket`: a one-off context from `options`, then
 * {@linkcode SSLContext.prototype.wrapSocket}.
 *
 * @param sock The socket.
 * @param options Certificate files and wrap options.
 * @returns The TLS socket.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { socketpair } from "@curio/curio/socket";
 * import { wrapSocket } from "@curio/curio/ssl";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const [a, b] = socketpair();
 *   await assert.rejects(wrapSocket(a, { serverSide: true }), /no certificate/);
 *   await a.close();
 *   await b.close();
 * });
 * ```
 */
export async function wrapSocket(sock: Socket, options: WrapSocketOptions = {}): Promise<Socket> {
  const ctx = new SSLContext(options.serverSide ? Purpose.CLIENT_AUTH : Purpose.SERVER_AUTH);
  if (options.certfile !== undefined) ctx.loadCertChain(options.certfile, options.keyfile);
  if (options.cafile !== undefined) ctx.loadVerifyLocations(options.cafile);
  const wrapOptions: WrapOptions = {};
  if (options.serverSide !== undefined) wrapOptions.serverSide = options.serverSide;
  if (options.serverHostname !== undefined) wrapOptions.serverHostname = options.serverHostname;
  return await ctx.wrapSocket(sock, wrapOptions);
}

/** Options for {@linkcode getServerCertificate}. */
export interface GetServerCertificateOptions {
  /** A PEM file of CAs: if given, the certificate must verify against them. */
  cafile?: string;
  /** The name to send in SNI (default: the host, unless it is an IP address). */
  serverHostname?: string;
}

function derToPem(der: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < der.length; i++) bin += String.fromCharCode(der[i]!);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * Fetches the certificate a TLS server presents, as PEM. Deno's own TLS API
 * does not expose peer certificates, so this uses Deno's `node:tls`; the
 * certificate is not verified unless `cafile` is given (as in Python).
 *
 * @param address `[host, port]` of the server.
 * @param options `cafile`, `serverHostname`.
 * @returns The server's certificate, PEM-encoded.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {Error} If the TLS handshake fails.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { getServerCertificate } from "@curio/curio/ssl";
 * import assert from "node:assert/strict";
 *
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = l.addr.port;
 * l.close(); // nothing listens there now
 * await run(async () => {
 *   await assert.rejects(getServerCertificate(["127.0.0.1", port]));
 * });
 * ```
 */
export async function getServerCertificate(
  address: [string, number],
  options: GetServerCertificateOptions = {},
): Promise<string> {
  if (!Array.isArray(address) || typeof address[0] !== "string") {
    throw new TypeError("Cannot get server certificate: expected an address [host, port]");
  }
  const [host, port] = address;
  const tls = await import("node:tls");
  const isIp = /^[\d.]+$/.test(host) || host.includes(":");
  const servername = options.serverHostname ?? (isIp ? undefined : host);
  const ca = options.cafile === undefined ? undefined : Deno.readTextFileSync(options.cafile);
  let socket: ReturnType<typeof tls.connect> | undefined;
  const closed = new Promise<void>((resolve) => {
    socket = tls.connect({
      host,
      port,
      ...(servername === undefined ? {} : { servername }),
      ...(ca === undefined ? { rejectUnauthorized: false } : { ca, rejectUnauthorized: true }),
    });
    socket.once("close", () => resolve());
  });
  const got = new Promise<string>((resolve, reject) => {
    socket!.once("secureConnect", () => {
      const cert = socket!.getPeerCertificate(true);
      if (cert?.raw === undefined) {
        reject(new Error("Cannot get server certificate: the server presented none"));
      } else resolve(derToPem(new Uint8Array(cert.raw)));
    });
    socket!.once("error", reject);
  });
  got.catch(() => {});
  try {
    return await _futureWait(got);
  } finally {
    socket!.destroy();
    await closed; // nothing of the connection outlives the call
  }
}
