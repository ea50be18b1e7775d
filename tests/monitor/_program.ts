// A fixture program (tests/monitor/fixtures/) run as a child process.

const fixtures = new URL("./fixtures/", import.meta.url);

/** A `deno run` child with piped stdio, and its stdout read line by line. */
export class Program {
  readonly child: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #buffer = "";
  stdout: string[] = [];

  constructor(fixture: string, args: string[] = [], flags: string[] = ["--allow-net"]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, new URL(fixture, fixtures).pathname, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#lines = this.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line the program prints on stdout. */
  async line(): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        this.stdout.push(line);
        return line;
      }
      const { value, done } = await this.#lines.read();
      if (done) throw new Error(`the program ended; it printed:\n${this.stdout.join("\n")}`);
      this.#buffer += value;
    }
  }

  /** Closes stdin, reads the rest, waits for the exit; stderr and the code. */
  async finish(): Promise<{ code: number; stderr: string }> {
    try {
      await this.child.stdin.close();
    } catch { /* already closed */ }
    for (;;) {
      const { done } = await this.#lines.read();
      if (done) break;
    }
    const stderr = await new Response(this.child.stderr).text();
    const { code } = await this.child.status;
    return { code, stderr };
  }
}
