// Test certificates, made with openssl in a fresh temp dir (shared by the TLS
// tests). Nothing here is a fixture: every run makes its own keys.

/** Whether an `openssl` command is on PATH. */
export async function hasOpenssl(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

async function sh(dir: string, lines: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("sh", {
    args: ["-c", ["set -e", `cd '${dir}'`, ...lines].join("\n")],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
}

/** Certificate files in a temp dir; `dir` is to be removed by the caller. */
export interface TestCert {
  dir: string;
  cert: string;
  key: string;
  ca: string;
}

/**
 * A CA and a server certificate it signed, for `localhost` and 127.0.0.1.
 * (rustls refuses a CA certificate used as a server's own, so the usual
 * one-command self-signed certificate will not do; see selfSigned().)
 */
export async function makeCert(): Promise<TestCert> {
  const dir = await Deno.makeTempDir();
  await sh(dir, [
    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=curio-test-ca -keyout ca.key -out ca.pem",
    "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out server.csr",
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf",
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out cert.pem",
  ]);
  return { dir, cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem` };
}

/**
 * A self-signed certificate for `/CN=localhost`, made with `openssl req
 * -x509` plus `extra` arguments (`-addext ...`); it is its own CA file.
 */
export async function selfSigned(extra: string[] = []): Promise<TestCert> {
  const dir = await Deno.makeTempDir();
  await sh(dir, [
    `openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout key.pem -out cert.pem -subj /CN=localhost ${
      extra.join(" ")
    }`,
  ]);
  return { dir, cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/cert.pem` };
}
